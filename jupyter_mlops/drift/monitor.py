"""`monitor`: one monitoring batch of a registered model — input drift against its training
sketches, prediction drift, performance when actuals are known — stored with its report and
checked against the model's alert rules. `monitor_serving` turns the scoring server's
sample into such batches, one per time window."""

from __future__ import annotations

import base64
import html
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .. import refs
from ..errors import MLOpsUsageError
from ..store import get_store
from ..store.tables import drift_batches, models
from .methods import PRESETS, choose, get_method
from .performance import PairCounts, pair_counts, performance, task_of
from .performance import metrics as performance_of
from .report import ColumnDrift, DriftReport, drift_report
from .sketch import Reference, sketch_series

if TYPE_CHECKING:
    import pandas as pd

    from ..data.partitions import Partitioned
    from ..registry.versions import ModelVersion


@dataclass
class MonitoringBatch:
    """What `monitor` returns: the stored batch's figures, its report, the alerts it raised
    (each with the pipeline run it queued), and the method preset it was computed with."""

    id: int
    model: str
    version: int
    at: float
    rows: int
    report: DriftReport
    prediction_drift: float | None = None
    prediction_drifted: bool | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    method: str = "auto"

    @property
    def drift_share(self) -> float:
        return self.report.drift_share

    @property
    def drifted(self) -> bool:
        return self.report.drifted

    def values(self) -> dict[str, Any]:
        """The figures alert rules see."""
        return {"drift_share": self.drift_share, "drifted_columns": len(self.report.drifted_columns),
                "drifted": self.drifted, "rows": self.rows,
                "prediction_drift": self.prediction_drift,
                "prediction_drifted": self.prediction_drifted, **self.metrics,
                "statistics": {c.column: c.statistic for c in self.report.columns
                               if math.isfinite(c.statistic)}}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "version": self.version, "at": self.at,
                "rows": self.rows, "method": self.method, "drift_share": self.drift_share,
                "drifted": self.drifted,
                "drifted_columns": self.report.drifted_columns,
                "prediction_drift": self.prediction_drift,
                "prediction_drifted": self.prediction_drifted, "metrics": self.metrics,
                "alerts": [{k: v for k, v in a.items() if k != "webhook"} for a in self.alerts],
                "report": self.report.to_dict()}

    def summary(self) -> str:
        perf = ", ".join(f"{k} {v:.3g}" for k, v in self.metrics.items())
        pred = ("" if self.prediction_drift is None else
                f"; prediction drift {self.prediction_drift:.3g}"
                f"{' (drifted)' if self.prediction_drifted else ''}")
        alerts = "".join(f"\nALERT {a['condition']!r}: {a['reason']}"
                         + (f" → pipeline {a['pipeline']} queued ({a['pipeline_run_id'][:8]})"
                            if a["pipeline_run_id"] else "") for a in self.alerts)
        return (f"{self.model}@{self.version} batch {self.id} (method {self.method}): "
                f"{self.rows:,} rows, {self.report.summary()}{pred}{'; ' + perf if perf else ''}{alerts}")

    def _repr_html_(self) -> str:
        head, *rest = self.summary().split("\n")
        alerts = "".join(f"<p style='color:#c62828'>{html.escape(line)}</p>" for line in rest)
        return f"<div><p><b>{html.escape(head)}</b></p>{alerts}{self.report._repr_html_()}</div>"


def epoch(value: Any) -> float:
    """Seconds since the epoch from None (now), a number, a datetime or an ISO string."""
    if value is None:
        return time.time()
    if isinstance(value, bool):
        raise MLOpsUsageError(f"timestamp must be a time, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise MLOpsUsageError(f"timestamp {value!r} is not a time (a datetime, ISO text or "
                              "seconds since the epoch)") from None
    if stamp is pd.NaT:
        raise MLOpsUsageError("timestamp is missing (NaT)")
    if stamp.tzinfo is None:  # naive times are UTC, as the store's are
        stamp = stamp.tz_localize("UTC")
    return float(stamp.timestamp())


def _series(values: Any, rows: int, what: str) -> pd.Series | None:
    import pandas as pd

    if values is None:
        return None
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise MLOpsUsageError(f"{what} must be one column, got {values.shape[1]}")
        values = values.iloc[:, 0]
    series = pd.Series(values).reset_index(drop=True) if not isinstance(values, pd.Series) \
        else values.reset_index(drop=True)
    if len(series) != rows:
        raise MLOpsUsageError(f"{what} has {len(series)} values but the batch has {rows} rows")
    return series


def _task(version: ModelVersion, reference: Reference, counts: PairCounts) -> str:
    kind = (version.signature.output.get("kind") if version.signature else None) or "unknown"
    if kind in ("classification", "regression"):
        return kind
    if reference.predictions is not None:
        return "classification" if reference.predictions.kind == "categorical" or (
            reference.predictions.counts is not None) else "regression"
    return task_of(counts)


def _partitioned_batch(batch: Any, predictions: Any, actuals: Any) -> Partitioned:
    """The partitions of a batch given as a path, with its predictions and actuals named as
    columns of it (values given apart could not be matched to rows spread over partitions)."""
    from ..data.partitions import open_partitioned

    for given, what in ((predictions, "predictions"), (actuals, "actuals")):
        if given is not None and not isinstance(given, str):
            raise MLOpsUsageError(f"with a partitioned batch, {what} is the name of one of its "
                                  f"columns, not a {type(given).__name__}")
    if actuals is not None and predictions is None:
        raise MLOpsUsageError("with a partitioned batch, name its predictions column too "
                              "(predictions='COLUMN'): the model does not score partitioned "
                              "data")
    parts = open_partitioned(batch)
    for given, what in ((predictions, "predictions"), (actuals, "actuals")):
        if given is not None and given not in parts.types:
            raise MLOpsUsageError(f"the batch has no {what} column {given!r} (it has: "
                                  f"{', '.join(parts.columns)})")
    if not parts.rows:
        raise MLOpsUsageError("the batch has no rows")
    return parts


def monitor(model_ref: str, batch: Any, predictions: Any = None, actuals: Any = None,
            timestamp: Any = None, source: str = "api",
            window: tuple[float, float] | None = None,
            allow_pickle: bool | None = None, method: str | None = None,
            executor: Any = None) -> MonitoringBatch:
    """Record one monitoring batch of `model_ref` ("clf@production"): drift of `batch`'s
    inputs against the training sketches stored at registration, prediction drift (given
    `predictions`), and performance (given `actuals`; the model is then loaded, a pickle one
    only with `allow_pickle`, as in `load_model`). Alert rules are checked; a breach queues
    its pipeline and calls its webhook.

    `batch` is a DataFrame, or the path of a partitioned parquet dataset (`refs.is_path`),
    sketched one partition at a time here or on the Dask cluster `executor` names; its
    predictions and actuals are then names of its columns (actuals need predictions: the
    model does not score partitioned data), and performance is accuracy and F1, or RMSE and
    MAE, from counts merged across partitions (no ROC AUC).

    `method` is the drift preset ("auto" or "evidently"); by default the preset of the
    model's last recorded batch, so its alert rules keep their meaning, and "auto" for a
    model never monitored. The batch records the preset it was computed with."""
    import pandas as pd

    from ..registry.versions import get_model_version
    from .references import model_reference

    parts = _partitioned_batch(batch, predictions, actuals) if refs.is_path(batch) else None
    if parts is None and not isinstance(batch, pd.DataFrame):
        raise MLOpsUsageError(f"the batch is a DataFrame of model inputs or the path of a "
                              f"partitioned parquet dataset, got {type(batch).__name__}")
    if parts is None and not len(batch):
        raise MLOpsUsageError("the batch has no rows")
    if method is not None and method not in PRESETS:
        raise MLOpsUsageError(f"monitor takes a drift method preset ({', '.join(PRESETS)}), "
                              f"got {method!r}: per-column methods are for drift_report")
    at = epoch(timestamp)
    rows = parts.rows if parts is not None else len(batch)
    if parts is None:
        preds = _series(predictions, rows, "predictions")
        truth = _series(actuals, rows, "actuals")
    version = get_model_version(model_ref)
    preset = method or last_method(version.name) or "auto"
    reference = model_reference(version)
    report = drift_report(reference, parts if parts is not None else batch,
                          columns=list(reference.columns), method=preset, executor=executor)
    report.labels = (f"{version.ref} training data", f"batch at {_iso(at)}")
    pred_sketch, counts, model = None, None, None
    if parts is not None and predictions is not None:
        from .partials import summarize_partitioned

        total = summarize_partitioned(parts, [predictions], executor,
                                      pairs=(actuals, predictions) if actuals else None)
        pred_sketch, counts = total["columns"][predictions].to_sketch(), total.get("pairs")
    elif parts is None:
        if truth is not None:
            model = version.load(allow_pickle)
            if preds is None:
                preds = pd.Series(model.predict(batch[list(reference.columns)]))
            counts = pair_counts(truth, preds)
        if preds is not None:
            pred_sketch = sketch_series(preds.rename("prediction"))
    pred_stat, pred_drifted = None, None
    if pred_sketch is not None and reference.predictions is not None:
        if pred_sketch.kind == reference.predictions.kind and pred_sketch.n:
            chosen = get_method(choose(reference.predictions, pred_sketch, preset))
            stat, p = chosen.measure(reference.predictions, pred_sketch)
            pred_stat = stat if math.isfinite(stat) else None
            pred_drifted = chosen.drifted(stat, chosen.threshold, p)
    else:
        pred_sketch = None
    metrics = {}
    if counts is not None:
        task = _task(version, reference, counts)
        metrics = (performance(task, truth, preds, model, batch[list(reference.columns)])
                   if parts is None else performance_of(task, counts))
    result = MonitoringBatch(0, version.name, version.version, at, rows, report,
                             pred_stat, pred_drifted, metrics, method=preset)
    report.current.predictions = pred_sketch
    _store(result, source, window)
    return result


def last_method(model: str) -> str | None:
    """The method preset of the model's latest batch (None: never monitored)."""
    with get_store().read() as conn:
        return conn.execute(
            select(drift_batches.c.method).join(models, models.c.id == drift_batches.c.model_id)
            .where(models.c.name == model)
            .order_by(drift_batches.c.at.desc(), drift_batches.c.id.desc()).limit(1)
        ).scalar()


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _store(result: MonitoringBatch, source: str, window: tuple[float, float] | None) -> None:
    """One transaction: the batch row, its alerts and their queued runs; then notify."""
    from .alerts import breaches, notify

    store = get_store()
    payload = {"report": result.report.to_dict(),
               "current": base64.b64encode(result.report.current.to_bytes()).decode()}
    digest, _ = store.artifacts.put_bytes(json.dumps(payload).encode())
    report = result.report
    with store.write("model", result.model, "monitored") as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == result.model)
                                ).scalar_one()
        result.id = conn.execute(drift_batches.insert().values(
            model_id=model_id, version=result.version, source=source, at=result.at,
            window_start=window[0] if window else None, window_end=window[1] if window else None,
            rows=result.rows, columns=len(report.columns),
            drifted_columns=len(report.drifted_columns), drift_share=report.drift_share,
            drifted=report.drifted, prediction_drift=result.prediction_drift,
            prediction_drifted=result.prediction_drifted, metrics=json.dumps(result.metrics),
            report_digest=digest, method=result.method, created_at=time.time())).inserted_primary_key[0]
        raised = breaches(conn, model_id, result.id, result.values())
    result.alerts = [alert for alert, _url in raised]
    notify(raised)


def get_batch(batch_id: int, model: str | None = None) -> dict[str, Any]:
    """A stored batch's row (id, model, version, at, method, report_digest), of `model` if
    named."""
    from ..errors import NotFoundError

    query = (select(drift_batches.c.id, models.c.name.label("model"), drift_batches.c.version,
                    drift_batches.c.at, drift_batches.c.method, drift_batches.c.report_digest)
             .join(models, models.c.id == drift_batches.c.model_id)
             .where(drift_batches.c.id == batch_id))
    with get_store().read() as conn:
        if model is not None and conn.execute(
                select(models.c.id).where(models.c.name == model)).first() is None:
            raise NotFoundError(f"no model named {model!r}")
        row = conn.execute(query).mappings().first()
    if row is None or (model is not None and row["model"] != model):
        raise NotFoundError(f"model {model!r} has no monitoring batch {batch_id}" if model
                            else f"no monitoring batch {batch_id}")
    return dict(row)


def stored_report(batch_id: int) -> DriftReport:
    """The report of a stored batch, rebuilt (its figure included) from what was kept."""
    from ..registry.versions import get_model_version
    from .references import model_reference

    row = get_batch(batch_id)
    payload = json.loads(get_store().artifacts.get_bytes(row["report_digest"]))
    data = payload["report"]
    columns = [ColumnDrift.from_dict(c) for c in data["columns"]]
    reference = model_reference(get_model_version(f"{row['model']}@{row['version']}"))
    current = Reference.from_bytes(base64.b64decode(payload["current"]))
    return DriftReport(columns, reference, current, data["dataset_threshold"],
                       (data["reference"], data["current"]), row["method"])


def monitor_serving(model_ref: str, window: str | float = "1h", include_current: bool = False,
                    now: float | None = None, method: str | None = None
                    ) -> list[MonitoringBatch]:
    """Turn the scoring server's sample of `model_ref` (a model, or one version or alias of it)
    into one monitoring batch per `window` of time, for every window not yet monitored
    (the one still open only with `include_current`), with the drift preset `method` (as
    `monitor`: by default the one of the model's last batch)."""
    from ..pipelines.spec import seconds
    from ..registry.versions import get_model_version
    from ..serving.samples import PREDICTION, TIMESTAMP, monitoring_data

    try:
        width = seconds(window)
    except ValueError as exc:
        raise MLOpsUsageError(str(exc)) from None
    if not width or width <= 0:
        raise MLOpsUsageError(f"the window must be positive, got {window!r}")
    if method is not None and method not in PRESETS:
        raise MLOpsUsageError(f"monitor takes a drift method preset ({', '.join(PRESETS)}), "
                              f"got {method!r}")
    parsed = refs.parse(model_ref)
    only = None
    if parsed.version is not None or parsed.alias or parsed.latest or parsed.digest:
        only = get_model_version(model_ref).version
    else:
        get_model_version(parsed.name)
    now = time.time() if now is None else now
    store = get_store()
    with store.read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == parsed.name)).scalar_one()
        done = dict(conn.execute(select(drift_batches.c.version,
                                        func.max(drift_batches.c.window_end))
                                 .where(drift_batches.c.model_id == model_id,
                                        drift_batches.c.source == "serving")
                                 .group_by(drift_batches.c.version)).all())
    if only is not None:
        since = done.get(only)
    else:
        since = min(done.values()) if done else None
    data = monitoring_data(parsed.name, only, "serving", since)
    if data.empty:
        return []
    stamps = data[TIMESTAMP].map(lambda t: t.timestamp()).to_numpy()
    data = data.assign(_window=(stamps // width) * width)
    out = []
    for (number, start), part in data.groupby(["version", "_window"], sort=True):
        end = start + width
        if end > now and not include_current:
            continue
        if start < done.get(number, float("-inf")):
            continue
        inputs = part.drop(columns=[PREDICTION, TIMESTAMP, "version", "source", "_window"])
        out.append(monitor(f"{parsed.name}@{number}", inputs.reset_index(drop=True),
                           predictions=part[PREDICTION].reset_index(drop=True), timestamp=end,
                           source="serving", window=(float(start), float(end)),
                           method=method))
    return out
