"""Drift and monitoring: the monitored models, one model's monitoring history with its alert
rules, alerts and last report, and the stored report of any of its batches. Read-only:
batches come from `monitor`, rules from `add_alert` (magics, CLI, API)."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from .base import MLOpsHandler, reads


def _report(batch: dict[str, Any]) -> dict[str, Any]:
    """A batch's stored report: which batch, the report's dict and its figure."""
    from ...drift.monitor import stored_report

    report = stored_report(batch["id"])
    return {"batch_id": batch["id"], "model": batch["model"], "version": batch["version"],
            "at": batch["at"], **report.to_dict(), "figure": report.figure()}


def _model_drift(name: str, limit: int) -> dict[str, Any]:
    from ...drift.history import drift_history

    history = drift_history(name, limit=limit)
    last = history.rows[-1] if history.rows else None  # oldest first
    return {"model": history.model, "history": history.to_dict(), "figure": history.figure(),
            "rules": history.rules, "alerts": history.alerts,
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
    from ... import refs
    from ...drift.monitor import get_batch

    return _report(get_batch(_batch_id(batch_id), model=refs.parse(name).name))


class DriftModelsHandler(MLOpsHandler):
    DOC = {"get": "Monitored models (a monitoring batch or an alert rule): versions monitored, "
                  "batches, the last batch's drift share and verdict, alerts and rules"}

    @reads
    async def get(self) -> None:
        from ...drift.history import monitored_models

        self.reply(await self.call(monitored_models))


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
