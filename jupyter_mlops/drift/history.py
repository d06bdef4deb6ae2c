"""`drift_history`: a model's monitoring batches over time, with its alerts, as a frame and
a figure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import refs
from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import drift_batches, models
from .alerts import alert_rows, rules_for

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

METRICS = ("accuracy", "f1", "roc_auc", "rmse", "mae")
STORED = ["id", "at", "version", "source", "method", "rows", "columns", "drifted_columns",
          "drift_share", "drifted", "prediction_drift", "prediction_drifted"]
COLUMNS = [*STORED, *METRICS, "alerts"]


@dataclass
class DriftHistory:
    """What `drift_history` returns: `.to_frame()` (one row a batch, oldest first),
    `.alerts` (newest first), `.rules` (active), `.figure()`, `.to_dict()`, rich display."""

    model: str
    rows: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    rules: list[dict[str, Any]]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=COLUMNS)
        frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
        return frame

    def figure(self) -> go.Figure:
        import pandas as pd

        from ..charts.drift import history_figure

        marks = [{"at": pd.to_datetime(a["at"], unit="s", utc=True),
                  "drift_share": a["drift_share"], "reason": a["reason"]} for a in self.alerts]
        return history_figure(self.to_frame(), marks)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "batches": self.rows, "alerts": self.alerts,
                "rules": self.rules}

    def __repr__(self) -> str:
        return f"<DriftHistory {self.model}: {len(self.rows)} batches, {len(self.alerts)} alerts>"

    def _repr_html_(self) -> str:
        import html

        head = (f"<b>{html.escape(self.model)}</b>: {len(self.rows)} monitoring batches, "
                f"{len(self.alerts)} alerts")
        return f"<div>{head}{self.to_frame().to_html(index=False, na_rep='—')}</div>"


def drift_history(model_ref: str, limit: int = 1000) -> DriftHistory:
    """Every monitoring batch of a model (or of one version, `name@3` / `name@alias`), with
    the drift method preset it was computed with, drift, prediction drift, performance and the
    alerts raised, oldest first."""
    from ..registry.versions import get_model_version

    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise MLOpsUsageError(f"limit must be a positive integer, got {limit!r}")
    parsed = refs.parse(model_ref)
    if parsed.kind not in (None, "model"):
        raise MLOpsUsageError(f"{model_ref!r} is not a model reference")
    only = None
    if parsed.version is not None or parsed.alias or parsed.latest or parsed.digest:
        only = get_model_version(model_ref).version
    with get_store().read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == parsed.name)).scalar()
        if model_id is None:
            raise NotFoundError(f"no model named {parsed.name!r}")
        query = (select(drift_batches).where(drift_batches.c.model_id == model_id)
                 .order_by(drift_batches.c.at.desc(), drift_batches.c.id.desc()).limit(limit))
        if only is not None:
            query = query.where(drift_batches.c.version == only)
        batches = conn.execute(query).mappings().all()
        alerts = [a for a in alert_rows(conn, model_id, limit)
                  if only is None or a["version"] == only]
        rules = [r.to_dict() for r in rules_for(conn, model_id)]
    per_batch: dict[int, int] = {}
    for alert in alerts:
        per_batch[alert["batch_id"]] = per_batch.get(alert["batch_id"], 0) + 1
    rows = []
    for b in reversed(batches):
        metrics = json.loads(b["metrics"])
        rows.append({**{k: b[k] for k in STORED},
                     **{m: metrics.get(m) for m in METRICS}, "alerts": per_batch.get(b["id"], 0)})
    return DriftHistory(parsed.name, rows, alerts, rules)


def monitored_models() -> dict[str, Any]:
    """Every model with a monitoring batch or an active alert rule: versions monitored,
    batches, the last batch's drift share, verdict and method preset, alerts raised, active
    rules."""
    from sqlalchemy import func

    from ..store.tables import alert_rules, alerts

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
                        drift_batches.c.drifted, drift_batches.c.method,
                        func.row_number().over(
                            partition_by=drift_batches.c.model_id,
                            order_by=(drift_batches.c.at.desc(), drift_batches.c.id.desc()),
                        ).label("n")).subquery()
        last = {r.model_id: r for r in conn.execute(
            select(ranked.c.model_id, ranked.c.drift_share, ranked.c.drifted, ranked.c.method)
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
                    "last_method": latest.method if latest else None,
                    "alerts": raised.get(model_id, 0), "rules": rules.get(model_id, 0)})
    return {"models": out}
