"""Column sketches: what a drift test needs to know about a column, summarized in one pass.

A numeric column keeps its empirical quantile function at `STRATA` equal-count strata (the
quantile at each stratum edge and the mean of each stratum) and, while it has few distinct
values, their counts; a column with at most `STRATA` values keeps them all, so small samples
are tested exactly. A large continuous column is read once into a fine histogram (no sort);
others are sorted. A categorical column keeps its level counts (the `LEVELS` most
frequent exactly, the rest pooled). Reference and current data are both reduced to sketches,
so a reference is summarized once (at registration, for a model) and every test after that
reads kilobytes, not the training data.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

STRATA = 1000  # quantile strata of a numeric column with more values than this
DISCRETE = 20  # numeric columns with at most this many distinct values keep exact counts
BINNED_FROM = 65_536  # a continuous column with this many values is sketched from bins
BINS = 1 << 16  # bins between a large column's 0.05 % and 99.95 % quantiles
LEVELS = 10_000  # category levels counted exactly; rarer ones are pooled in OTHER
OTHER = "(other levels)"
FORMAT = 1


@dataclass
class NumericSketch:
    """A numeric column: `means[k]` is the mean of the k-th of `len(means)` equal-count strata
    of the sorted values and `edges` the quantiles bounding them; `exact` when `means` holds
    every value (then `edges` is None)."""

    n: int
    missing: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    means: np.ndarray
    edges: np.ndarray | None
    counts: dict[float, int] | None = None
    kind: str = field(default="numeric", init=False)

    @property
    def exact(self) -> bool:
        return self.edges is None

    def cdf(self, x: np.ndarray, strict: bool = False) -> np.ndarray:
        """P(X <= x) (P(X < x) with `strict`) at each of `x`: exact for an exact sketch,
        linear between the stored quantiles otherwise."""
        import numpy as np

        x = np.asarray(x, dtype="float64")
        if self.n == 0:
            return np.zeros_like(x)
        if self.edges is None:
            return np.searchsorted(self.means, x, side="left" if strict else "right") / self.n
        edges, m = self.edges, len(self.edges) - 1
        j = np.searchsorted(edges, x, side="left" if strict else "right")
        lo = edges[np.clip(j - 1, 0, m)]
        hi = edges[np.clip(j, 0, m)]
        width = hi - lo
        frac = np.divide(x - lo, width, out=np.zeros_like(x), where=width > 0)
        out = (j - 1 + np.clip(frac, 0.0, 1.0)) / m
        return np.clip(np.where(j == 0, 0.0, np.where(j > m, 1.0, out)), 0.0, 1.0)

    def distinct(self) -> int | None:
        """Distinct values, when few enough to be counted (else None: more than DISCRETE)."""
        return len(self.counts) if self.counts is not None else None

    def summary(self) -> dict[str, Any]:
        return {"n": self.n, "missing": self.missing, "mean": self.mean, "std": self.std,
                "min": self.min, "max": self.max}


@dataclass
class CategoricalSketch:
    """A categorical column: level → count (the LEVELS most frequent; the rest under OTHER)."""

    n: int
    missing: int
    counts: dict[str, int]
    distinct_levels: int
    kind: str = field(default="categorical", init=False)

    def distinct(self) -> int:
        return self.distinct_levels

    def summary(self) -> dict[str, Any]:
        top = sorted(self.counts.items(), key=lambda kv: -kv[1])[:5]
        return {"n": self.n, "missing": self.missing, "levels": self.distinct_levels,
                "top": [[k, v] for k, v in top]}


Sketch = NumericSketch | CategoricalSketch


@dataclass
class Reference:
    """The sketches of a frame's columns (and, for a model, of its predictions on its
    training data): what drift is measured against. `source` says where it came from."""

    columns: dict[str, Sketch]
    rows: int
    source: str = "DataFrame"
    predictions: Sketch | None = None

    def to_bytes(self) -> bytes:
        """One .npz blob: arrays per column plus a JSON header (no pickle)."""
        import numpy as np

        arrays: dict[str, np.ndarray] = {}
        header: dict[str, Any] = {"format": FORMAT, "rows": self.rows, "source": self.source,
                                  "columns": [], "predictions": None}

        def put(key: str, sketch: Sketch) -> dict[str, Any]:
            entry = {"key": key, "kind": sketch.kind, "n": sketch.n, "missing": sketch.missing}
            if isinstance(sketch, NumericSketch):
                entry.update(mean=sketch.mean, std=sketch.std, min=sketch.min, max=sketch.max,
                             counts=None if sketch.counts is None
                             else [[k, v] for k, v in sketch.counts.items()])
                arrays[f"{key}.means"] = sketch.means
                if sketch.edges is not None:
                    arrays[f"{key}.edges"] = sketch.edges
            else:
                entry.update(counts=sketch.counts, levels=sketch.distinct_levels)
            return entry

        for i, (name, sketch) in enumerate(self.columns.items()):
            header["columns"].append({"name": name, **put(f"c{i}", sketch)})
        if self.predictions is not None:
            header["predictions"] = put("p", self.predictions)
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype="uint8")
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Reference:
        import numpy as np

        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes())

            def get(entry: dict[str, Any]) -> Sketch:
                if entry["kind"] == "categorical":
                    return CategoricalSketch(entry["n"], entry["missing"], entry["counts"],
                                             entry["levels"])
                key = entry["key"]
                edges = npz[f"{key}.edges"] if f"{key}.edges" in npz.files else None
                counts = None if entry["counts"] is None else {
                    float(k): int(v) for k, v in entry["counts"]}
                return NumericSketch(entry["n"], entry["missing"], entry["mean"], entry["std"],
                                     entry["min"], entry["max"], npz[f"{key}.means"], edges,
                                     counts)

            columns = {c["name"]: get(c) for c in header["columns"]}
            predictions = get(header["predictions"]) if header["predictions"] else None
        return cls(columns, header["rows"], header["source"], predictions)


def is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def is_datetime(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(
        series)


def sketch_numeric(values: np.ndarray, missing: int = 0, strata: int = STRATA) -> NumericSketch:
    """Sketch of float values (non-finite ones are counted as missing): from a fine histogram
    for a large continuous column, else by sorting a copy once."""
    import numpy as np

    values = np.asarray(values, dtype="float64")
    finite = np.isfinite(values)
    if not finite.all():
        missing += int(len(values) - finite.sum())
        values = values[finite]
    if len(values) >= BINNED_FROM:
        sketch = _binned(values, missing, strata)
        if sketch is not None:
            return sketch
    values = np.sort(values)
    n = len(values)
    if n == 0:
        return NumericSketch(0, missing, None, None, None, None, np.empty(0), None, None)
    distinct_at = np.flatnonzero(values[1:] != values[:-1])
    counts = None
    if len(distinct_at) < DISCRETE:
        starts = np.concatenate([[0], distinct_at + 1])
        sizes = np.diff(np.concatenate([starts, [n]]))
        counts = {float(values[s]): int(c) for s, c in zip(starts, sizes, strict=True)}
    mean = float(values.mean())
    stats = dict(mean=mean, std=float(values.std()), min=float(values[0]),
                 max=float(values[-1]))
    if n <= strata:
        return NumericSketch(n, missing, means=values, edges=None, counts=counts, **stats)
    # The integral of the quantile function up to u = i/n is cumsum[i] / n, linear between:
    # each stratum's mean is that integral's increment over the stratum, times `strata`.
    cumsum = np.concatenate([[0.0], np.cumsum(values - mean)])
    at = np.arange(strata + 1) * (n / strata)
    lo = np.minimum(at.astype("int64"), n - 1)
    integral = cumsum[lo] + (at - lo) * (values[lo] - mean)
    means = np.diff(integral) * (strata / n) + mean
    pos = np.arange(strata + 1) * ((n - 1) / strata)
    base = np.minimum(pos.astype("int64"), n - 2)
    edges = values[base] + (pos - base) * (values[base + 1] - values[base])
    return NumericSketch(n, missing, means=means, edges=edges, counts=counts, **stats)


def _binned(values: np.ndarray, missing: int, strata: int) -> NumericSketch | None:
    """The sketch of a large continuous column without sorting it: values between the 0.05 %
    and 99.95 % quantiles of an evenly spaced sample fall into BINS equal bins (count and sum
    each), those outside are sorted exactly. Each bin stands for its values at their mean, so
    a stratum's mean is off by less than a bin's width (range / 65,536). None when the sample
    shows few distinct values (the exact path counts them) or no spread."""
    import numpy as np

    n = len(values)
    sample = np.sort(values[:: max(1, n // 16_384)])
    if np.count_nonzero(sample[1:] != sample[:-1]) < DISCRETE:
        return None
    lo = sample[int(len(sample) * 0.0005)]
    hi = sample[min(len(sample) - 1, int(len(sample) * 0.9995))]
    if not hi > lo:
        return None
    below, above = values < lo, values > hi
    bins = ((values - lo) * (BINS / (hi - lo))).astype("int64")
    np.clip(bins, 0, BINS - 1, out=bins)
    bins[below], bins[above] = BINS, BINS + 1
    counts = np.bincount(bins, minlength=BINS + 2)[:BINS]
    sums = np.bincount(bins, weights=values, minlength=BINS + 2)[:BINS]
    used = counts > 0
    atoms = np.concatenate([np.sort(values[below]), sums[used] / counts[used],
                            np.sort(values[above])])
    weights = np.concatenate([np.ones(int(below.sum())), counts[used],
                              np.ones(int(above.sum()))]).astype("float64")
    mean = float(values.mean())
    means, edges = _weighted_strata(atoms, weights, n, mean, strata)
    return NumericSketch(n, missing, mean=mean, std=float(values.std()),
                         min=float(values.min()), max=float(values.max()), means=means,
                         edges=edges, counts=None)


def _weighted_strata(atoms: np.ndarray, weights: np.ndarray, n: int, mean: float,
                     strata: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratum means and quantile edges of sorted values given as (value, how many) atoms."""
    import numpy as np

    upto = np.cumsum(weights)
    before = upto - weights
    centred = atoms - mean
    mass = np.cumsum(weights * centred)
    mass_before = mass - weights * centred
    last = len(atoms) - 1
    at = np.arange(strata + 1) * (n / strata)
    j = np.minimum(np.searchsorted(upto, at, side="right"), last)
    integral = mass_before[j] + (at - before[j]) * centred[j]
    means = np.diff(integral) * (strata / n) + mean

    def order(i: np.ndarray) -> np.ndarray:  # the i-th smallest value (0-based)
        return atoms[np.minimum(np.searchsorted(upto, i, side="right"), last)]

    pos = np.arange(strata + 1) * ((n - 1) / strata)
    base = np.floor(pos)
    edges = order(base) + (pos - base) * (order(np.minimum(base + 1, n - 1)) - order(base))
    return means, edges


def _level(value: Any) -> str:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return str(value)


def sketch_categorical(series: pd.Series) -> CategoricalSketch:
    """Level counts of a column (category codes are counted with bincount, others hashed)."""
    import numpy as np
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        present = codes[codes >= 0]
        counts_arr = np.bincount(present, minlength=len(series.cat.categories))
        keep = counts_arr > 0
        pairs = zip(series.cat.categories[keep], counts_arr[keep].tolist(), strict=True)
        missing = int(len(codes) - len(present))
    else:
        vc = series.value_counts(dropna=True)
        pairs = zip(vc.index, vc.to_numpy().tolist(), strict=True)
        missing = int(len(series) - vc.sum())
    counts: dict[str, int] = {}
    for level, count in pairs:
        key = _level(level)
        counts[key] = counts.get(key, 0) + int(count)
    return pooled(counts, missing)


def pooled(counts: dict[str, int], missing: int) -> CategoricalSketch:
    """The sketch of exact level counts: the LEVELS most frequent kept, the rest pooled."""
    distinct = len(counts)
    if distinct > LEVELS:
        ordered = sorted(counts.items(), key=lambda kv: -kv[1])
        counts = dict(ordered[:LEVELS])
        counts[OTHER] = sum(v for _, v in ordered[LEVELS:])
    return CategoricalSketch(sum(counts.values()), missing, counts, distinct)


def sketch_series(series: pd.Series) -> Sketch:
    """The sketch of one column, by its type (booleans and text are categorical)."""
    import numpy as np

    if is_numeric(series):
        return sketch_numeric(series.to_numpy(dtype="float64", na_value=np.nan))
    if is_datetime(series):
        raise MLOpsUsageError(f"column {series.name!r} holds dates or durations: drift is "
                              "measured on numbers and categories (convert it, or leave it out)")
    return sketch_categorical(series)


def summarize(data: pd.DataFrame, columns: list[str] | None = None, source: str = "DataFrame",
              predictions: Any = None) -> Reference:
    """Sketch every column of `data` (or `columns`), columns in parallel threads: numpy's sort
    releases the GIL, so a wide frame uses every core."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise MLOpsUsageError(f"expected a pandas DataFrame, got {type(data).__name__}")
    # Dates and durations are left out unless named (a timestamp always "drifts").
    names = ([c for c in data.columns if not is_datetime(data[c])] if columns is None
             else columns)
    if not names:
        raise MLOpsUsageError("there are no columns to summarize")
    workers = min(len(names), os.cpu_count() or 1, 8)
    if workers > 1 and len(data) >= 50_000:
        with ThreadPoolExecutor(workers) as pool:
            sketches = list(pool.map(lambda c: sketch_series(data[c]), names))
    else:
        sketches = [sketch_series(data[c]) for c in names]
    pred = None
    if predictions is not None:
        pred = sketch_series(pd.Series(predictions, name="prediction"))
    return Reference(dict(zip(map(str, names), sketches, strict=True)), len(data), source, pred)
