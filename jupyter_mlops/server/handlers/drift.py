"""Drift and monitoring: the monitored models, one model's monitoring history with its alert
rules, alerts and last report, and the stored report of any of its batches. Read-only:
batches come from `monitor`, rules from `add_alert` (magics, CLI, API)."""

from __future__ import annotations

from typing import Any

from ..operations import INT64, Operation, Param, path
from .base import MLOpsHandler, reads

MODEL = path("name", "the model's name, or name@alias / name@VERSION for one version")


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


def _batch(name: str, batch_id: int) -> dict[str, Any]:
    from ... import refs
    from ...drift.monitor import get_batch

    return _report(get_batch(batch_id, model=refs.parse(name).name))


class DriftModelsHandler(MLOpsHandler):
    GET = Operation("Monitored models (a monitoring batch or an alert rule): versions "
                    "monitored, batches, the last batch's drift share and verdict, alerts and "
                    "rules", "MonitoredModels")

    @reads
    async def get(self) -> None:
        from ...drift.history import monitored_models

        self.reply(await self.call(monitored_models))


class DriftModelHandler(MLOpsHandler):
    GET = Operation("One model's monitoring: history of batches and alerts with its figure, "
                    "active rules, alerts, and the last batch's report with its figure",
                    "ModelDrift",
                    params=(MODEL, Param("limit", "the newest batches to show", int,
                                         default=1000, low=1, high=100_000)),
                    errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_model_drift, name, self.query()["limit"]))


class DriftBatchHandler(MLOpsHandler):
    GET = Operation("The stored drift report of one monitoring batch of the model, with its "
                    "figure", "BatchReport",
                    params=(MODEL, path("batch_id", "the monitoring batch's id", int, low=1,
                                        high=INT64, label="monitoring batch id")),
                    errors=(400, 404))

    @reads
    async def get(self, name: str, batch_id: str) -> None:
        self.reply(await self.call(_batch, name, self.path_value("batch_id", batch_id)))


ROUTES = [
    ("/drift", DriftModelsHandler),
    ("/drift/{name}", DriftModelHandler),
    ("/drift/{name}/batches/{batch_id}", DriftBatchHandler),
]
