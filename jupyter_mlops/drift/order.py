"""Order statistics of a large number column without sorting it: what a partition's summary
needs (its extreme values exactly, and values at evenly spaced ranks to feed the KLL sketch),
in a few passes over the column instead of a sort or a sketch update per value.

The values between the 0.05 % and 99.95 % quantiles of an evenly spaced sample fall into BINS
equal bins, on the values' own scale or, when the sample says that crowds fewer of them (a
long right tail: lognormal, gamma), on a log-like scale (the float's bits read as an integer,
which orders the same way). The values outside that range, and those of any bin holding more
than `len(values) / CROWD` of them, are known exactly: a crowded bin whose values are all
equal (integers, a point mass) is that value; any other is sorted. A value asked for by rank
is then either exact or placed inside the bin that holds the true one, so its true rank is
within one uncrowded bin's count, at most `len(values) / CROWD`, of the rank asked for.
"""

from __future__ import annotations

from typing import Any

BINS = 1 << 18  # equal bins between the sample's 0.05 % and 99.95 % quantiles
SORTED_UPTO = 1 << 16  # a column of at most this many values is simply sorted
CROWD = 1 << 15  # a bin with more than len(values) / CROWD values is known exactly
SAMPLE = 16_384  # about this many evenly spaced values choose the range and the scale
SPREAD = 1e-6  # a range narrower than this share of the values' size is sorted instead


def _bits(values: Any) -> Any:
    """A float64 array's bits as integers that sort as the floats do, as float64: a scale
    that is logarithmic across binades and linear within each."""
    import numpy as np

    raw = values.view("int64")
    return np.where(raw < 0, raw ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), raw).astype("float64")


def _crowded_share(sample: Any, total: int) -> float:
    """About what share of `total` values distributed as the sorted `sample` (already on the
    scale to judge) would fall into crowded bins between the sample's ends."""
    import numpy as np

    width = (sample[-1] - sample[0]) / BINS
    step = 8
    gaps = sample[step:] - sample[:-step]
    with np.errstate(divide="ignore"):
        per_bin = total * (step / len(sample)) * width / gaps
    return float(np.mean(per_bin > total // CROWD))


class Ordered:
    """The finite float64 `values` of a column, arranged to answer order statistics: sorted
    when small (or without spread), else in bins with the crowded ones known exactly."""

    def __init__(self, values: Any):
        import numpy as np

        self.n = n = len(values)
        self.values = values
        self.sorted: Any = None
        if n <= SORTED_UPTO or not self._bin(values):
            self.sorted = np.sort(values)

    def _bin(self, values: Any) -> bool:
        """Bin the values; False when the sample shows too little spread for bins that float64
        can place a value surely inside."""
        import numpy as np

        n = self.n
        sample = np.sort(values[:: max(1, n // SAMPLE)])
        ends = sample[[int(len(sample) * 0.0005), min(len(sample) - 1,
                                                        int(len(sample) * 0.9995))]]
        lo, hi = float(ends[0]), float(ends[1])
        if not hi - lo > SPREAD * max(abs(lo), abs(hi)):
            return False
        inner = sample[(sample >= lo) & (sample <= hi)]
        self.log = _crowded_share(_bits(inner), n) < _crowded_share(inner, n)
        keys = _bits(values) if self.log else values - 0.0
        self.lo, self.hi = (float(k) for k in (_bits(ends) if self.log else ends))
        if not self.hi - self.lo > SPREAD * max(abs(self.lo), abs(self.hi)):
            return False
        self.scale = scale = BINS / (self.hi - self.lo)
        # slot 0: below the range; 1..BINS: the bins; BINS + 1: at or above its top
        keys -= self.lo
        keys *= scale
        np.floor(keys, out=keys)
        np.clip(keys, -1, BINS, out=keys)
        slots = keys.astype("int64")
        del keys
        slots += 1
        self.slots = slots
        self.counts = counts = np.bincount(slots, minlength=BINS + 2)
        self.upto = np.cumsum(counts)
        crowded = counts > n // CROWD
        crowded[0] = crowded[-1] = True
        # a crowded bin whose values are all equal is that value; the others are sorted
        members = crowded[slots]
        kept, kept_slots = values[members], slots[members]
        self.same = np.full(BINS + 2, np.nan)
        self.same[kept_slots] = kept
        apart = np.bincount(kept_slots, weights=np.abs(kept - self.same[kept_slots]),
                            minlength=BINS + 2)
        self.same[(apart != 0) | ~crowded] = np.nan
        self.same[[0, -1]] = np.nan
        self.sorted_slot = crowded & np.isnan(self.same)
        taken = np.where(self.sorted_slot, counts, 0)
        self.exact_before = np.cumsum(taken) - taken  # sorted values before each slot's
        self.exact = np.sort(kept[self.sorted_slot[kept_slots]])
        return True

    def _place(self, slot: Any, share: Any) -> Any:
        """The value a share of the way through `slot`'s bin."""
        import numpy as np

        key = self.lo + (slot - 1 + share) / self.scale
        if not self.log:
            return key
        raw = key.astype("int64")
        return np.where(raw < 0, raw ^ np.int64(0x7FFF_FFFF_FFFF_FFFF), raw).view("float64")

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
        out = self._place(slot, share)
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
        if count == 0:
            return np.empty(0)
        last = int(np.searchsorted(self.upto, count - 1, side="right"))
        below = self.values[self.slots <= last]
        return np.sort(np.partition(below, count - 1)[:count])

    def largest(self, count: int) -> Any:
        """The `count` largest values, sorted, exactly."""
        import numpy as np

        count = min(count, self.n)
        if self.sorted is not None:
            return self.sorted[self.n - count:].copy()
        if count == 0:
            return np.empty(0)
        first = int(np.searchsorted(self.upto, self.n - count, side="right"))
        above = self.values[self.slots >= first]
        return np.sort(np.partition(above, len(above) - count)[len(above) - count:])
