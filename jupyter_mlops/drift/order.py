"""Order statistics of a large number column without sorting it: what a partition's summary
needs (its extreme values exactly, and values at evenly spaced ranks to feed the KLL sketch),
in a few passes over the column instead of a sort or a sketch update per value.

The values between two quantiles of an evenly spaced sample (beyond the extremes the caller
needs exactly, at least the 0.05 % and 99.95 % ones) fall into BINS equal bins, on the values'
own scale or, when the sample says that crowds fewer of them (a long right tail: lognormal,
gamma), on a log-like scale (the float's bits read as an integer, which orders the same way).
The values outside that range, and those of any bin holding more than `len(values) / CROWD`
of them, are known exactly: a crowded bin whose values are all equal (integers, a point mass)
is that value; any other is sorted. A value asked for by rank
is then either exact or placed inside the bin that holds the true one, so its true rank is
within one uncrowded bin's count, at most `len(values) / CROWD`, of the rank asked for.

The column-sized working arrays come from a `Scratch` reused from column to column: a Dask
worker's allocator returns freed memory at once (Dask sets MALLOC_TRIM_THRESHOLD_), so fresh
temporaries would be mapped and zeroed again for every column, doubling the time.
"""

from __future__ import annotations

from typing import Any

BINS = 1 << 18  # equal bins between two of the sample's quantiles
SORTED_UPTO = 1 << 16  # a column of at most this many values is simply sorted
CROWD = 1 << 15  # a bin with more than len(values) / CROWD values is known exactly
SAMPLE = 8192  # about this many evenly spaced values choose the range and the scale
SPREAD = 1e-6  # a range narrower than this share of the values' size is sorted instead
SIGN = 0x7FFF_FFFF_FFFF_FFFF  # flips a negative float's bits into integer order


class Scratch:
    """Working arrays kept between columns, one per name, grown when a column is longer."""

    def __init__(self) -> None:
        self._arrays: dict[str, Any] = {}

    def get(self, name: str, size: int, dtype: str = "float64") -> Any:
        import numpy as np

        have = self._arrays.get(name)
        if have is None or len(have) < size:
            have = self._arrays[name] = np.empty(size, dtype)
        return have[:size]


def _bits(values: Any, out: Any) -> Any:
    """A float64 array's bits as integers that sort as the floats do, written into the int64
    array `out`: a scale logarithmic across binades and linear within each."""
    import numpy as np

    np.copyto(out, values.view("int64"))
    np.bitwise_xor(out, SIGN, out=out, where=out < 0)
    return out


def _from_bits(keys: Any) -> Any:
    """The floats whose `_bits` are (about) `keys`."""
    import numpy as np

    raw = keys.astype("int64")
    return np.bitwise_xor(raw, SIGN, out=raw, where=raw < 0).view("float64")


def _crowded_share(sample: Any, total: int) -> float:
    """About what share of `total` values distributed as the sorted `sample` (already on the
    scale to judge) would fall into crowded bins between the sample's ends."""
    import numpy as np

    width = (sample[-1] - sample[0]) / BINS
    step = 8
    gaps = sample[step:] - sample[:-step]
    with np.errstate(divide="ignore", invalid="ignore"):  # no spread: judged by the range
        per_bin = total * (step / len(sample)) * width / gaps
    return float(np.mean(per_bin > total // CROWD))


class Ordered:
    """The finite float64 `values` of a column, arranged to answer order statistics: sorted
    when small (or without spread), else in bins with the crowded ones known exactly. Bins
    start above the `tail` smallest values and end below the `tail` largest (with a margin),
    so those come sorted with the values outside the bins. Built on a `scratch`, it holds
    that scratch's arrays: it answers until the next one is built on it."""

    def __init__(self, values: Any, scratch: Scratch | None = None, tail: int = 0):
        import numpy as np

        self.n = n = len(values)
        self.values = values
        self.sorted: Any = None
        if n <= SORTED_UPTO or not self._bin(values, scratch or Scratch(), tail):
            self.sorted = np.sort(values)

    def _bin(self, values: Any, scratch: Scratch, tail: int) -> bool:
        """Bin the values; False when the sample shows too little spread for bins that float64
        can place a value surely inside."""
        import numpy as np

        n = self.n
        sample = np.sort(values[:: max(1, n // SAMPLE)])
        outside = min(0.25, max(0.0005, 1.5 * tail / n))  # a share of the values each side
        ends = sample[[int(len(sample) * outside),
                       min(len(sample) - 1, int(len(sample) * (1 - outside)))]]
        inner = sample[(sample >= ends[0]) & (sample <= ends[1])]
        self.log = bool(_crowded_share(_bits(inner, np.empty(len(inner), "int64"))
                                       .astype("float64"), n) < _crowded_share(inner, n))
        lo, hi = (_bits(ends, np.empty(2, "int64")).astype("float64") if self.log else ends)
        self.lo, top = float(lo), float(hi)
        if not top - self.lo > SPREAD * max(abs(self.lo), abs(top)):
            return False
        self.scale = scale = BINS / (top - self.lo)
        # slot 0: below the range; 1..BINS: the bins; BINS + 1: at or above its top
        keys, slots = scratch.get("keys", n), scratch.get("slots", n, "int64")
        if self.log:
            np.copyto(keys, _bits(values, slots))
            keys *= scale
        else:
            np.multiply(values, scale, out=keys)
        keys += 1 - self.lo * scale
        np.clip(keys, 0, BINS + 1, out=keys)
        np.copyto(slots, keys, casting="unsafe")
        self.slots = slots
        self.counts = counts = scratch.get("counts", BINS + 2, "int64")
        counts.fill(0)
        np.add.at(counts, slots, 1)  # as bincount does, into a reused array
        self.upto = np.cumsum(counts, out=scratch.get("upto", BINS + 2, "int64"))
        crowded = np.greater(counts, n // CROWD, out=scratch.get("crowded", BINS + 2, "bool"))
        self._mask = mask = scratch.get("mask", n, "bool")
        self.same: Any = None
        if not crowded[1:-1].any():  # only the values outside the bins are sorted
            np.equal(slots, 0, out=mask)
            mask |= np.equal(slots, BINS + 1, out=scratch.get("members", n, "bool"))
            self.exact = np.sort(values[mask])
            return True
        # a crowded bin whose values are all equal is that value; the others are sorted
        crowded[0] = crowded[-1] = True
        members = np.take(crowded, slots, out=mask)
        kept, kept_slots = values[members], slots[members]
        self.same = same = scratch.get("same", BINS + 2)
        same.fill(np.nan)
        same[kept_slots] = kept
        apart = scratch.get("apart", BINS + 2)
        apart.fill(0)
        np.add.at(apart, kept_slots, np.abs(kept - same[kept_slots]))
        same[(apart != 0) | ~crowded] = np.nan
        same[[0, -1]] = np.nan
        self.sorted_slot = np.logical_and(crowded, np.isnan(same),
                                          out=scratch.get("sorted_slot", BINS + 2, "bool"))
        taken = np.multiply(counts, self.sorted_slot, out=scratch.get("taken", BINS + 2,
                                                                      "int64"))
        self.exact_before = np.cumsum(taken, out=scratch.get("before", BINS + 2, "int64"))
        self.exact_before -= taken  # sorted values before each slot's
        self.exact = np.sort(kept[self.sorted_slot[kept_slots]])
        return True

    def spread(self) -> bool:
        """Binned with no bin crowded: so many distinct values that no bin holds more than
        `len(values) / CROWD` of them."""
        return self.sorted is None and self.same is None

    def at(self, ranks: Any) -> Any:
        """The values at 0-based `ranks` (integers): exact from a crowded bin, else inside the
        true value's bin (placed by the rank's position among the bin's values)."""
        import numpy as np

        ranks = np.asarray(ranks, dtype="int64")
        if self.sorted is not None:
            return self.sorted[ranks]
        slot = np.searchsorted(self.upto, ranks, side="right")
        within = ranks - (self.upto[slot] - self.counts[slot])
        share = np.clip((within + 0.5) / np.maximum(self.counts[slot], 1), 0.01, 0.99)
        out = self.lo + (slot - 1 + share) / self.scale
        if self.log:
            out = _from_bits(out)
        if self.same is None:  # exact: the values below and above the bins
            below, above = slot == 0, slot == BINS + 1
            out[below] = self.exact[within[below]]
            out[above] = self.exact[self.counts[0] + within[above]]
            return out
        same = self.same[slot]
        known = ~np.isnan(same)
        out[known] = same[known]
        exact = self.sorted_slot[slot]
        out[exact] = self.exact[self.exact_before[slot[exact]] + within[exact]]
        return out

    def smallest(self, count: int) -> Any:
        """The `count` smallest values, sorted, exactly."""
        import numpy as np

        count = min(count, self.n)
        if self.sorted is not None:
            return self.sorted[:count].copy()
        if count <= self.counts[0]:  # all below the bins: the first sorted ones
            return self.exact[:count].copy()
        last = int(np.searchsorted(self.upto, count - 1, side="right"))
        below = self.values[np.less_equal(self.slots, last, out=self._mask)]
        return np.sort(np.partition(below, count - 1)[:count])

    def largest(self, count: int) -> Any:
        """The `count` largest values, sorted, exactly."""
        import numpy as np

        count = min(count, self.n)
        if self.sorted is not None:
            return self.sorted[self.n - count:].copy()
        if count <= self.counts[-1]:  # all above the bins: the last sorted ones
            return self.exact[len(self.exact) - count:].copy()
        first = int(np.searchsorted(self.upto, self.n - count, side="right"))
        above = self.values[np.greater_equal(self.slots, first, out=self._mask)]
        return np.sort(np.partition(above, len(above) - count)[len(above) - count:])
