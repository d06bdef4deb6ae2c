"""Whether a reproduction's metrics are the original's: each metric of either run, its latest
value, equal when |original - reproduced| <= tolerance * max(1, |original|) (relative for
large values, absolute near zero), NaN equal to NaN, an infinity to the same infinity; a
metric only one of the runs has differs."""

from __future__ import annotations

import math


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
    for key in sorted(set(original) | set(reproduced)):
        a, b = original.get(key), reproduced.get(key)
        if a is None or b is None or not equal(a, b, tolerance):
            out[key] = (a, b)
    return out
