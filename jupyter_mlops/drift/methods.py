"""Drift statistics computed from two column sketches, a registry of them by name, and the
presets that choose one per column.

Preset `auto` (the default) asks two things of a column: that it moved by an amount that
matters (an effect size at least its minimum: the Wasserstein distance over the reference's
standard deviation for numbers, the Jensen-Shannon distance for categories) and that the move
is not sampling noise (a two-sample test rejecting at ALPHA: Kolmogorov-Smirnov for numbers,
Pearson's chi-squared test of homogeneity for categories). The test keeps false alarms rare
on small samples, where noise alone makes large effects; the minimum keeps them rare on large
ones, where a test rejects for any difference at all.

Preset `evidently` chooses as Evidently does, with its methods and thresholds (so verdicts
compare): normalized Wasserstein distance (>= 0.1), two-sample Kolmogorov-Smirnov (p < 0.05),
Jensen-Shannon distance (>= 0.1, natural log), chi-squared (p < 0.05), two-proportion z-test
(p < 0.05) and PSI (>= 0.1), with Evidently's binning (value counts for few distinct values,
else Sturges equal-width bins over both samples' range), by the reference's size (up to 1,000
values: the tests; more: the distances) and the number of distinct values.
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

SMALL = 1000  # evidently: a reference with at most this many values is tested, a larger one measured
FEW = 5  # at most this many distinct values (both samples together): treated as categories
ALPHA = 0.001  # auto: the level of its tests
MIN_WASSERSTEIN = 0.05  # auto: the smallest move of a number that is drift, in reference sds
MIN_JENSENSHANNON = 0.03  # auto: the smallest Jensen-Shannon distance of categories that is drift
POOLED_BELOW = 5.0  # chi2: levels expected fewer times than this in a sample are pooled
PRESETS = ("auto", "evidently")


@dataclass(frozen=True)
class Method:
    """A drift statistic: `fn(reference, current)` → a number; drift when it is at least
    `threshold`, or, for a p-value (`pvalue=True`), below it. With a `test` (a p-value of
    its own), drift also needs that p-value below `alpha`."""

    name: str
    label: str
    fn: Callable[[Sketch, Sketch], float]
    threshold: float
    pvalue: bool = False
    kinds: tuple[str, ...] = ("numeric", "categorical")
    test: Callable[[Sketch, Sketch], float] | None = None
    alpha: float | None = None

    def measure(self, ref: Sketch, cur: Sketch) -> tuple[float, float | None]:
        """The statistic and, for a method with a test, its p-value."""
        return self.fn(ref, cur), (None if self.test is None else self.test(ref, cur))

    def drifted(self, statistic: float, threshold: float, p: float | None = None) -> bool:
        if math.isnan(statistic):
            return False
        past = statistic < threshold if self.pvalue else statistic >= threshold
        if self.test is None:
            return past
        return past and p is not None and p < self.alpha

    def score(self, statistic: float, threshold: float, p: float | None = None) -> float:
        """How far past its threshold a column is: 1 at the threshold, above 1 drifted
        (p-values on a log scale, so a p of 1e-6 against 0.05 reads as about 4.6). With a
        test, the smaller of the statistic's and the p-value's: above 1 when both pass."""
        value = _past(statistic, threshold, self.pvalue)
        if self.test is not None:
            value = min(value, _past(p, self.alpha, True))
        return value


def _past(value: float | None, threshold: float, pvalue: bool) -> float:
    if value is None or not math.isfinite(value):
        return float("nan")
    if pvalue:
        return (math.log(max(value, 1e-300)) / math.log(threshold) if 0 < threshold < 1
                else float("nan"))
    return value / threshold if threshold > 0 else float("inf") if value > 0 else 0.0


_METHODS: dict[str, Method] = {}
_loaded_plugins = False


def register_method(method: Method) -> Method:
    """Make `method` available by its name (replacing one of the same name)."""
    if not isinstance(method, Method):
        raise MLOpsUsageError(f"register_method takes a Method, not a {type(method).__name__}")
    _METHODS[method.name] = method
    return method


def get_method(name: str) -> Method:
    """The method of that name (plugins are loaded on the first name not built in)."""
    global _loaded_plugins
    if name not in _METHODS and not _loaded_plugins:
        from importlib.metadata import entry_points

        _loaded_plugins = True
        for ep in entry_points(group="jupyter_mlops.drift_methods"):
            register_method(ep.load())
    if name not in _METHODS:
        raise MLOpsUsageError(f"unknown drift method {name!r} (known: presets "
                              f"{', '.join(PRESETS)}; methods {', '.join(sorted(_METHODS))})")
    return _METHODS[name]


def method_names() -> list[str]:
    return sorted(_METHODS)


def distinct_union(ref: Sketch, cur: Sketch) -> int | None:
    """Distinct values of both samples together, when both sketches count them."""
    a, b = ref.counts, cur.counts
    if a is None or b is None:
        return None
    return len(set(a) | set(b))


def choose(ref: Sketch, cur: Sketch, preset: str = "auto") -> str:
    """The method `preset` uses for a column. auto: the Wasserstein distance with a KS test
    for numbers, the Jensen-Shannon distance with a chi-squared test for categories and for
    numbers with at most FEW distinct values. evidently: Evidently's choice, by reference size
    and distinct values."""
    union = distinct_union(ref, cur)
    few = union is not None and union <= FEW
    if preset == "auto":
        return "wasserstein+ks" if ref.kind == "numeric" and not few else "jensenshannon+chi2"
    if preset != "evidently":
        raise MLOpsUsageError(f"unknown drift method preset {preset!r} (known: "
                              f"{', '.join(PRESETS)})")
    if ref.kind == "numeric" and not few:
        return "ks" if ref.n <= SMALL else "wasserstein"
    if ref.n <= SMALL:
        return "chisquare" if union is None or union > 2 else "z"
    return "jensenshannon"


def choose_empty(ref: Sketch, preset: str = "auto") -> str:
    """The method named for a column with no values on one side (nothing is computed)."""
    if preset == "auto":
        return "wasserstein+ks" if ref.kind == "numeric" else "jensenshannon+chi2"
    return "wasserstein" if ref.kind == "numeric" else "jensenshannon"


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
    gap over both sketches' quantiles, with the asymptotic distribution (Stephens' correction
    for the effective size: within 1 % of scipy's `kstwo`, in microseconds where `kstwo`
    takes up to a second)."""
    import warnings

    from scipy import special, stats

    if ref.exact and cur.exact:
        with warnings.catch_warnings():  # scipy's notice when it falls back to the asymptotic
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(stats.ks_2samp(ref.means, cur.means).pvalue)
    root = math.sqrt(max(ref.n * cur.n / (ref.n + cur.n), 1.0))
    return float(special.kolmogorov((root + 0.12 + 0.11 / root) * ks_gap(ref, cur)))


def ks_gap(ref: NumericSketch, cur: NumericSketch) -> float:
    """The KS statistic: the largest gap between the two sketches' CDFs, over both sketches'
    quantiles (each side approached from the left and the right)."""
    import numpy as np

    points = np.concatenate([_support(ref), _support(cur)])
    return max(float(np.max(np.abs(ref.cdf(points) - cur.cdf(points)))),
               float(np.max(np.abs(ref.cdf(points, strict=True) - cur.cdf(points, strict=True)))))


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


def chi2(ref: Sketch, cur: Sketch) -> float:
    """Pearson's chi-squared test of homogeneity (no continuity correction): p-value that the
    two samples' counts come from one distribution. Levels expected fewer than POOLED_BELOW
    times in the smaller sample are pooled into one (a pool still short of it takes the next
    rarest level with it), so rare levels do not break the test's approximation."""
    import numpy as np
    from scipy import stats

    a, b = _need_counts(ref, cur, "the chi-squared test")
    keys = list(set(a) | set(b))
    r = np.array([a.get(k, 0) for k in keys], dtype="float64")
    c = np.array([b.get(k, 0) for k in keys], dtype="float64")
    n, m = r.sum(), c.sum()
    if n == 0 or m == 0:
        return 1.0
    total = r + c
    order = np.argsort(total, kind="stable")
    expected = total[order] * (min(n, m) / (n + m))
    pooled = int(np.count_nonzero(expected < POOLED_BELOW))  # the rarest levels come first
    if pooled and expected[:pooled].sum() < POOLED_BELOW:
        pooled += 1  # a pool still short takes the next rarest level with it
    if pooled > 1:
        rest = order[pooled:]
        r = np.append(r[rest], r[order[:pooled]].sum())
        c = np.append(c[rest], c[order[:pooled]].sum())
        total = r + c
    if len(total) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.vstack([r, c]), correction=False).pvalue)


for _m in (
    Method("wasserstein", "Wasserstein distance (normalized)", wasserstein, 0.1,
           kinds=("numeric",)),
    Method("ks", "K-S p-value", ks, 0.05, pvalue=True, kinds=("numeric",)),
    Method("jensenshannon", "Jensen-Shannon distance", jensenshannon, 0.1),
    Method("chisquare", "chi-square p-value", chisquare, 0.05, pvalue=True),
    Method("z", "Z-test p-value", ztest, 0.05, pvalue=True),
    Method("psi", "PSI", psi, 0.1),
    Method("wasserstein+ks", "Wasserstein distance (normalized) with a KS test", wasserstein,
           MIN_WASSERSTEIN, kinds=("numeric",), test=ks, alpha=ALPHA),
    Method("jensenshannon+chi2", "Jensen-Shannon distance with a chi-squared test",
           jensenshannon, MIN_JENSENSHANNON, test=chi2, alpha=ALPHA),
):
    register_method(_m)
