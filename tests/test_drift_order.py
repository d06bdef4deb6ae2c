"""Order statistics without a sort (`drift/order.py`) and the thinned KLL sketches built from
them: extremes exact, every value asked for by rank within one uncrowded bin of its true rank,
on the shapes that crowd bins (long tails, integers, point masses, no spread), and merged
partitions' quantiles within the rank error they state."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from jupyter_mlops.drift import order, partials

N = 200_000


def shapes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    zeros = rng.lognormal(0, 2, N)
    zeros[rng.random(N) < 0.4] = 0.0
    return {
        "normal": rng.normal(3, 2, N),
        "lognormal": rng.lognormal(0, 2.5, N),  # a long right tail: binned on the log scale
        "negative_lognormal": -rng.lognormal(0, 2.5, N),
        "cauchy": rng.standard_cauchy(N),  # long tails on both sides
        "poisson": rng.poisson(20, N).astype("float64"),  # integers: every bin one value
        "zero_inflated": zeros,  # 40 % at one point
        "two_points": rng.choice([-1.5, 7.0], N),
        "narrow": 1e9 + rng.normal(0, 1e-3, N),  # spread under a millionth: sorted
        "constant": np.full(N, 2.5),
        "tiny_values": rng.normal(0, 1e-300, N),
    }


@pytest.mark.parametrize("tail", [0, 4096])  # bins from the 0.05 % quantile, or past 4,096
@pytest.mark.parametrize("name", list(shapes()))
def test_ranks_land_within_one_uncrowded_bin_and_extremes_are_exact(name, tail):
    values = shapes()[name]
    ordered = order.Ordered(values, tail=tail)
    truth = np.sort(values)
    np.testing.assert_array_equal(ordered.smallest(4096), truth[:4096])
    np.testing.assert_array_equal(ordered.largest(4096), truth[-4096:])
    ranks = np.unique(np.concatenate([np.random.default_rng(1).integers(0, N, 5_000),
                                      [0, 1, N // 2, N - 2, N - 1]]))
    got = ordered.at(ranks)
    first = np.searchsorted(truth, got, side="left")  # the ranks the value really holds
    last = np.searchsorted(truth, got, side="right") - 1
    miss = np.maximum(np.maximum(first - ranks, ranks - last), 0)
    assert miss.max() <= N // order.CROWD, name
    assert got[0] == truth[0] and got[-1] == truth[-1]  # the outside slots are sorted


def test_binning_picks_the_scale_that_crowds_fewer_values():
    data = shapes()
    assert not order.Ordered(data["normal"]).log
    assert order.Ordered(data["lognormal"]).log
    assert order.Ordered(data["narrow"]).sorted is not None
    assert order.Ordered(data["normal"][:1000]).sorted is not None  # small: sorted


def test_thinning_keeps_its_share_of_the_rank_error_small():
    assert partials.thinning(55_000_000, 110) == partials.THIN
    assert partials.thinning(100_000, 7) == 1  # small partitions feed every value
    for rows, parts in ((6_000_000, 12), (3_000_000, 40), (10**9, 10**4)):
        thin = partials.thinning(rows, parts)
        assert thin == 1 or partials.thinned_error(thin, parts, rows) <= 2 ** -12 + 2 ** -15
    assert partials.rank_error(16, 12, 6_000_000) > partials.rank_error() > 0


def test_thinned_partitions_merge_into_quantiles_within_the_stated_error():
    rng = np.random.default_rng(9)
    pieces = [rng.lognormal(0, 1, 300_000), rng.normal(2, 1, 250_000),
              rng.poisson(3, 350_000).astype("float64") * 0.7]
    thin = partials.thinning(sum(map(len, pieces)), len(pieces))
    assert thin > 1
    total = None
    for piece in pieces:
        part = partials.summarize_array(pa.chunked_array([piece]), "numeric", 4096, thin).pack()
        total = part if total is None else total.merge(part)
    values = np.sort(np.concatenate(pieces))
    points = (0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999)
    found, error = total.quantiles(points)
    assert error == partials.rank_error(thin, 3, len(values)) and error < 0.002
    for q, value in zip(points, found, strict=True):
        below = np.searchsorted(values, value, side="left") / len(values)
        upto = np.searchsorted(values, value, side="right") / len(values)
        assert below - error <= q <= upto + error, q
    assert (total.min, total.max) == (values[0], values[-1])
    np.testing.assert_array_equal(total.low, values[:4096])
