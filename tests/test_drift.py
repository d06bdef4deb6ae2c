"""Drift reports: known truth on seeded data (at 10,000 and 1,000,000 rows) under both presets,
the benchmark's five planted shifts, false alarms over many draws from one distribution, each
threshold of `auto` approached from both sides, the methods against scipy's exact statistics,
the awkward columns, per-column settings, the report's outputs, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from jupyter_mlops.drift import methods
from jupyter_mlops.drift.report import drift_report
from jupyter_mlops.drift.sketch import CategoricalSketch, Reference, summarize
from jupyter_mlops.errors import MLOpsUsageError

UNCHANGED = [f"same_{i}" for i in range(8)] + ["same_int", "same_cat", "same_bool"]
SHIFTED = ["mean_shift", "scale_shift", "mixture", "cat_freq"]


def frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current: the SHIFTED columns change clearly, the others not at all."""
    rng = np.random.default_rng(seed)

    def draw(shifted: bool) -> pd.DataFrame:
        data = {f"same_{i}": rng.normal(10 * i, 1 + i, n) for i in range(4)}
        data.update({f"same_{i}": rng.lognormal(0, 0.5 + 0.1 * i, n) for i in range(4, 8)})
        data["same_int"] = rng.poisson(20, n)
        data["same_cat"] = pd.Categorical(rng.choice(list("abcdef"), n,
                                                     p=[.3, .25, .2, .1, .1, .05]))
        data["same_bool"] = rng.random(n) < 0.3
        data["mean_shift"] = rng.normal(0.3 if shifted else 0.0, 1.0, n)
        data["scale_shift"] = rng.normal(0.0, 1.4 if shifted else 1.0, n)
        mix = rng.normal(0.0, 1.0, n)
        if shifted:
            mix[rng.random(n) < 0.2] += 2.0
        data["mixture"] = mix
        data["cat_freq"] = rng.choice(["x", "y", "z"], n,
                                      p=[.2, .4, .4] if shifted else [.5, .25, .25])
        return pd.DataFrame(data)

    return draw(False), draw(True)


@pytest.mark.parametrize("rows", [10_000, 1_000_000])
@pytest.mark.parametrize("preset,numeric,categorical", [
    ("auto", "wasserstein+ks", "jensenshannon+chi2"),
    # Evidently's choice for a large reference: distances, not p-values
    ("evidently", "wasserstein", "jensenshannon")])
def test_shifted_columns_are_found_and_unchanged_ones_are_not(rows, preset, numeric, categorical):
    ref, cur = frames(rows)
    report = drift_report(ref, cur, method=preset)
    assert sorted(report.drifted_columns) == sorted(SHIFTED)
    table = report.to_frame().set_index("column")
    assert set(table.loc[["mean_shift", "same_0", "same_int"], "method"]) == {numeric}
    assert set(table.loc[["same_cat", "cat_freq", "same_bool"], "method"]) == {categorical}
    assert report.drift_share == pytest.approx(4 / 15)
    assert not report.drifted  # under half of the columns
    assert drift_report(ref, cur, method=preset, dataset_threshold=0.25).drifted
    assert report.to_dict()["method"] == preset


@pytest.mark.parametrize("preset", ["auto", "evidently"])
def test_the_large_sample_trap_ks_flags_a_negligible_shift_the_presets_do_not(preset):
    rng = np.random.default_rng(7)
    n = 1_000_000
    ref = pd.DataFrame({"x": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, n)})  # a hundredth of a standard deviation
    column = drift_report(ref, cur, method=preset).columns[0]
    assert not column.drifted
    if preset == "auto":  # the test alone would flag it: the effect is what stops it
        assert column.pvalue < methods.ALPHA and column.statistic < methods.MIN_WASSERSTEIN
    assert drift_report(ref, cur, method="ks").drifted_columns == ["x"]


def test_small_samples_under_evidently_use_its_tests_and_match_scipy_exactly():
    ref, cur = frames(800, seed=3)
    table = drift_report(ref, cur, method="evidently").to_frame().set_index("column")
    assert table.loc["same_0", "method"] == "ks"
    assert table.loc["same_cat", "method"] == "chisquare"
    assert table.loc["same_bool", "method"] == "z"
    for col in ("same_0", "mean_shift", "scale_shift"):
        assert table.loc[col, "statistic"] == pytest.approx(stats.ks_2samp(ref[col], cur[col]).pvalue)
    keys = sorted(set(ref.cat_freq) | set(cur.cat_freq))
    expected = ref.cat_freq.value_counts().reindex(keys, fill_value=0) * len(cur) / len(ref)
    observed = cur.cat_freq.value_counts().reindex(keys, fill_value=0)
    assert table.loc["cat_freq", "statistic"] == pytest.approx(
        stats.chisquare(observed, expected).pvalue)
    # Wasserstein on exact samples equals scipy's, normalized by the reference's sd
    w = drift_report(ref, cur, method="wasserstein", columns=["mixture"]).columns[0].statistic
    assert w == pytest.approx(stats.wasserstein_distance(ref.mixture, cur.mixture)
                              / np.std(ref.mixture))


def test_small_samples_under_auto_match_scipy_exactly():
    ref, cur = frames(800, seed=3)
    table = drift_report(ref, cur).to_frame().set_index("column")
    for col in ("same_0", "mean_shift", "scale_shift", "same_int"):
        assert table.loc[col, "method"] == "wasserstein+ks"
        assert table.loc[col, "pvalue"] == pytest.approx(stats.ks_2samp(ref[col], cur[col]).pvalue)
        assert table.loc[col, "statistic"] == pytest.approx(
            stats.wasserstein_distance(ref[col], cur[col]) / np.std(ref[col]))
    for col in ("same_cat", "cat_freq", "same_bool"):  # every level seen often: no pooling
        both = pd.concat([ref[col].astype(str), cur[col].astype(str)])
        side = np.repeat(["ref", "cur"], [len(ref), len(cur)])
        chi2 = stats.chi2_contingency(pd.crosstab(side, both.to_numpy()), correction=False)
        assert table.loc[col, "method"] == "jensenshannon+chi2"
        assert table.loc[col, "pvalue"] == pytest.approx(chi2.pvalue)
        assert table.loc[col, "alpha"] == methods.ALPHA
    assert table.loc["same_0", "threshold"] == methods.MIN_WASSERSTEIN
    assert table.loc["same_cat", "threshold"] == methods.MIN_JENSENSHANNON


def planted(rows: int, seed: int = 20261123) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Data made as benchmarks/bench_drift.py makes it: five shifted columns (mean +0.1 sd;
    sd x1.2; 10 % of the rows moved by +2 sd; a level's share 0.40 -> 0.30 with the others
    gaining in proportion; 3 points of share from the 2nd to the 5th of 12 Zipf levels) and
    45 unchanged ones (normal, lognormal, uniform, exponential, gamma, integer-valued, and
    categorical with 3 to 30 Zipf-skewed levels)."""
    def zipf(levels: int, s: float) -> np.ndarray:
        w = np.arange(1.0, levels + 1) ** -s
        return w / w.sum()

    top = np.array([0.40, 0.25, 0.15, 0.10, 0.06, 0.04])
    subtle = zipf(12, 1.2)
    moved = subtle.copy()
    moved[1] -= 0.03
    moved[4] += 0.03
    unchanged = (
        [lambda r, i=i: r.normal(i * 7.0, 1 + i, rows) for i in range(10)]
        + [lambda r, i=i: r.lognormal(i * 0.5, 0.25 + 0.15 * i, rows) for i in range(8)]
        + [lambda r, i=i: r.uniform(-i, 10 * i + 1, rows) for i in range(6)]
        + [lambda r, i=i: r.exponential(0.2 + 3 * i, rows) for i in range(4)]
        + [lambda r, i=i: r.gamma([2, 0.5, 9][i], 1.0, rows) for i in range(3)]
        + [lambda r: r.poisson(20, rows) for _ in range(3)]
        + [lambda r: r.integers(0, 1000, rows), lambda r: r.integers(18, 91, rows),
           lambda r: r.binomial(200, 0.3, rows)]
        + [lambda r, k=k, s=s: pd.Categorical.from_codes(r.choice(k, rows, p=zipf(k, s)),
                                                          [f"L{j:02d}" for j in range(k)])
           for k, s in [(3, 1.0), (4, 1.5), (5, 0.8), (8, 1.2), (10, 1.0), (15, 1.1),
                        (20, 0.9), (30, 1.3)]])
    assert len(unchanged) == 45

    def levels(r, p):
        return pd.Categorical.from_codes(r.choice(len(p), rows, p=p / p.sum()),
                                         [f"L{j:02d}" for j in range(len(p))])

    def mix(r, shifted):
        x = r.normal(100.0, 15.0, rows)
        if shifted:
            x[r.random(rows) < 0.1] += 30.0
        return x

    shifted = {
        "num_shift_mean": lambda r, s: r.normal(51.0 if s else 50.0, 10.0, rows),
        "num_shift_scale": lambda r, s: r.normal(0.0, 1.2 if s else 1.0, rows),
        "num_shift_mix": mix,
        "cat_shift_clear": lambda r, s: levels(r, np.concatenate(
            [[0.30], top[1:] * 0.70 / 0.60]) if s else top),
        "cat_shift_subtle": lambda r, s: levels(r, moved if s else subtle),
    }

    def frame(side: int) -> pd.DataFrame:
        data = {name: make(np.random.default_rng([seed, i, side]), side == 1)
                for i, (name, make) in enumerate(shifted.items())}
        data.update({f"same_{i:02d}": make(np.random.default_rng([seed, 100 + i, side]))
                     for i, make in enumerate(unchanged)})
        return pd.DataFrame(data)

    return frame(0), frame(1)


PLANTED = ["num_shift_mean", "num_shift_scale", "num_shift_mix", "cat_shift_clear",
           "cat_shift_subtle"]


@pytest.mark.parametrize("rows", [100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_auto_finds_the_five_planted_shifts_without_a_false_alarm(rows):
    ref, cur = planted(rows)
    report = drift_report(ref, cur)
    assert report.drifted_columns == PLANTED  # and none of the 45 unchanged columns
    # Evidently's defaults miss both categorical shifts: Jensen-Shannon 0.074 and 0.048 < 0.1
    evidently = drift_report(summarize(ref), summarize(cur), method="evidently")
    assert not {"cat_shift_clear", "cat_shift_subtle"} & set(evidently.drifted_columns)
    assert set(evidently.drifted_columns) <= set(PLANTED)


def one_distribution(rng: np.random.Generator, rows: int) -> pd.DataFrame:
    """Columns of every kind auto tells apart: continuous, integer-valued, few distinct
    values, boolean, and categorical with 12 and with 200 levels (many of them rare)."""
    def zipf(levels: int, s: float) -> np.ndarray:
        w = np.arange(1.0, levels + 1) ** -s
        return w / w.sum()

    return pd.DataFrame({
        "normal": rng.normal(5, 2, rows), "lognormal": rng.lognormal(0, 1.2, rows),
        "poisson": rng.poisson(20, rows), "few_values": rng.integers(0, 4, rows),
        "flag": rng.random(rows) < 0.3,
        "levels_12": pd.Categorical.from_codes(rng.choice(12, rows, p=zipf(12, 1.2)),
                                               [f"l{i}" for i in range(12)]),
        "levels_200": pd.Categorical.from_codes(rng.choice(200, rows, p=zipf(200, 1.0)),
                                                [f"l{i}" for i in range(200)])})


@pytest.mark.parametrize("reference_rows", [1_000, 100_000])
def test_auto_false_alarms_stay_under_one_percent_per_column(reference_rows):
    """500 seeded batches of 1,000 rows from the reference's own distribution, against a
    reference of 1,000 rows drawn afresh each time, or one of 100,000 rows summarized once
    (as a model's training data is)."""
    rng = np.random.default_rng(2026)
    fixed = summarize(one_distribution(rng, reference_rows)) if reference_rows > 1_000 else None
    alarms = None
    for _ in range(500):
        ref = fixed if fixed is not None else summarize(one_distribution(rng, reference_rows))
        flags = pd.Series({c.column: c.drifted for c in drift_report(
            ref, one_distribution(rng, 1_000)).columns}, dtype=int)
        alarms = flags if alarms is None else alarms + flags
    rates = alarms / 500
    assert (rates <= 0.01).all(), rates.to_dict()


def _bernoulli_js(share: float) -> float:
    return float(distance.jensenshannon([0.5, 0.5], [share, 1 - share]))


def _two_levels(counts: dict[str, int]) -> Reference:
    return Reference({"c": CategoricalSketch(sum(counts.values()), 0, counts, len(counts))},
                     sum(counts.values()))


@pytest.mark.parametrize("preset,minimum", [("auto", methods.MIN_WASSERSTEIN),
                                            ("evidently", 0.1)])
def test_a_numeric_move_just_above_its_threshold_drifts_just_below_does_not(preset, minimum):
    ref = pd.DataFrame({"x": np.random.default_rng(11).normal(3.0, 2.0, 50_000)})
    sd = float(ref.x.std(ddof=0))
    for factor, expected in ((1.01, True), (0.99, False)):
        cur = ref + minimum * factor * sd  # every quantile moves by the same amount
        column = drift_report(ref, cur, method=preset).columns[0]
        assert column.statistic == pytest.approx(minimum * factor, rel=1e-9)
        assert column.threshold == minimum and column.drifted is expected
        if preset == "auto":
            assert column.pvalue < methods.ALPHA  # the test rejects on both sides


@pytest.mark.parametrize("preset,minimum", [("auto", methods.MIN_JENSENSHANNON),
                                            ("evidently", 0.1)])
def test_a_share_change_just_above_its_threshold_drifts_just_below_does_not(preset, minimum):
    from scipy.optimize import brentq

    n = 1_000_000
    ref = _two_levels({"a": n // 2, "b": n // 2})
    for factor, expected in ((1.01, True), (0.99, False)):
        share = brentq(lambda s, f=factor: _bernoulli_js(s) - minimum * f, 0.5, 0.99)
        a = round(share * n)
        column = drift_report(ref, _two_levels({"a": a, "b": n - a}), method=preset).columns[0]
        assert column.statistic == pytest.approx(minimum * factor, rel=1e-3)
        assert column.drifted is expected
        if preset == "auto":
            assert column.pvalue < methods.ALPHA


def test_the_ks_test_just_past_its_level_drifts_just_short_of_it_does_not():
    ref = np.arange(200.0)
    pvalues = {s: stats.ks_2samp(ref, ref + s + 0.5).pvalue for s in range(20, 80)}
    s = next(s for s, p in pvalues.items() if p < methods.ALPHA)
    assert pvalues[s - 1] >= methods.ALPHA
    for shift, expected in ((s, True), (s - 1, False)):
        column = drift_report(pd.DataFrame({"x": ref}),
                              pd.DataFrame({"x": ref + shift + 0.5})).columns[0]
        assert column.pvalue == pytest.approx(pvalues[shift])
        assert column.statistic > 5 * methods.MIN_WASSERSTEIN  # the effect is not the limit
        assert column.drifted is expected


def test_the_chi_squared_test_just_past_its_level_drifts_just_short_of_it_does_not():
    def pvalue(k: int) -> float:
        table = [[250, 250], [250 + k, 250 - k]]
        return stats.chi2_contingency(table, correction=False).pvalue

    k = next(k for k in range(1, 250) if pvalue(k) < methods.ALPHA)
    ref = _two_levels({"a": 250, "b": 250})
    for shift, expected in ((k, True), (k - 1, False)):
        column = drift_report(ref, _two_levels({"a": 250 + shift, "b": 250 - shift})).columns[0]
        assert column.pvalue == pytest.approx(pvalue(shift))
        assert column.statistic > 2 * methods.MIN_JENSENSHANNON
        assert column.drifted is expected


def test_the_chi_squared_test_pools_rare_levels():
    def report(ref: dict, cur: dict) -> float:
        return drift_report(_two_levels(ref), _two_levels(cur)).columns[0].pvalue

    # three levels expected under 5 times in a sample of 1,000 are pooled into one
    pooled = report({"a": 600, "b": 390, "r1": 4, "r2": 3, "r3": 3},
                    {"a": 550, "b": 440, "r1": 2, "r2": 5, "r3": 3})
    assert pooled == pytest.approx(stats.chi2_contingency(
        [[600, 390, 10], [550, 440, 10]], correction=False).pvalue)
    # one rare level alone is still short: it joins the next rarest
    alone = report({"a": 600, "b": 396, "r": 4}, {"a": 550, "b": 446, "r": 4})
    assert alone == pytest.approx(stats.chi2_contingency(
        [[600, 400], [550, 450]], correction=False).pvalue)


def test_missing_values_moving_just_above_their_threshold_drift_just_below_do_not():
    ref = pd.DataFrame({"x": np.random.default_rng(5).normal(0, 1, 10_000)})
    for missing, expected in ((1_010, True), (990, False)):  # 10.1 % and 9.9 %
        cur = ref.copy()
        cur.loc[: missing - 1, "x"] = np.nan
        assert drift_report(ref, cur).columns[0].drifted is expected


def test_sketched_statistics_stay_close_to_the_exact_ones():
    ref, cur = frames(200_000, seed=5)
    table = drift_report(ref, cur).to_frame().set_index("column")
    for col in ("same_0", "same_5", "mean_shift", "scale_shift", "mixture"):
        exact = stats.wasserstein_distance(ref[col], cur[col]) / np.std(ref[col])
        assert abs(table.loc[col, "statistic"] - exact) < 0.002, col
    keys = sorted(set(ref.cat_freq) | set(cur.cat_freq))
    p = ref.cat_freq.value_counts(normalize=True).reindex(keys, fill_value=0)
    q = cur.cat_freq.value_counts(normalize=True).reindex(keys, fill_value=0)
    assert table.loc["cat_freq", "statistic"] == pytest.approx(distance.jensenshannon(p, q))


@pytest.mark.parametrize("rows", [1_500, 12_345])
def test_sorted_sketches_of_any_size_keep_the_exact_wasserstein_distance(rows):
    """Sizes that are not a multiple of the 1,000 strata, far from zero: each stratum's mean
    is the exact mean of its share of the sorted values."""
    rng = np.random.default_rng(rows)
    ref = pd.DataFrame({"x": rng.normal(100.0, 1.0, rows)})
    cur = pd.DataFrame({"x": rng.normal(100.05, 1.0, 50_000)})
    exact = stats.wasserstein_distance(ref.x, cur.x) / np.std(ref.x)
    assert drift_report(ref, cur).columns[0].statistic == pytest.approx(exact, abs=2e-4)


def test_new_levels_missing_values_constant_and_empty_columns_are_reported():
    rng = np.random.default_rng(1)
    n = 5_000
    ref = pd.DataFrame({
        "level": rng.choice(["a", "b"], n), "gaps": rng.normal(0, 1, n),
        "constant": np.full(n, 3.0), "moved_constant": np.full(n, 3.0),
        "emptied": rng.normal(0, 1, n), "never": np.full(n, np.nan),
        "never_both": np.full(n, np.nan)})
    cur = ref.copy()
    cur["level"] = rng.choice(["a", "b", "c", "d"], n)
    cur.loc[: n // 4, "gaps"] = np.nan
    cur["moved_constant"] = 4.0
    cur["emptied"] = np.nan
    cur["never"] = rng.normal(0, 1, n)
    report = drift_report(ref, cur)
    table = report.to_frame().set_index("column")
    assert "new levels: c, d" in table.loc["level", "note"] and table.loc["level", "drifted"]
    assert "missing 0.0% → 25.0%" in table.loc["gaps", "note"] and table.loc["gaps", "drifted"]
    assert table.loc["gaps", "missing_current"] == pytest.approx(0.25, abs=1e-3)
    assert not table.loc["constant", "drifted"] and "constant" in table.loc["constant", "note"]
    assert table.loc["moved_constant", "drifted"]
    assert table.loc["emptied", "drifted"] and "every current value is missing" in table.loc[
        "emptied", "note"]
    assert table.loc["never", "drifted"] and "reference has no values" in table.loc["never", "note"]
    assert not table.loc["never_both", "drifted"]
    json.dumps(report.to_dict(), allow_nan=False)  # NaN statistics become null
    # the missing-value rule can be switched off
    assert "gaps" not in drift_report(ref, cur, missing_threshold=None,
                                      columns=["gaps"]).drifted_columns


def test_methods_and_thresholds_per_column():
    ref, cur = frames(20_000, seed=2)
    report = drift_report(ref, cur, columns=["mean_shift", "cat_freq", "same_0", "same_1"],
                          method={"mean_shift": "psi", "cat_freq": "chisquare",
                                  "same_0": "evidently"},
                          threshold={"same_0": 0.0, "same_1": 0.0})
    table = report.to_frame().set_index("column")
    assert table.loc["mean_shift", "method"] == "psi" and table.loc["mean_shift", "threshold"] == 0.1
    assert table.loc["cat_freq", "method"] == "chisquare"
    assert table.loc["same_0", "method"] == "wasserstein" and table.loc["same_0", "drifted"]
    # under auto a threshold sets the effect's minimum; the test must still reject
    assert table.loc["same_1", "method"] == "wasserstein+ks"
    assert table.loc["same_1", "threshold"] == 0.0 and not table.loc["same_1", "drifted"]
    everything = drift_report(ref, cur, columns="same_1,cat_freq", method="psi", threshold=5.0)
    assert everything.drifted_columns == []
    assert set(everything.to_frame().method) == {"psi"}


def test_a_reference_is_summarized_once_and_reused():
    ref, cur = frames(50_000, seed=4)
    sketches = summarize(ref)
    again = Reference.from_bytes(sketches.to_bytes())
    first = drift_report(ref, cur).to_frame()
    pd.testing.assert_frame_equal(drift_report(sketches, cur).to_frame(), first)
    pd.testing.assert_frame_equal(drift_report(again, cur).to_frame(), first)
    assert len(sketches.to_bytes()) < 300_000  # kilobytes, not the data


def test_the_report_as_frame_dict_figure_html_and_notebook_display(tmp_path):
    ref, cur = frames(5_000, seed=6)
    report = drift_report(ref, cur)
    frame = report.to_frame()
    assert list(frame.columns) == ["column", "type", "method", "statistic", "threshold",
                                   "pvalue", "alpha", "drifted", "reference", "current",
                                   "missing_reference", "missing_current", "note"]
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drifted_columns"] == report.drifted_columns and len(data["columns"]) == 15
    fig = report.figure()
    assert fig.data[0].type == "bar" and list(fig.data[0].x) == list(frame.column)
    assert {t.name for t in fig.data[1:]} == {"DataFrame", "current"}  # distributions
    assert len(fig.data) == 1 + 2 * len(report.drifted_columns)
    page = report.save_html(tmp_path / "drift.html").read_text()
    assert "mean_shift" in page and "Plotly.newPlot" in page
    assert "<script src=" not in page and len(page) > 1_000_000  # plotly.js inlined
    assert "drift" in report._repr_html_() and "mean_shift" in report._repr_html_()


def test_bad_input_gets_one_clear_error():
    ref, cur = frames(1_000, seed=8)
    cases = [
        (lambda: drift_report(ref, cur.drop(columns=["mixture", "same_0"])),
         "the current data lacks columns same_0, mixture"),
        (lambda: drift_report(ref, cur.head(0)), "the current data has no rows"),
        (lambda: drift_report(ref, cur, columns=["nope"]), "the reference has no column nope"),
        (lambda: drift_report(ref, cur, method="magic"),
         r"unknown drift method 'magic' \(known: presets auto, evidently; methods chisquare, "
         r"jensenshannon, jensenshannon\+chi2, ks, psi, wasserstein, wasserstein\+ks, z\)"),
        (lambda: drift_report(ref, cur, method={"same_0": "Auto"}), "unknown drift method 'Auto'"),
        (lambda: drift_report(ref, cur, method={"cat_freq": "wasserstein"}),
         "does not apply to the categorical column 'cat_freq'"),
        (lambda: drift_report(ref, cur, threshold=-1), "must be a non-negative number"),
        (lambda: drift_report(ref, cur, threshold={"ghost": 0.2}), "not compared: ghost"),
        (lambda: drift_report(ref, cur.assign(same_0="text")),
         "column 'same_0' is numeric in the reference but categorical"),
        (lambda: drift_report(ref, cur, dataset_threshold=2), "a share from 0 to 1"),
        (lambda: drift_report(ref, [1, 2]), "the current data is a DataFrame"),
        (lambda: drift_report(42, cur), "the reference is a DataFrame"),
        (lambda: drift_report(ref.assign(t=pd.Timestamp("2026-01-01")), cur.assign(
            t=pd.Timestamp("2026-01-01")), columns=["t"]), "holds dates or durations"),
    ]
    for call, message in cases:
        with pytest.raises(MLOpsUsageError, match=message):
            call()
    # dates are left out unless asked for
    dated = drift_report(ref.assign(t=pd.Timestamp("2026-01-01")), cur)
    assert "t" not in dated.to_frame().column.tolist()
