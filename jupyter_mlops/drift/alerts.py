"""Alert rules on a monitored model: a condition in the filter language over a monitoring
batch's figures ("drift_share > 0.3 or f1 < 0.8"). A batch that breaches a rule records an
alert with the values that breached it, queues one run of the rule's pipeline (the
retraining trigger) in the same transaction, and posts the alert to the rule's webhook
(shown everywhere as `scheme://host[:port]` only: see `jupyter_mlops.webhooks`)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from .. import expr, refs
from ..errors import MLOpsError, MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import alert_rules, alerts, drift_batches, models
from ..webhooks import check_webhook, post_json, scrub_urls, shown_webhook

if TYPE_CHECKING:
    import pandas as pd

FIELDS = expr.FieldSpec(
    names=("drift_share", "drifted_columns", "drifted", "rows", "prediction_drift",
           "prediction_drifted", "accuracy", "f1", "roc_auc", "rmse", "mae"),
    prefixes=("statistic",))


@dataclass(frozen=True)
class AlertRule:
    """A rule: `.id`, `.model`, `.ref`, `.condition`, `.pipeline`, `.webhook` (shown as
    `scheme://host[:port]`: the full URL stays in the store, used only to post)."""

    id: int
    model: str
    ref: str
    condition: str
    pipeline: str | None
    webhook: str | None
    created_by: str | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "ref": self.ref,
                "condition": self.condition, "pipeline": self.pipeline,
                "webhook": self.webhook, "created_by": self.created_by,
                "created_at": self.created_at}


def add_alert(model_ref: str, condition: str, pipeline: str | None = None,
              webhook: str | None = None) -> AlertRule:
    """Watch every monitoring batch of the model for `condition` (fields: drift_share,
    drifted_columns, drifted, rows, prediction_drift, prediction_drifted, accuracy, f1,
    roc_auc, rmse, mae, statistic.<column>); on a breach queue one run of `pipeline` and
    POST the alert as JSON to `webhook`."""
    from ..registry.versions import get_model_version

    parsed = refs.parse(model_ref)
    if parsed.kind not in (None, "model"):
        raise MLOpsUsageError(f"{model_ref!r} is not a model reference")
    if not isinstance(condition, str) or not condition.strip():
        raise MLOpsUsageError("the condition is an expression such as \"drift_share > 0.3\"")
    expr.parse(condition, FIELDS)
    get_model_version(model_ref)  # the model (and the alias, if one is named) must exist
    if pipeline is not None:
        from ..pipelines.spec import load_spec

        load_spec(pipeline)
    if webhook is not None:
        check_webhook(webhook)
    now, store = time.time(), get_store()
    with store.write("model", parsed.name, "alert rule") as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == parsed.name)).scalar_one()
        rule_id = conn.execute(alert_rules.insert().values(
            model_id=model_id, ref=model_ref, condition=condition.strip(), pipeline=pipeline,
            webhook=webhook, active=True, created_by=store.actor, created_at=now,
        )).inserted_primary_key[0]
    return AlertRule(rule_id, parsed.name, model_ref, condition.strip(), pipeline,
                     shown_webhook(webhook), store.actor, now)


def _rules(conn: Any, model_id: int) -> list[tuple[AlertRule, str | None]]:
    """The model's active rules, each with its full webhook URL (for posting only)."""
    rows = conn.execute(select(alert_rules, models.c.name).join(
        models, models.c.id == alert_rules.c.model_id).where(
        alert_rules.c.model_id == model_id, alert_rules.c.active.is_(True))
        .order_by(alert_rules.c.id)).mappings().all()
    return [(AlertRule(r["id"], r["name"], r["ref"], r["condition"], r["pipeline"],
                       shown_webhook(r["webhook"]), r["created_by"], r["created_at"]),
             r["webhook"]) for r in rows]


def rules_for(conn: Any, model_id: int) -> list[AlertRule]:
    """The model's active rules, their webhooks shown as scheme://host[:port]."""
    return [rule for rule, _ in _rules(conn, model_id)]


def list_alerts(model: str | None = None, rules: bool = False, limit: int = 100
                ) -> pd.DataFrame:
    """Alerts raised, newest first (or, with `rules=True`, the active rules)."""
    import pandas as pd

    store = get_store()
    with store.read() as conn:
        model_id = None
        if model is not None:
            model_id = conn.execute(select(models.c.id).where(
                models.c.name == refs.parse(model).name)).scalar()
            if model_id is None:
                raise NotFoundError(f"no model named {refs.parse(model).name!r}")
        if rules:
            query = select(models.c.id)
            ids = [model_id] if model_id is not None else list(conn.execute(query).scalars())
            found = [r.to_dict() for i in ids for r in rules_for(conn, i)]
            return pd.DataFrame(found, columns=["id", "model", "ref", "condition", "pipeline",
                                                "webhook", "created_by", "created_at"])
        found = alert_rows(conn, model_id, limit)
    frame = pd.DataFrame(found, columns=["id", "model", "version", "at", "rule_id", "condition",
                                         "reason", "pipeline", "pipeline_run_id",
                                         "webhook_status", "drift_share"])
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def alert_rows(conn: Any, model_id: int | None, limit: int = 100) -> list[dict[str, Any]]:
    """Alerts with their rule and batch, newest first (for history, REST and the sidebar)."""
    from ..config import redact

    query = (select(alerts.c.id, models.c.name.label("model"), drift_batches.c.version,
                    drift_batches.c.at, alerts.c.rule_id, alert_rules.c.condition,
                    alerts.c.reason, alert_rules.c.pipeline, alerts.c.pipeline_run_id,
                    alerts.c.webhook_status, drift_batches.c.drift_share,
                    alerts.c.batch_id, alerts.c.observed)
             .join(alert_rules, alert_rules.c.id == alerts.c.rule_id)
             .join(drift_batches, drift_batches.c.id == alerts.c.batch_id)
             .join(models, models.c.id == drift_batches.c.model_id)
             .order_by(alerts.c.id.desc()).limit(limit))
    if model_id is not None:
        query = query.where(drift_batches.c.model_id == model_id)
    out = []
    for row in conn.execute(query).mappings():
        item = dict(row)
        item["observed"] = json.loads(item["observed"])
        if item["webhook_status"]:
            item["webhook_status"] = scrub_urls(redact(item["webhook_status"]))
        out.append(item)
    return out


def remove_alert(rule_id: int) -> None:
    """Stop a rule (its past alerts stay)."""
    if isinstance(rule_id, bool) or not isinstance(rule_id, int):
        raise MLOpsUsageError(f"an alert rule id is a number, got {rule_id!r}")
    with get_store().write("alert_rule", str(rule_id), "removed") as conn:
        done = conn.execute(update(alert_rules).where(
            alert_rules.c.id == rule_id, alert_rules.c.active.is_(True)).values(active=False))
        if not done.rowcount:
            raise NotFoundError(f"no active alert rule {rule_id}")


def breaches(conn: Any, model_id: int, batch_id: int, values: dict[str, Any]
             ) -> list[tuple[dict[str, Any], str | None]]:
    """Inside the batch's transaction: evaluate every active rule on `values`; for each
    breach record an alert and queue its pipeline's run. What was raised (its webhook shown
    as scheme://host[:port]), each with the webhook URL to post it to, for `notify`."""
    from ..pipelines.runner import queue_pipeline

    def lookup(field: expr.Field) -> Any:
        if field.path[0] == "statistic":
            return values.get("statistics", {}).get(field.path[1])
        return values.get(field.path[0])

    raised = []
    for rule, url in _rules(conn, model_id):
        node = expr.parse(rule.condition, FIELDS)
        if not expr.evaluate(node, lookup):
            continue
        reason = "; ".join(expr.reasons(node, lookup))
        run_id = None
        if rule.pipeline:
            try:
                run_id = queue_pipeline(conn, rule.pipeline, "alert")
            except MLOpsError as exc:  # the spec went away or broke: the alert still counts
                reason += f" (pipeline {rule.pipeline} not queued: {exc})"
        observed = {k: v for k, v in values.items() if k != "statistics"}
        alert_id = conn.execute(alerts.insert().values(
            rule_id=rule.id, batch_id=batch_id, observed=json.dumps(observed), reason=reason,
            pipeline_run_id=run_id, created_at=time.time(),
        )).inserted_primary_key[0]
        raised.append(({"alert_id": alert_id, "rule_id": rule.id, "model": rule.model,
                        "ref": rule.ref, "condition": rule.condition, "reason": reason,
                        "batch_id": batch_id, "observed": observed, "pipeline": rule.pipeline,
                        "pipeline_run_id": run_id, "webhook": rule.webhook}, url))
    return raised


def notify(raised: list[tuple[dict[str, Any], str | None]]) -> list[threading.Thread]:
    """After the batch committed: start each queued pipeline run detached, and post each
    alert to its webhook URL from a thread (the caller never waits on a slow receiver)."""
    from ..pipelines.runner import start_queued

    threads = []
    for alert, url in raised:
        if alert["pipeline_run_id"]:
            start_queued(alert["pipeline"], alert["pipeline_run_id"])
        if url:
            thread = threading.Thread(target=_post, args=(alert, url), name="mlops-webhook")
            thread.start()
            threads.append(thread)
    return threads


def _post(alert: dict[str, Any], url: str) -> None:
    status = post_json(url, {k: v for k, v in alert.items() if k != "webhook"})
    with get_store().write("alert", str(alert["alert_id"]), "webhook") as conn:
        conn.execute(update(alerts).where(alerts.c.id == alert["alert_id"])
                     .values(webhook_status=status))
