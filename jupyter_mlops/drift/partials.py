"""Mergeable column summaries: what one partition of a dataset knows about each of its columns,
merged across partitions, then finalized into the drift sketches (`NumericSketch`,
`CategoricalSketch`: every drift method, chart and stored Reference works unchanged) and into
dataset profiles.

What merges exactly: counts, missing values, mean and variance (Chan's parallel formula), min
and max, a number column's value counts while it has at most DISCRETE distinct values, a
category's level counts, and a number column's most extreme values (its `tail` smallest and
largest: the extreme stratum's, at least STRATA and at most TAIL a side). What cannot: the
quantiles between. Each number column of each partition keeps an Apache DataSketches KLL sketch
(K = 2000); KLL sketches merge into the sketch of the whole column, which ranks any value
within 0.14 % of n of its true rank (the library's single-query bound, held with 99 %
confidence). A large partition feeds its sketch one value for every `thin` of its values
(`thinning()`: up to THIN, from the rows and partitions), read in order off bins of the column
(`order.py`) instead of updating the sketch once a value, the bulk of the work: that adds at
most `thinned_error()` (under 0.03 % for a column with few missing values), so a merged
column states ε = `rank_error(thin, parts, n)`. What that means:

- the quantiles bounding a merged sketch's strata (and a profile's quantiles) are values whose
  true rank is within ε of the rank asked for (exact within the tails);
- so a merged sketch's CDF is within ε of the exact empirical CDF at its stratum edges (on top
  of the 1/STRATA resolution an in-memory sketch has too), and the KS gap between two merged
  sketches is within ε_ref + ε_cur of the gap between in-memory ones at those points;
- the Wasserstein distance integrates the quantile function, whose merged estimate lies
  between the exact quantiles at u − ε and u + ε: it moves by at most 2ε·(max − min) per
  side, divided by the reference's standard deviation for the normalized statistic (a loose
  worst case: long tails widen it; measured errors are far smaller, docs/drift.md).

A column whose tails hold every value (at most 2 × `tail`) merges into the in-memory sketch
itself, and so does a column with at most DISCRETE distinct values (its strata come from the
exact counts).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError
from .order import CROWD, Ordered, Scratch
from .sketch import (
    DISCRETE,
    STRATA,
    CategoricalSketch,
    NumericSketch,
    Reference,
    Sketch,
    _weighted_strata,
    pooled,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..data.partitions import Partition, Partitioned

K = 2000  # KLL's accuracy parameter: 0.14 % rank error, about 47 KB per column and partition
SAMPLES = 64  # points of a merged sketch's quantile function averaged into a stratum's mean
TAIL = 4096  # at most this many of a number column's smallest and largest values kept exactly
THIN = 32  # a large partition feeds its KLL sketch one value for every THIN of its values
FEED = 8192  # values fed to a sketch at a time


def rank_error(thin: int = 1, parts: int = 0, n: int = 1) -> float:
    """The normalized rank error of a merged sketch: KLL's (single queries, 99 % confidence)
    and, when each partition fed it every `thin`-th of its values (`parts` partitions, `n`
    values in all), what that thinning adds (`thinned_error`)."""
    from datasketches import kll_doubles_sketch

    kll = float(kll_doubles_sketch.get_normalized_rank_error(K, False))
    return kll + (thinned_error(thin, parts, n) if thin > 1 else 0.0)


def thinned_error(thin: int, parts: int, n: int) -> float:
    """How far thinning moves a rank (a share of `n`): each partition's fed values sit within
    one uncrowded bin of their true ranks (at most 1/CROWD of its values, `order.py`), and
    each stands for about `thin` values; a rank counted in fed values is off by under 3 of
    them a partition (half a value's share, one more for the bin, one for rounding)."""
    return 1 / CROWD + 3 * parts * thin / max(n, 1)


def thinning(rows: int, parts: int) -> int:
    """How many of a partition's values each value fed to its KLL sketch stands for: the most
    (a power of two, at most THIN) that keeps that share of thinning's rank error within 2⁻¹²
    of the rows."""
    thin = THIN
    while thin > 1 and 3 * parts * thin > rows / 4096:
        thin //= 2
    return thin


def _plain(value: Any) -> Any:
    """A level as the profile keeps it (str, int, float, bool; anything else as text)."""
    return value if isinstance(value, (str, int, float, bool)) else str(value)


@dataclass
class NumericPartial:
    """A number column of some rows: `n` finite values, `missing` nulls and NaNs, `infinite`
    ±inf, their mean and sum of squared deviations (`m2`), extremes, value counts while at
    most DISCRETE distinct values (else None), a KLL sketch (bytes, or live once merged) fed
    one value for every `thin` of each of its `parts` partitions', and the `tail` smallest and
    largest values exactly (`low`, `high`: sorted arrays)."""

    n: int = 0
    missing: int = 0
    infinite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float | None = None
    max: float | None = None
    counts: dict[float, int] | None = field(default_factory=dict)
    kll: Any = None
    low: Any = None
    high: Any = None
    tail: int = 0
    thin: int = 1
    parts: int = 0
    kind: str = "numeric"

    def sketch(self) -> Any:
        """The live KLL sketch (made from the bytes on first use)."""
        from datasketches import kll_doubles_sketch

        if self.kll is None:
            self.kll = kll_doubles_sketch(K)
        elif isinstance(self.kll, bytes):
            self.kll = kll_doubles_sketch.deserialize(self.kll)
        return self.kll

    def merge(self, other: NumericPartial) -> NumericPartial:
        n = self.n + other.n
        if other.n and self.n:
            delta = other.mean - self.mean
            self.mean += delta * other.n / n
            self.m2 += other.m2 + delta * delta * self.n * other.n / n
        elif other.n:
            self.mean, self.m2 = other.mean, other.m2
        self.n, self.missing, self.infinite = n, self.missing + other.missing, \
            self.infinite + other.infinite
        self.min = _extreme(min, self.min, other.min)
        self.max = _extreme(max, self.max, other.max)
        if self.counts is None or other.counts is None:
            self.counts = None
        else:
            for value, count in other.counts.items():
                self.counts[value] = self.counts.get(value, 0) + count
            if len(self.counts) > DISCRETE:
                self.counts = None
        if other.n:
            if not self.parts:
                self.thin = other.thin
            self.parts += other.parts
            self.sketch().merge(other.sketch())
            self.tail = max(self.tail, other.tail)
            self.low = _ends(self.low, other.low, self.tail, smallest=True)
            self.high = _ends(self.high, other.high, self.tail, smallest=False)
        return self

    def exact_values(self) -> Any:
        """Every value, sorted, when the two tails hold them all (else None)."""
        import numpy as np

        if not self.n or len(self.low) + len(self.high) < self.n:
            return None
        return np.concatenate([self.low, self.high[len(self.low) + len(self.high) - self.n:]])

    def atoms(self) -> tuple[Any, Any]:
        """The sorted values as (value, how many) atoms: every value while the tails hold them
        all; the counts of a column with few distinct values; else the exact tails and, between
        them, the KLL sketch's quantile function read at STRATA × SAMPLES points (its iterator's
        weights are wrong after some merges in datasketches 5.1; its queries are not)."""
        import numpy as np

        values = self.exact_values()
        if values is not None:
            return values, np.ones(len(values))
        if self.counts is not None:
            ordered = sorted(self.counts.items())
            return (np.array([v for v, _ in ordered], dtype="float64"),
                    np.array([c for _, c in ordered], dtype="float64"))
        inner = self.n - len(self.low) - len(self.high)
        points = STRATA * SAMPLES
        ranks = (len(self.low) + (np.arange(points) + 0.5) * (inner / points)) / self.n
        curve = np.clip(np.array(self.sketch().get_quantiles(ranks), dtype="float64"),
                        self.low[-1], self.high[0])
        return (np.concatenate([self.low, curve, self.high]),
                np.concatenate([np.ones(len(self.low)), np.full(points, inner / points),
                                np.ones(len(self.high))]))

    def to_sketch(self) -> NumericSketch:
        """The drift sketch: the in-memory one itself for at most `tail` values or DISCRETE
        distinct values; else exact at both tails and within KLL's bound between."""
        import numpy as np

        missing = self.missing + self.infinite
        if self.n == 0:
            return NumericSketch(0, missing, None, None, None, None, np.empty(0), None, None)
        stats = dict(mean=self.mean, std=math.sqrt(self.m2 / self.n), min=self.min,
                     max=self.max)
        counts = None if self.counts is None else dict(sorted(self.counts.items()))
        values = self.exact_values()
        if values is not None and self.n <= STRATA:
            return NumericSketch(self.n, missing, means=values, edges=None, counts=counts,
                                 **stats)
        atoms, weights = self.atoms()
        means, edges = _weighted_strata(atoms, weights, self.n, self.mean, STRATA)
        return NumericSketch(self.n, missing, means=means, edges=edges, counts=counts, **stats)

    def quantiles(self, points: tuple[float, ...]) -> tuple[list[float], float]:
        """The values at `points` (shares from 0 to 1, numpy's linear interpolation between
        the sorted values) and their rank error: 0 when every value is known (few values, or
        few distinct ones), else KLL's."""
        import numpy as np

        values = self.exact_values()
        if values is not None:
            return np.quantile(values, points).tolist(), 0.0
        atoms, weights = self.atoms()
        upto = np.cumsum(weights)

        def order(i: np.ndarray) -> np.ndarray:  # the i-th smallest value (0-based)
            return atoms[np.minimum(np.searchsorted(upto, i, side="right"), len(atoms) - 1)]

        pos = np.asarray(points, dtype="float64") * (self.n - 1)
        base = np.floor(pos)
        found = order(base) + (pos - base) * (order(np.minimum(base + 1, self.n - 1))
                                              - order(base))
        return found.tolist(), (0.0 if self.counts is not None
                                else rank_error(self.thin, self.parts, self.n))

    def pack(self) -> NumericPartial:
        """Ready to travel: the KLL sketch as bytes."""
        if self.kll is not None and not isinstance(self.kll, bytes):
            self.kll = self.kll.serialize()
        return self


def _ends(mine: Any, theirs: Any, tail: int, smallest: bool) -> Any:
    """The `tail` smallest (or largest) of two sorted arrays of extreme values, sorted (a
    stable sort merges the two sorted runs in one pass)."""
    import numpy as np

    both = theirs if mine is None else np.sort(np.concatenate([mine, theirs]), kind="stable")
    return both[:tail] if smallest else both[max(0, len(both) - tail):]


def _extreme(pick: Any, a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else pick(a, b)


@dataclass
class CategoricalPartial:
    """A column of levels: `missing` nulls and each level's count (levels as `_plain` values)."""

    missing: int = 0
    counts: dict[Any, int] = field(default_factory=dict)
    kind: str = "categorical"

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: CategoricalPartial) -> CategoricalPartial:
        self.missing += other.missing
        for level, count in other.counts.items():
            self.counts[level] = self.counts.get(level, 0) + count
        return self

    def to_sketch(self) -> CategoricalSketch:
        text: dict[str, int] = {}
        for level, count in self.counts.items():
            text[str(level)] = text.get(str(level), 0) + count
        return pooled(text, self.missing)

    def pack(self) -> CategoricalPartial:
        return self


@dataclass
class DatetimePartial:
    """A column of times or durations: missing values and the extremes (arrow's integers in
    the column's unit)."""

    missing: int = 0
    min: int | None = None
    max: int | None = None
    unit: str = "ns"
    tz: str | None = None
    duration: bool = False
    kind: str = "datetime"

    def merge(self, other: DatetimePartial) -> DatetimePartial:
        self.missing += other.missing
        self.min = _extreme(min, self.min, other.min)
        self.max = _extreme(max, self.max, other.max)
        return self

    def text(self, value: int | None) -> str | None:
        """A value as the in-memory profile writes it (pandas' str of a Timestamp)."""
        import pandas as pd

        if value is None:
            return None
        if self.duration:
            return str(pd.Timedelta(value, unit=self.unit))
        stamp = pd.Timestamp(value, unit=self.unit)
        return str(stamp.tz_localize("UTC").tz_convert(self.tz) if self.tz else stamp)

    def pack(self) -> DatetimePartial:
        return self


Partial = NumericPartial | CategoricalPartial | DatetimePartial


def summarize_array(values: pa.ChunkedArray, kind: str, tail: int = TAIL, thin: int = 1,
                    scratch: Scratch | None = None) -> Partial:
    """The partial summary of one column's values in one partition (a number column keeps its
    `tail` smallest and largest values exactly, and feeds its KLL sketch every `thin`-th
    value in order; its working arrays come from `scratch`, reused column after column)."""
    import pyarrow as pa

    if kind == "numeric":
        return _numeric(values, tail, thin, scratch or Scratch())
    if kind == "datetime":
        import pyarrow.compute as pc

        extremes = pc.min_max(values)
        low, high = (extremes[end].cast(pa.int64()).as_py() if extremes[end].is_valid
                     else None for end in ("min", "max"))
        return DatetimePartial(values.null_count, low, high, values.type.unit,
                               getattr(values.type, "tz", None),
                               pa.types.is_duration(values.type))
    return _levels(values)


def _floats(values: pa.ChunkedArray, out: Any) -> Any:
    """A float64 column as one numpy array (written into `out`), nulls as NaN, read from
    arrow's buffers (its own conversions import pandas: a worker's memory spent for
    nothing)."""
    import numpy as np

    at = 0
    for chunk in values.chunks:
        size = len(chunk)
        validity, data = chunk.buffers()[:2]
        if not size:
            continue
        if data is None:  # all nulls
            out[at:at + size] = np.nan
        else:
            out[at:at + size] = np.frombuffer(data, dtype="float64", count=size,
                                              offset=chunk.offset * 8)
            if chunk.null_count:
                bits = np.unpackbits(np.frombuffer(validity, dtype="uint8"), bitorder="little")
                out[at:at + size][bits[chunk.offset:chunk.offset + size] == 0] = np.nan
        at += size
    return out


def _numeric(values: pa.ChunkedArray, tail: int, thin: int, scratch: Scratch) -> NumericPartial:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from datasketches import kll_doubles_sketch

    size = len(values)
    array = _floats(pc.cast(values, pa.float64(), safe=False), scratch.get("floats", size))
    finite = np.isfinite(array, out=scratch.get("finite", size, "bool"))
    missing = infinite = 0
    if not finite.all():
        missing = int(np.isnan(array).sum())
        infinite = size - int(finite.sum()) - missing
        array = np.compress(finite, array, out=scratch.get("kept", size - missing - infinite))
    n = len(array)
    out = NumericPartial(n, missing, infinite, tail=tail, thin=thin, parts=int(n > 0))
    if not n:
        return out
    out.mean = float(array.mean())
    centred = np.subtract(array, out.mean, out=scratch.get("keys", n))  # Ordered reuses it
    out.m2 = float(centred @ centred)
    out.counts = None
    ordered = Ordered(array, scratch, tail)
    out.low, out.high = ordered.smallest(tail), ordered.largest(tail)
    out.min, out.max = float(out.low[0]), float(out.high[-1])
    # binned with no crowded bin, a column has over DISCRETE distinct values; else it may
    if not ordered.spread() and len(np.unique(array[:4096])) <= DISCRETE:  # count exactly
        levels, counts = np.unique(array, return_counts=True)
        if len(levels) <= DISCRETE:
            out.counts = dict(zip(levels.tolist(), counts.tolist(), strict=True))
    sketch = kll_doubles_sketch(K)
    if thin == 1:
        sketch.update(array)
    else:  # evenly spaced ranks, a batch at a time (small batches reuse freed memory)
        fed = round(n / thin)
        for start in range(0, fed, FEED):
            at = np.arange(start, min(fed, start + FEED)) + 0.5
            sketch.update(ordered.at((at * (n / fed)).astype("int64")))
    out.kll = sketch.serialize()
    return out


def _levels(values: pa.ChunkedArray) -> CategoricalPartial:
    import pyarrow as pa
    import pyarrow.compute as pc

    out = CategoricalPartial(values.null_count)
    try:
        found = pc.value_counts(values)
        pairs = zip(found.field("values").to_pylist(), found.field("counts").to_pylist(),
                    strict=True)
    except pa.ArrowNotImplementedError:  # nested values: counted by their text
        from collections import Counter

        pairs = Counter(str(v) for v in values.to_pylist() if v is not None).items()
    for level, count in pairs:
        if level is not None:
            key = _plain(level)
            out.counts[key] = out.counts.get(key, 0) + int(count)
    return out


def summarize_partition(part: Partition, kinds: dict[str, str],
                        pairs: tuple[str, str] | None = None, tail: int = TAIL,
                        thin: int = 1, *, threads: int = 1) -> dict[str, Any]:
    """What the partition `part` knows of each column (`kinds`: column → numeric, categorical
    or datetime; a number column keeps its `tail` smallest and largest values and feeds its
    sketch every `thin`-th value in order), read one column at a time (`threads` columns at
    once, each its own reader; with one, the next column is read while this one is
    summarized), and with `pairs` (actuals, predictions columns) their performance counts:
    {"rows": …, "columns": {name: partial}, "pairs": …}, small enough to send back from a
    worker."""
    keys = dict(part.keys)
    local = threading.local()  # each thread its own scratch arrays

    def summarized(name: str, values: pa.ChunkedArray | None) -> Partial:
        if values is None:  # a hive key: one level for the whole partition
            return CategoricalPartial(0, {_plain(keys[name]): part.rows})
        if not hasattr(local, "scratch"):
            local.scratch = Scratch()
        return summarize_array(values, kinds[name], tail, thin, local.scratch).pack()

    def read(handle: Any, name: str) -> pa.ChunkedArray | None:
        return None if name in keys else part.read(handle, name)

    def own_reader(name: str) -> Partial:
        with part.reader() as handle:
            return summarized(name, read(handle, name))

    names = list(kinds)
    columns = {}
    if threads > 1 and len(names) > 1:
        with ThreadPoolExecutor(min(threads, len(names))) as pool:
            columns = dict(zip(names, pool.map(own_reader, names), strict=True))
    elif names:
        part.prefetch()
        with part.reader() as handle, ThreadPoolExecutor(1) as ahead:
            coming = ahead.submit(read, handle, names[0])
            for name, after in zip(names, [*names[1:], None], strict=True):
                values = coming.result()
                if after is not None:
                    coming = ahead.submit(read, handle, after)
                columns[name] = summarized(name, values)
                del values
    out = {"rows": part.rows, "columns": columns}
    if pairs is not None:
        from .performance import pair_counts

        with part.reader() as handle:
            actual, predicted = (_column(part, handle, name).to_pandas() for name in pairs)
        out["pairs"] = pair_counts(actual, predicted)
    import pyarrow as pa

    pa.default_memory_pool().release_unused()  # what arrow keeps cached goes back now
    return out


def _column(part: Partition, handle: Any, name: str) -> pa.ChunkedArray:
    """A column of the partition, a hive key's single value repeated included."""
    keys = dict(part.keys)
    if name not in keys:
        return part.read(handle, name)
    import pyarrow as pa

    return pa.chunked_array([pa.repeat(pa.scalar(keys[name]), part.rows)])


def merge(total: dict[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """Fold one partition's summary into the total (None at first)."""
    if total is None:
        return part
    total["rows"] += part["rows"]
    for name, partial in part["columns"].items():
        total["columns"][name].merge(partial)
    if "pairs" in part:
        total["pairs"].merge(part["pairs"])
    return total


def summarize_partitioned(data: Partitioned, columns: list[str] | None = None,
                          executor: Any = None, pairs: tuple[str, str] | None = None
                          ) -> dict[str, Any]:
    """The merged summaries of `columns` (default: all) of a partitioned dataset (and, with
    `pairs`, the performance counts of those (actuals, predictions) columns), computed a
    partition at a time here or one task per partition on a Dask cluster (`executor`)."""
    from ..data.partitions import run_partitions

    names = data.columns if columns is None else columns
    kinds = {name: data.kind(name) for name in names}
    # tails hold the extreme stratum (1/STRATA of the rows) up to TAIL values, and all of a
    # column of at most 2 × STRATA values
    tail = min(TAIL, max(STRATA, -(-data.rows // STRATA)))
    thin = thinning(data.rows, len(data.partitions))
    return run_partitions(summarize_partition, data, merge, kinds, pairs, tail, thin,
                          executor=executor, desc="summarizing partitions")


def sketch_partitioned(data: Partitioned, columns: list[str] | None = None,
                       executor: Any = None, source: str | None = None) -> Reference:
    """The drift sketches of a partitioned dataset's columns (default: all but dates and
    durations; naming one is an error, as for a DataFrame)."""
    names = [c for c in data.columns if data.kind(c) != "datetime"] if columns is None \
        else list(columns)
    if not names:
        raise MLOpsUsageError("there are no columns to summarize")
    dated = [c for c in names if data.kind(c) == "datetime"]
    if dated:
        raise MLOpsUsageError(f"column {dated[0]!r} holds dates or durations: drift is "
                              "measured on numbers and categories (convert it, or leave it out)")
    total = summarize_partitioned(data, names, executor)
    sketches: dict[str, Sketch] = {name: total["columns"][name].to_sketch() for name in names}
    return Reference(sketches, total["rows"], source or data.source)
