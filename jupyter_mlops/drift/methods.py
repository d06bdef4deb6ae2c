"""Drift statistics computed from two column sketches, a registry of them by name, and the
automatic choice.

The built-in methods and their default thresholds are Evidently's (so verdicts compare):
normalized Wasserstein distance (>= 0.1), two-sample Kolmogorov-Smirnov (p < 0.05),
Jensen-Shannon distance (>= 0.1, natural log), chi-squared (p < 0.05), two-proportion z-test
(p < 0.05) and PSI (>= 0.1), with Evidently's binning (value counts for few distinct values,
else Sturges equal-width bins over both samples' range). `auto` chooses as Evidently does: by
the reference's size (up to 1,000 values: the tests; more: the distances, which do not flag
every column of a large sample for a negligible change) and the number of distinct values.
More methods plug in with `register_method` or the entry-point group
`jupyter_mlops.drift_methods` (each entry point names a `Method`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import MLOpsUsageError
from .sketch import NumericSketch, Sketch

if TYPE_CHECKING:
    import numpy as np

SMALL = 1000  # a reference with at most this many values is tested, a larger one measured
FEW = 5  # at most this many distinct values (both samples together): treated as categories


@dataclass(frozen=True)
class Method:
    """A drift statistic: `fn(reference, current)` → a number; drift when it is at least
    `threshold`, or, for a p-value (`pvalue=True`), below it."""

    name: str
    label: str
    fn: Callable[[Sketch, Sketch], float]
    threshold: float
    pvalue: bool = False
    kinds: tuple[str, ...] = ("numeric", "categorical")

    def drifted(self, statistic: float, threshold: float) -> bool:
        if math.isnan(statistic):
            return False
        return statistic < threshold if self.pvalue else statistic >= threshold


_METHODS: dict[str, Method] = {}
_loaded_plugins = False


def register_method(method: Method) -> Method:
    """Make `method` available by its name (replacing one of the same name)."""
    if not isinstance(method, Method):
        raise MLOpsUsageError(f"register_method takes a Method, not a {type(method).__name__}")
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    global _loaded_plugins
    if name not in _METHODS and not _loaded_plugins:
        from importlib.metadata import entry_points

        _loaded_plugins = True
        for ep in entry_points(group="jupyter_mlops.drift_methods"):
            register_method(ep.load())
    if name not in _METHODS:
        raise MLOpsUsageError(f"unknown drift method {name!r} (known: auto, "
                              f"{', '.join(sorted(_METHODS))})")
    return _METHODS[name]


def method_names() -> list[str]:
    return sorted(_METHODS)


def distinct_union(ref: Sketch, cur: Sketch) -> int | None:
    """Distinct values of both samples together, when both sketches count them."""
    a, b = ref.counts, cur.counts
    if a is None or b is None:
        return None
    return len(set(a) | set(b))


def choose(ref: Sketch, cur: Sketch) -> str:
    """Evidently's default choice for a column (by reference size and distinct values)."""
    union = distinct_union(ref, cur)
    few = union is not None and union <= FEW
    if ref.kind == "numeric" and not few:
        return "ks" if ref.n <= SMALL else "wasserstein"
    if ref.n <= SMALL:
        return "chisquare" if union is None or union > 2 else "z"
    return "jensenshannon"


def _step_w1(a: NumericSketch, b: NumericSketch) -> float:
    """Wasserstein-1 distance between the two quantile step functions (stratum means)."""
    import numpy as np

    ma, mb = len(a.means), len(b.means)
    u = np.union1d(np.linspace(0.0, 1.0, ma + 1), np.linspace(0.0, 1.0, mb + 1))
    mid = (u[:-1] + u[1:]) / 2
    ia = np.minimum((mid * ma).astype("int64"), ma - 1)
    ib = np.minimum((mid * mb).astype("int64"), mb - 1)
    return float(np.sum(np.diff(u) * np.abs(a.means[ia] - b.means[ib])))


def wasserstein(ref: Sketch, cur: Sketch) -> float:
    """Wasserstein distance divided by the reference's standard deviation (at least 0.001)."""
    return _step_w1(ref, cur) / max(ref.std or 0.0, 0.001)


def _support(sketch: NumericSketch) -> np.ndarray:
    return sketch.means if sketch.edges is None else sketch.edges


def ks(ref: Sketch, cur: Sketch) -> float:
    """Two-sided two-sample KS p-value: exact data through scipy; otherwise the largest CDF
    gap over both sketches' quantiles, with the asymptotic distribution."""
    import numpy as np
    from scipy import stats

    if ref.exact and cur.exact:
        return float(stats.ks_2samp(ref.means, cur.means).pvalue)
    points = np.concatenate([_support(ref), _support(cur)])
    gap = max(float(np.max(np.abs(ref.cdf(points) - cur.cdf(points)))),
              float(np.max(np.abs(ref.cdf(points, strict=True) - cur.cdf(points, strict=True)))))
    en = round(ref.n * cur.n / (ref.n + cur.n))
    return float(stats.kstwo.sf(gap, max(en, 1)))


def _binned(ref: Sketch, cur: Sketch) -> tuple[np.ndarray, np.ndarray]:
    """Shares of each sample per level (few distinct values) or per Sturges bin."""
    import numpy as np

    if ref.kind == "categorical" or (ref.counts is not None and len(ref.counts) <= 20
                                     and cur.counts is not None):
        keys = list(set(ref.counts) | set(cur.counts))
        p = np.array([ref.counts.get(k, 0) for k in keys], dtype="float64") / ref.n
        q = np.array([cur.counts.get(k, 0) for k in keys], dtype="float64") / cur.n
        return p, q
    lo, hi = min(ref.min, cur.min), max(ref.max, cur.max)
    bins = math.ceil(math.log2(ref.n + cur.n)) + 1
    if hi <= lo:
        return np.ones(1), np.ones(1)
    inner = np.linspace(lo, hi, bins + 1)[1:-1]
    p = np.diff(np.concatenate([[0.0], ref.cdf(inner, strict=True), [1.0]]))
    q = np.diff(np.concatenate([[0.0], cur.cdf(inner, strict=True), [1.0]]))
    return np.clip(p, 0.0, None), np.clip(q, 0.0, None)


def jensenshannon(ref: Sketch, cur: Sketch) -> float:
    """Jensen-Shannon distance (natural log) between the binned shares."""
    from scipy.spatial import distance

    p, q = _binned(ref, cur)
    return float(distance.jensenshannon(p, q))


def _fill_zeros(shares: np.ndarray) -> np.ndarray:
    """Evidently's stand-in for an empty bin: 1e-4, or a millionth of the smallest share."""
    import numpy as np

    smallest = shares[shares > 0].min() if (shares > 0).any() else 1.0
    return np.where(shares == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, shares)


def psi(ref: Sketch, cur: Sketch) -> float:
    """Population stability index over the binned shares (empty bins count as tiny)."""
    import numpy as np

    p, q = _binned(ref, cur)
    p, q = _fill_zeros(p), _fill_zeros(q)
    return float(np.sum((p - q) * np.log(p / q)))


def _need_counts(ref: Sketch, cur: Sketch, method: str) -> tuple[dict, dict]:
    if ref.counts is None or cur.counts is None:
        raise MLOpsUsageError(f"{method} compares counts of values: it needs a column with at "
                              "most 20 distinct values (use ks or wasserstein for numbers)")
    return ref.counts, cur.counts


def chisquare(ref: Sketch, cur: Sketch) -> float:
    """Chi-squared goodness-of-fit p-value of the current counts against the reference's
    shares (a level the reference never had makes it 0)."""
    import numpy as np
    from scipy import stats

    a, b = _need_counts(ref, cur, "chisquare")
    keys = list(set(a) | set(b))
    expected = np.array([a.get(k, 0) for k in keys], dtype="float64") * (cur.n / ref.n)
    observed = np.array([b.get(k, 0) for k in keys], dtype="float64")
    if len(keys) < 2:
        return 1.0
    if np.any((expected == 0) & (observed > 0)):
        return 0.0
    keep = expected > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(stats.chisquare(observed[keep], expected[keep]).pvalue)


def ztest(ref: Sketch, cur: Sketch) -> float:
    """Two-proportion z-test p-value for a column with two values."""
    from scipy import stats

    a, b = _need_counts(ref, cur, "z")
    keys = sorted(set(a) | set(b), key=str)
    if len(keys) > 2:
        raise MLOpsUsageError(f"the z-test compares two values; this column has {len(keys)}")
    p1, p2 = a.get(keys[0], 0) / ref.n, b.get(keys[0], 0) / cur.n
    pooled = (p1 * ref.n + p2 * cur.n) / (ref.n + cur.n)
    spread = pooled * (1 - pooled) * (1 / ref.n + 1 / cur.n)
    if spread <= 0:
        return 1.0
    return float(2 * stats.norm.sf(abs(p1 - p2) / math.sqrt(spread)))


for _m in (
    Method("wasserstein", "Wasserstein distance (normalized)", wasserstein, 0.1,
           kinds=("numeric",)),
    Method("ks", "K-S p-value", ks, 0.05, pvalue=True, kinds=("numeric",)),
    Method("jensenshannon", "Jensen-Shannon distance", jensenshannon, 0.1),
    Method("chisquare", "chi-square p-value", chisquare, 0.05, pvalue=True),
    Method("z", "Z-test p-value", ztest, 0.05, pvalue=True),
    Method("psi", "PSI", psi, 0.1),
):
    register_method(_m)
