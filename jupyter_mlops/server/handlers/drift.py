"""Drift and monitoring: the monitored models, one model's monitoring history with its alert
rules, alerts and last report, and the stored report of any of its batches. Read-only:
batches come from `monitor`, rules from `add_alert` (magics, CLI, API)."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError, NotFoundError
from .base import MLOpsHandler, reads


def _monitored() -> dict[str, Any]:
    """One row a model with a monitoring batch or an active alert rule."""
    from sqlalchemy import func, select

    from ...store import get_store
    from ...store.tables import alert_rules, alerts, drift_batches, models

    with get_store().read() as conn:
        batches = {r.model_id: r for r in conn.execute(
            select(drift_batches.c.model_id, func.count().label("batches"),
                   func.max(drift_batches.c.at).label("last_at"))
            .group_by(drift_batches.c.model_id))}
        versions: dict[int, list[int]] = {}
        for model_id, version in conn.execute(
                select(drift_batches.c.model_id, drift_batches.c.version).distinct()
                .order_by(drift_batches.c.model_id, drift_batches.c.version)):
            versions.setdefault(model_id, []).append(version)
        ranked = select(drift_batches.c.model_id, drift_batches.c.drift_share,
                        drift_batches.c.drifted,
                        func.row_number().over(
                            partition_by=drift_batches.c.model_id,
                            order_by=(drift_batches.c.at.desc(), drift_batches.c.id.desc()),
                        ).label("n")).subquery()
        last = {r.model_id: r for r in conn.execute(
            select(ranked.c.model_id, ranked.c.drift_share, ranked.c.drifted)
            .where(ranked.c.n == 1))}
        raised = dict(conn.execute(
            select(drift_batches.c.model_id, func.count(alerts.c.id)).select_from(alerts)
            .join(drift_batches, drift_batches.c.id == alerts.c.batch_id)
            .group_by(drift_batches.c.model_id)).all())
        rules = dict(conn.execute(
            select(alert_rules.c.model_id, func.count(alert_rules.c.id))
            .where(alert_rules.c.active.is_(True)).group_by(alert_rules.c.model_id)).all())
        ids = set(batches) | set(rules)
        names = dict(conn.execute(select(models.c.id, models.c.name)
                                  .where(models.c.id.in_(ids))).all()) if ids else {}
    out = []
    for model_id in sorted(ids, key=lambda i: names[i]):
        summary, latest = batches.get(model_id), last.get(model_id)
        out.append({"model": names[model_id], "versions": versions.get(model_id, []),
                    "batches": summary.batches if summary else 0,
                    "last_at": summary.last_at if summary else None,
                    "last_drift_share": latest.drift_share if latest else None,
                    "last_drifted": latest.drifted if latest else None,
                    "alerts": raised.get(model_id, 0), "rules": rules.get(model_id, 0)})
    return {"models": out}


def _redacted(alert: dict[str, Any]) -> dict[str, Any]:
    from ...config import redact

    status = alert.get("webhook_status")
    return {**alert, "webhook_status": redact(status) if status else status}


def _rule(rule: Any) -> dict[str, Any]:
    from ...config import redact

    data = rule.to_dict()
    if data["webhook"]:
        data["webhook"] = redact(data["webhook"])
    return data


def _report(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch's stored report: which batch, the report's dict and its figure."""
    from ...drift.monitor import stored_report

    report = stored_report(batch["id"])
    return {"batch_id": batch["id"], "model": batch["model"], "version": batch["version"],
            "at": batch["at"], **report.to_dict(), "figure": report.figure()}


def _model_drift(name: str, limit: int) -> dict[str, Any]:
    from sqlalchemy import select

    from ...drift.alerts import rules_for
    from ...drift.history import drift_history
    from ...store import get_store
    from ...store.tables import models

    history = drift_history(name, limit=limit)
    with get_store().read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == history.model)
                                ).scalar_one()
        rules = [_rule(r) for r in rules_for(conn, model_id)]
    alerts = [_redacted(a) for a in history.alerts]
    last = history.rows[-1] if history.rows else None  # oldest first
    return {"model": history.model,
            "history": {**history.to_dict(), "alerts": alerts},
            "figure": history.figure(), "rules": rules, "alerts": alerts,
            "last_report": _report({**last, "model": history.model}) if last else None}


def _batch_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise MLOpsUsageError(f"a monitoring batch id is a number, got {text!r}") from None
    if not 0 < value < 2**63:
        raise MLOpsUsageError(f"a monitoring batch id is a positive number, got {value}")
    return value


def _batch(name: str, batch_id: str) -> dict[str, Any]:
    from sqlalchemy import select

    from ... import refs
    from ...store import get_store
    from ...store.tables import drift_batches, models

    number = _batch_id(batch_id)
    model = refs.parse(name).name
    with get_store().read() as conn:
        if conn.execute(select(models.c.id).where(models.c.name == model)).scalar() is None:
            raise NotFoundError(f"no model named {model!r}")
        row = conn.execute(select(drift_batches.c.id, drift_batches.c.version,
                                  drift_batches.c.at)
                           .join(models, models.c.id == drift_batches.c.model_id)
                           .where(drift_batches.c.id == number, models.c.name == model)
                           ).mappings().first()
    if row is None:
        raise NotFoundError(f"model {model!r} has no monitoring batch {number}")
    return _report({**row, "model": model})


class DriftModelsHandler(MLOpsHandler):
    DOC = {"get": "Monitored models (a monitoring batch or an alert rule): versions monitored, "
                  "batches, the last batch's drift share and verdict, alerts and rules"}

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_monitored))


class DriftModelHandler(MLOpsHandler):
    DOC = {"get": "One model's monitoring (a name, or name@alias for one version): history of "
                  "batches and alerts with its figure, active rules, alerts, and the last "
                  "batch's report with its figure (limit=N batches, 1000 by default)"}

    @reads
    async def get(self, name: str) -> None:
        limit = self.int_arg("limit", 1000, low=1, high=100_000)
        self.reply(await self.call(_model_drift, name, limit))


class DriftBatchHandler(MLOpsHandler):
    DOC = {"get": "The stored drift report of one monitoring batch of the model, with its "
                  "figure"}

    @reads
    async def get(self, name: str, batch_id: str) -> None:
        self.reply(await self.call(_batch, name, batch_id))


ROUTES = [
    ("/drift", DriftModelsHandler),
    ("/drift/{name}", DriftModelHandler),
    ("/drift/{name}/batches/{batch_id}", DriftBatchHandler),
]
