"""`drift_report`: per-column drift of current data against a reference, and the verdict."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import refs
from ..errors import MLOpsUsageError
from .methods import PRESETS, Method, choose, choose_empty, get_method
from .sketch import OTHER, Reference, Sketch, is_datetime, is_numeric, summarize

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..data.partitions import Partitioned

DATASET_THRESHOLD = 0.5  # the dataset drifted when this share of its columns drifted
MISSING_THRESHOLD = 0.1  # a column drifted when its share of missing values moved this much
BINS = 30  # a drifted numeric column's distributions are drawn on this many equal bins
MAX_LEVELS = 15  # … and a categorical one's at most this many most frequent levels


@dataclass
class ColumnDrift:
    """One column's verdict: the method, its statistic and threshold (and, for a method with
    a test, the test's p-value and level), how far past the threshold (`score`: 1 at it,
    above 1 drifted) and what was seen."""

    column: str
    type: str
    method: str
    statistic: float
    threshold: float
    drifted: bool
    reference: dict[str, Any]
    current: dict[str, Any]
    note: str = ""
    pvalue: float | None = None
    alpha: float | None = None
    score: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "type": self.type, "method": self.method,
                "statistic": _finite(self.statistic), "threshold": self.threshold,
                "pvalue": _finite(self.pvalue), "alpha": self.alpha,
                "score": _finite(self.score), "drifted": self.drifted,
                "reference": _clean(self.reference), "current": _clean(self.current),
                "note": self.note}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnDrift:
        """Back from `to_dict`, for a stored report. One stored before scores existed gets
        its score computed again (NaN when its method is no longer installed)."""
        statistic = float("nan") if data["statistic"] is None else data["statistic"]
        pvalue, score = data.get("pvalue"), data.get("score")
        if "score" not in data:
            try:
                score = get_method(data["method"]).score(statistic, data["threshold"], pvalue)
            except MLOpsUsageError:
                score = None
        return cls(data["column"], data["type"], data["method"], statistic, data["threshold"],
                   data["drifted"], data["reference"], data["current"], data["note"], pvalue,
                   data.get("alpha"), float("nan") if score is None else score)


@dataclass
class DriftReport:
    """What `drift_report` returns: `.drifted`, `.drifted_columns`, `.drift_share`,
    `.to_frame()`, `.to_dict()`, `.figure()`, `.save_html(path)` and a rich display."""

    columns: list[ColumnDrift]
    reference: Reference
    current: Reference
    dataset_threshold: float = DATASET_THRESHOLD
    labels: tuple[str, str] = ("reference", "current")
    method: str | dict[str, str] = "auto"
    _figure: Any = field(default=None, repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_columns) and self.drift_share >= self.dataset_threshold

    def summary(self) -> str:
        verdict = "drifted" if self.drifted else "no dataset drift"
        return (f"{verdict}: {len(self.drifted_columns)} of {len(self.columns)} columns "
                f"({self.drift_share:.0%}; the dataset drifts at {self.dataset_threshold:.0%}) "
                f"— {self.labels[0]} ({self.reference.rows:,} rows) vs {self.labels[1]} "
                f"({self.current.rows:,} rows)")

    def to_frame(self) -> pd.DataFrame:
        """One row a column: type, method, statistic, threshold, the test's p-value and level
        (methods with a test), drifted, summaries, note."""
        import pandas as pd

        rows = [{"column": c.column, "type": c.type, "method": c.method,
                 "statistic": c.statistic, "threshold": c.threshold,
                 "pvalue": float("nan") if c.pvalue is None else c.pvalue,
                 "alpha": float("nan") if c.alpha is None else c.alpha, "drifted": c.drifted,
                 "reference": _describe(c.reference), "current": _describe(c.current),
                 "missing_reference": _share(c.reference), "missing_current": _share(c.current),
                 "note": c.note} for c in self.columns]
        return pd.DataFrame(rows, columns=["column", "type", "method", "statistic", "threshold",
                                           "pvalue", "alpha", "drifted", "reference", "current",
                                           "missing_reference", "missing_current", "note"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the verdict and every column's result."""
        return {"reference": self.labels[0], "current": self.labels[1],
                "reference_rows": self.reference.rows, "current_rows": self.current.rows,
                "method": self.method, "drifted": self.drifted, "drift_share": self.drift_share,
                "dataset_threshold": self.dataset_threshold,
                "drifted_columns": self.drifted_columns,
                "columns": [c.to_dict() for c in self.columns]}

    def figure(self) -> go.Figure:
        """Per-column scores against their thresholds, and reference-vs-current distributions
        of the most drifted columns (built once, then reused)."""
        if self._figure is None:
            from ..charts.drift import MAX_DISTRIBUTIONS, report_figure

            bars = [{"column": c.column, "method": c.method, "statistic": _finite(c.statistic),
                     "threshold": c.threshold, "pvalue": _finite(c.pvalue), "alpha": c.alpha,
                     "score": _finite(c.score), "drifted": c.drifted, "note": c.note}
                    for c in self.columns]
            shown = sorted((c for c in self.columns
                            if c.drifted and c.reference["n"] and c.current["n"]),
                           key=lambda c: -(c.score if math.isfinite(c.score) else 1e9))
            panels = [{"column": c.column, **_distribution(self.reference.columns[c.column],
                                                           self.current.columns[c.column])}
                      for c in shown[:MAX_DISTRIBUTIONS]]
            self._figure = report_figure(self.summary(), bars, panels, self.labels)
        return self._figure

    def save_html(self, path: str | Path) -> Path:
        """One self-contained HTML file (plotly.js inlined) with the verdict, table and chart."""
        path = Path(path)
        chart = self.figure().to_html(full_html=False, include_plotlyjs=True)
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Drift report"
                f"</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:"
                f"collapse}}td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}</style></head>"
                f"<body>{self._repr_html_()}{chart}</body></html>")
        path.write_text(page, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        table = self.to_frame().to_html(index=False, na_rep="—", float_format="{:.4g}".format)
        colour = "#c62828" if self.drifted else "#2e7d32"
        return (f"<div><p style='color:{colour}'><b>{html.escape(self.summary())}</b></p>"
                f"{table}</div>")

    def __repr__(self) -> str:
        return f"<DriftReport {self.summary()}>"


def _distribution(ref: Sketch, cur: Sketch) -> dict[str, Any]:
    """What a chart draws of one column: `x` (levels, or the centres of BINS equal bins over
    both samples' range), each sample's share there, and the axis kind."""
    import numpy as np

    if ref.kind == "categorical" or (ref.counts is not None and cur.counts is not None
                                     and len(set(ref.counts) | set(cur.counts)) <= MAX_LEVELS):
        levels = sorted(set(ref.counts) | set(cur.counts),
                        key=lambda k: -(ref.counts.get(k, 0) + cur.counts.get(k, 0)))[:MAX_LEVELS]
        return {"x": [str(k) for k in levels],
                "reference": [ref.counts.get(k, 0) / max(ref.n, 1) for k in levels],
                "current": [cur.counts.get(k, 0) / max(cur.n, 1) for k in levels],
                "axis": "category"}
    lo = min(v for v in (ref.min, cur.min) if v is not None)
    hi = max(v for v in (ref.max, cur.max) if v is not None)
    if hi <= lo:
        return {"x": [lo], "reference": [1.0 if ref.n else 0.0],
                "current": [1.0 if cur.n else 0.0], "axis": "linear"}
    edges = np.linspace(lo, hi, BINS + 1)

    def shares(s: Sketch) -> list[float]:
        if not s.n:
            return [0.0] * BINS
        return np.diff(np.concatenate([[0.0], s.cdf(edges[1:-1], strict=True), [1.0]])).tolist()

    return {"x": ((edges[:-1] + edges[1:]) / 2).tolist(), "reference": shares(ref),
            "current": shares(cur), "axis": "linear"}


def _finite(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) \
        else value


def _clean(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: _finite(v) if isinstance(v, float) else v for k, v in summary.items()}


def _share(summary: dict[str, Any]) -> float:
    total = summary["n"] + summary["missing"]
    return summary["missing"] / total if total else 0.0


def _describe(summary: dict[str, Any]) -> str:
    if summary["n"] == 0:
        return "no values"
    if "mean" in summary:
        return (f"mean {summary['mean']:.4g}, sd {summary['std']:.4g}, "
                f"[{summary['min']:.4g}, {summary['max']:.4g}]")
    top = ", ".join(f"{k} {v / summary['n']:.0%}" for k, v in summary["top"][:3])
    return f"{summary['levels']} levels: {top}"


def _per_column(option: Any, names: list[str], what: str) -> dict[str, Any]:
    """A single value for every column, or a dict column → value (others: None)."""
    if isinstance(option, dict):
        unknown = sorted(set(option) - set(names))
        if unknown:
            raise MLOpsUsageError(f"{what} names columns that are not compared: "
                                  f"{', '.join(map(str, unknown))}")
        return {n: option.get(n) for n in names}
    return dict.fromkeys(names, option)


def _as_reference(data: Any, names: list[str] | None, label: str, executor: Any = None
                  ) -> tuple[Reference | Partitioned, str]:
    """The reference's sketches, or (a path) its partitions, to be sketched once the current
    data is known to fit."""
    import pandas as pd

    if isinstance(data, Reference):
        return data, data.source
    if isinstance(data, pd.DataFrame):
        absent = [c for c in names or [] if c not in data.columns]
        if absent:
            raise MLOpsUsageError(f"the {label} has no column {', '.join(map(str, absent))} "
                                  f"(it has: {', '.join(map(str, data.columns))})")
        return summarize(data, names), "DataFrame"
    if refs.is_path(data):
        from ..data.partitions import open_partitioned

        parts = open_partitioned(data)
        absent = [c for c in names or [] if c not in parts.types]
        if absent:
            raise MLOpsUsageError(f"the {label} has no column {', '.join(map(str, absent))} "
                                  f"(it has: {', '.join(parts.columns)})")
        return parts, str(data)
    if isinstance(data, str):
        from .references import stored_reference

        return stored_reference(data, executor), data
    raise MLOpsUsageError(f"the {label} is a DataFrame, a reference such as 'wine@3' or "
                          "'wine-clf@production', or the path of a partitioned parquet "
                          f"dataset ('data/', 's3://bucket/prefix/'), not a {type(data).__name__}")


def _kind_of(series: pd.Series) -> str | None:
    """numeric, categorical, or None for a column without a single value."""
    if series.isna().all():
        return None
    if is_datetime(series):
        return "datetime"
    return "numeric" if is_numeric(series) else "categorical"


def _current_frame(current: Any) -> tuple[Any, str]:
    """The current data: a DataFrame, a Reference, or the partitions of a partitioned
    parquet dataset (a path, or a dataset version that is a folder of parquet files)."""
    import pandas as pd

    from ..data.partitions import Partitioned

    if isinstance(current, pd.DataFrame):
        return current, "current"
    if isinstance(current, Partitioned):
        return current, current.source
    if refs.is_path(current):
        from ..data.partitions import open_partitioned

        return open_partitioned(current), str(current)
    if isinstance(current, str):
        from ..data.versions import load_dataset, load_partitions

        parts = load_partitions(current)
        if parts is not None:
            return parts, current
        frame = load_dataset(current)
        if not isinstance(frame, pd.DataFrame):
            raise MLOpsUsageError(f"dataset {current!r} is not a table")
        return frame, current
    if isinstance(current, Reference):
        return current, current.source
    raise MLOpsUsageError("the current data is a DataFrame, a dataset version such as "
                          "'wine@4', or the path of a partitioned parquet dataset ('batch/', "
                          f"'s3://bucket/batch/'), not a {type(current).__name__}")


def _kinds(data: Any) -> dict[str, str | None]:
    """Column → kind of values (None: none to tell), for what the current data is."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return {str(c): _kind_of(data[c]) for c in data.columns}
    if isinstance(data, Reference):
        return {c: None for c in data.columns}
    from ..data.partitions import column_kind

    return {c: None if column_kind(t) == "empty" else column_kind(t)
            for c, t in data.types.items()}


def drift_report(reference: Any, current: Any, columns: list[str] | None = None,
                 method: str | dict[str, str] = "auto",
                 threshold: float | dict[str, float] | None = None,
                 dataset_threshold: float = DATASET_THRESHOLD,
                 missing_threshold: float | None = MISSING_THRESHOLD,
                 executor: Any = None) -> DriftReport:
    """Drift of `current` (a DataFrame, "dataset@N", or a path) against `reference` (a
    DataFrame, "dataset@N", "model@alias": its training data's sketches stored at
    registration, or a path).

    A path (`refs.is_path`: "data/", "data/*.parquet", "s3://bucket/prefix/", a Path) is a
    partitioned parquet dataset, sketched one partition at a time: here, or one task per
    partition on the Dask cluster `executor` names ("dask://host:8786", a distributed.Client;
    default: the `executor` setting). Its sketches merge exactly but for quantiles, which come
    from KLL sketches within a stated rank error (docs/drift.md).

    `method` (a preset, "auto" or "evidently", or a method's name) and `threshold` apply to
    every column or, as dicts, per column: "auto" asks for an effect that matters and a test
    that rejects, "evidently" picks as Evidently does (docs/drift.md). A column also drifts
    when its share of missing values moves by `missing_threshold` or more; the dataset
    drifts when `dataset_threshold` of its columns do. Bad input raises one MLOpsUsageError
    before anything is computed."""
    import pandas as pd

    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    if not 0.0 <= dataset_threshold <= 1.0:
        raise MLOpsUsageError(f"dataset_threshold is a share from 0 to 1, got {dataset_threshold}")
    cur_data, cur_label = _current_frame(current)
    if isinstance(cur_data, pd.DataFrame) and len(cur_data) == 0:
        raise MLOpsUsageError("the current data has no rows")
    if not isinstance(cur_data, (pd.DataFrame, Reference)) and cur_data.rows == 0:
        raise MLOpsUsageError(f"the current data ({cur_label}) has no rows")
    ref, ref_label = _as_reference(reference, columns, "reference", executor)
    if isinstance(ref, Reference):
        ref_kinds = {c: s.kind for c, s in ref.columns.items()}
    else:
        ref_kinds = {c: ref.kind(c) for c in ref.columns
                     if columns is not None or ref.kind(c) != "datetime"}
    names = list(ref_kinds) if columns is None else [str(c) for c in columns]
    missing_ref = [c for c in names if c not in ref_kinds]
    if missing_ref:
        raise MLOpsUsageError(f"the reference has no column {', '.join(missing_ref)} "
                              f"(it has: {', '.join(ref_kinds)})")
    by_name = {str(c): c for c in cur_data.columns}
    absent = [c for c in names if c not in by_name]
    if absent:
        raise MLOpsUsageError(f"the current data lacks column{'s' if len(absent) > 1 else ''} "
                              f"{', '.join(absent)}, which the reference has")
    methods = _per_column(method, names, "method")
    thresholds = _per_column(threshold, names, "threshold")
    cur_kinds = _kinds(cur_data)
    chosen: dict[str, Method | str] = {}
    for name in names:
        ref_kind = ref_kinds[name]
        kind = cur_kinds[name]
        if kind is not None and kind != ref_kind:
            raise MLOpsUsageError(f"column {name!r} is {ref_kind} in the reference but "
                                  f"{kind} in the current data")
        wanted = methods[name] or "auto"
        chosen[name] = wanted if wanted in PRESETS else get_method(wanted)
        if isinstance(chosen[name], Method) and ref_kind not in chosen[name].kinds:
            raise MLOpsUsageError(f"method {wanted!r} does not apply to the {ref_kind} column "
                                  f"{name!r} (it takes {', '.join(chosen[name].kinds)} columns)")
        limit = thresholds[name]
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                                  or not math.isfinite(limit) or limit < 0):
            raise MLOpsUsageError(f"threshold for {name!r} must be a non-negative number, "
                                  f"got {limit!r}")
    if not isinstance(ref, Reference):
        from .partials import sketch_partitioned

        ref = sketch_partitioned(ref, names, executor)
    if isinstance(cur_data, Reference):
        cur = cur_data
    elif isinstance(cur_data, pd.DataFrame):
        cur = summarize(cur_data, [by_name[c] for c in names])
    else:
        from .partials import sketch_partitioned

        cur = sketch_partitioned(cur_data, names, executor)
    results = [_column(name, ref.columns[name], cur.columns[name], chosen[name],
                       thresholds[name], missing_threshold) for name in names]
    given = dict(method) if isinstance(method, dict) else method
    return DriftReport(results, ref, cur, dataset_threshold, (ref_label, cur_label), given)


def _column(name: str, ref: Sketch, cur: Sketch, method: Method | str, limit: float | None,
            missing_threshold: float | None) -> ColumnDrift:
    """The verdict on one column (`method`: a Method, or the preset that chooses one), with
    what is unusual about it said in `note`."""
    notes: list[str] = []
    statistic, p, drifted = float("nan"), None, False
    if ref.n == 0 or cur.n == 0:
        if not isinstance(method, Method):
            method = get_method(choose_empty(ref, method))
        if ref.n == 0 and cur.n == 0:
            notes.append("no values in either")
        else:
            drifted = True
            notes.append("the reference has no values" if ref.n == 0
                         else "every current value is missing")
    else:
        if not isinstance(method, Method):
            method = get_method(choose(ref, cur, method))
        statistic, p = method.measure(ref, cur)
        drifted = method.drifted(statistic, method.threshold if limit is None else limit, p)
    if ref.kind == "categorical" and cur.kind == "categorical" and ref.n and cur.n:
        new = sorted(set(cur.counts) - set(ref.counts) - {OTHER})
        if new:
            more = f" (+{len(new) - 5} more)" if len(new) > 5 else ""
            notes.append(f"new level{'s' if len(new) > 1 else ''}: {', '.join(new[:5])}{more}")
    if ref.n and (ref.distinct() == 1):
        notes.append("constant in the reference")
    ref_missing, cur_missing = _share(ref.summary()), _share(cur.summary())
    if abs(cur_missing - ref_missing) >= 0.005:
        notes.append(f"missing {ref_missing:.1%} → {cur_missing:.1%}")
        if missing_threshold is not None and abs(cur_missing - ref_missing) >= missing_threshold:
            drifted = True
    threshold = method.threshold if limit is None else limit
    return ColumnDrift(name, ref.kind, method.name, statistic, threshold, drifted,
                       ref.summary(), cur.summary(), "; ".join(notes), p, method.alpha,
                       method.score(statistic, threshold, p))
