"""Whether a reproduction's metrics are the original's: each metric of either run, its latest
value, equal when |original - reproduced| <= tolerance * max(1, |original|) (relative for
large values, absolute near zero), NaN equal to NaN, an infinity to the same infinity; a
metric only one of the runs has differs. Wall-clock timings are not compared: the metrics
whose key ends in `_time_s`, the library's name for them (autolog's `fit_time_s`, AutoML's
`search_time_s`), which no replay repeats."""

from __future__ import annotations

import math

TIMING = "_time_s"


def equal(a: float, b: float, tolerance: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    if math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= tolerance * max(1.0, abs(a))


def metric_differences(original: dict[str, float], reproduced: dict[str, float],
                       tolerance: float) -> dict[str, tuple[float | None, float | None]]:
    """{metric: (original, reproduced)} for each metric that differs (None: the run lacks it),
    in key order."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for key in sorted(k for k in set(original) | set(reproduced) if not k.endswith(TIMING)):
        a, b = original.get(key), reproduced.get(key)
        if a is None or b is None or not equal(a, b, tolerance):
            out[key] = (a, b)
    return out


def timings(original: dict[str, float], reproduced: dict[str, float]) -> list[str]:
    """The metrics left out of the comparison as wall-clock timings."""
    return sorted(k for k in set(original) | set(reproduced) if k.endswith(TIMING))
