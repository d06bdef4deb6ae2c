"""Drift reports: known truth on seeded data (at 10,000 and 1,000,000 rows), the methods
against scipy's exact statistics, the awkward columns, per-column settings, the report's
outputs, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from jupyter_mlops.drift.report import drift_report
from jupyter_mlops.drift.sketch import Reference, summarize
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
def test_shifted_columns_are_found_and_unchanged_ones_are_not(rows):
    ref, cur = frames(rows)
    report = drift_report(ref, cur)
    assert sorted(report.drifted_columns) == sorted(SHIFTED)
    table = report.to_frame().set_index("column")
    # Evidently's choice for a large reference: distances, not p-values
    assert set(table.loc[["mean_shift", "same_0", "same_int"], "method"]) == {"wasserstein"}
    assert set(table.loc[["same_cat", "cat_freq", "same_bool"], "method"]) == {"jensenshannon"}
    assert report.drift_share == pytest.approx(4 / 15)
    assert not report.drifted  # under half of the columns
    assert drift_report(ref, cur, dataset_threshold=0.25).drifted


def test_the_large_sample_trap_ks_flags_a_negligible_shift_wasserstein_does_not():
    rng = np.random.default_rng(7)
    n = 1_000_000
    ref = pd.DataFrame({"x": rng.normal(0, 1, n)})
    cur = pd.DataFrame({"x": rng.normal(0.01, 1, n)})  # a hundredth of a standard deviation
    assert drift_report(ref, cur).drifted_columns == []
    assert drift_report(ref, cur, method="ks").drifted_columns == ["x"]


def test_small_samples_use_the_tests_and_match_scipy_exactly():
    ref, cur = frames(800, seed=3)
    table = drift_report(ref, cur).to_frame().set_index("column")
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
    report = drift_report(ref, cur, columns=["mean_shift", "cat_freq", "same_0"],
                          method={"mean_shift": "psi", "cat_freq": "chisquare"},
                          threshold={"same_0": 0.0})
    table = report.to_frame().set_index("column")
    assert table.loc["mean_shift", "method"] == "psi" and table.loc["mean_shift", "threshold"] == 0.1
    assert table.loc["cat_freq", "method"] == "chisquare"
    assert table.loc["same_0", "method"] == "wasserstein" and table.loc["same_0", "drifted"]
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
                                   "drifted", "reference", "current", "missing_reference",
                                   "missing_current", "note"]
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
        (lambda: drift_report(ref, cur, method="magic"), "unknown drift method 'magic'"),
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
