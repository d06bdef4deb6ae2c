"""Drift reports, dataset profiles and monitoring batches over partitioned parquet: sketches
merged across uneven partitions (hive-style folders, a file split by row groups) give the
in-memory report's verdicts under `auto` and `evidently` on columns with no drift, clear drift
and drift near (not at) each threshold, with statistics equal within the stated bound; profiles
and monitoring performance merge exactly; on a real Dask cluster, a report and a profile of a
dataset larger than each worker's memory limit, computed by a client whose own memory is
capped, equal the in-memory result within the bound, as the local executor's does; bad input
is one clear error and leaves the store untouched."""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.data import partitions
from jupyter_mlops.drift import methods
from jupyter_mlops.drift.partials import rank_error
from jupyter_mlops.drift.report import drift_report
from jupyter_mlops.drift.sketch import NumericSketch, Reference
from jupyter_mlops.errors import MLOpsUsageError

ROWS = 100_000
PARTS = 7
# column → (numbers or shares, the current side's change): normal columns move their mean by
# so many standard deviations; `cat_*` columns (two levels, 50/50) move a level's share by so
# many points. Names say which threshold each sits near and on which side.
NEAR = {
    "auto_above": 0.065, "auto_below": 0.035,  # auto: Wasserstein >= 0.05 (KS rejects both)
    "evidently_above": 0.115, "evidently_below": 0.085,  # evidently: Wasserstein >= 0.1
    "ks_above": 0.12, "ks_below": 0.09,  # 3,000 values: auto's KS test decides (p < 0.001)
    "cat_auto_above": 0.05, "cat_auto_below": 0.036,  # auto: Jensen-Shannon >= 0.03
    "cat_evidently_above": 0.155, "cat_evidently_below": 0.125,  # evidently: >= 0.1
}


EXPECTED = {  # what drifts under each preset
    "auto": {"clear", "levels_clear", "small", "auto_above", "evidently_above",
             "evidently_below", "ks_above", "cat_auto_above", "cat_evidently_above",
             "cat_evidently_below"},
    "evidently": {"clear", "levels_clear", "small", "evidently_above", "cat_evidently_above"},
}


def two_sides(rows: int = ROWS, seed: int = 24) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames: unchanged columns of every kind, clear shifts, and the
    NEAR columns."""
    def side(current: bool) -> pd.DataFrame:
        rng = np.random.default_rng([seed, current])
        data = {"same": rng.normal(3, 2, rows), "heavy": rng.lognormal(0, 1, rows),
                "clear": rng.normal(0.5 if current else 0.0, 1, rows),
                "counts": rng.poisson(3, rows).astype("int64"),
                "levels": rng.choice(list("abcdef"), rows, p=[.3, .25, .2, .1, .1, .05]),
                "levels_clear": rng.choice(list("xyz"), rows,
                                           p=[.2, .4, .4] if current else [.5, .25, .25]),
                "flag": rng.random(rows) < 0.3,
                "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(
                    rng.integers(0, 86_400, rows), unit="s")}
        small = np.full(rows, np.nan)
        small[rng.choice(rows, 600, replace=False)] = rng.normal(0.4 if current else 0, 1, 600)
        data["small"] = small  # 600 values: exact, so evidently tests it with KS
        for name, move in NEAR.items():
            if name.startswith("cat_"):
                share = 0.5 + (move if current else 0.0)
                data[name] = np.where(rng.random(rows) < share, "yes", "no")
            elif name.startswith("ks_"):
                values = np.full(rows, np.nan)
                at = rng.choice(rows, 3_000, replace=False)
                values[at] = rng.normal(move if current else 0.0, 1, 3_000)
                data[name] = values
            else:
                data[name] = rng.normal(move if current else 0.0, 1, rows)
        frame = pd.DataFrame(data)
        frame.loc[rng.random(rows) < 0.02, "same"] = np.nan  # missing values merge too
        frame.loc[rng.random(rows) < 0.001, "heavy"] = np.inf  # counted missing by drift
        return frame

    return side(False), side(True)


def write_partitioned(frame: pd.DataFrame, folder, seed: int, parts: int = PARTS) -> None:
    """`frame` as `parts` uneven hive-style partitions (folders `part=K`); the largest is
    written with small row groups, so that a small PARTITION_BYTES splits it."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, len(frame)), parts - 1, replace=False))
    pieces = np.split(np.arange(len(frame)), cuts)
    largest = max(range(parts), key=lambda i: len(pieces[i]))
    for i, rows in enumerate(pieces):
        (folder / f"part={i}").mkdir(parents=True)
        frame.iloc[rows].to_parquet(folder / f"part={i}" / "data.parquet", index=False,
                                    row_group_size=2_000 if i == largest else None)


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """The frames as pandas reads their partitioned folders (the hive key `part` a column)."""
    root = tmp_path_factory.mktemp("sides")
    ref, cur = two_sides()
    write_partitioned(ref, root / "ref", seed=1)
    write_partitioned(cur, root / "cur", seed=2)
    return {"ref_path": f"{root / 'ref'}/", "cur_path": f"{root / 'cur'}/",
            "ref": pd.read_parquet(root / "ref"), "cur": pd.read_parquet(root / "cur")}


@pytest.fixture
def small_partitions(monkeypatch):
    """Files over 300 kB are split by row groups (the largest partition of `sides` is)."""
    monkeypatch.setattr(partitions, "PARTITION_BYTES", 300_000)


def wasserstein_bound(ref: NumericSketch, cur: NumericSketch) -> float:
    """The stated worst case of the merged normalized Wasserstein distance's error."""
    eps = rank_error()
    return 2 * eps * ((ref.max - ref.min) + (cur.max - cur.min)) / max(ref.std, 0.001)


def assert_same_report(merged, memory, measured_w: float = 0.005) -> None:
    """Same columns, methods and verdicts; exact statistics equal; approximate ones within
    the stated bound (KS: the CDF gap within ε_ref + ε_cur; Wasserstein: within its worst
    case, and within `measured_w`, what this data shows of KLL's real accuracy)."""
    a, b = merged.to_frame().set_index("column"), memory.to_frame().set_index("column")
    assert list(a.index) == list(b.index)
    assert (a["method"] == b["method"]).all()
    assert a["drifted"].to_dict() == b["drifted"].to_dict()
    assert merged.drifted_columns == memory.drifted_columns
    eps = rank_error()
    for column in a.index:
        ref_m, cur_m = merged.reference.columns[column], merged.current.columns[column]
        ref_e, cur_e = memory.reference.columns[column], memory.current.columns[column]
        for got, want in ((ref_m, ref_e), (cur_m, cur_e)):
            assert (got.n, got.missing) == (want.n, want.missing), column
            for key, value in want.summary().items():
                if isinstance(value, float):
                    assert got.summary()[key] == pytest.approx(value, rel=1e-9, abs=1e-12)
                else:
                    assert got.summary()[key] == value, (column, key)
        approximate = ref_e.kind == "numeric" and not (ref_m.exact and cur_m.exact) \
            and ref_m.counts is None
        if not approximate:  # counts, levels, few values: the in-memory figures exactly
            assert a.loc[column, "statistic"] == pytest.approx(b.loc[column, "statistic"],
                                                               rel=1e-9, abs=1e-12), column
            assert a.loc[column, "pvalue"] == pytest.approx(b.loc[column, "pvalue"],
                                                            rel=1e-6, abs=1e-300, nan_ok=True)
            continue
        gap_m, gap_e = methods.ks_gap(ref_m, cur_m), methods.ks_gap(ref_e, cur_e)
        assert abs(gap_m - gap_e) <= 2 * eps, column
        w_m, w_e = methods.wasserstein(ref_m, cur_m), methods.wasserstein(ref_e, cur_e)
        assert abs(w_m - w_e) <= wasserstein_bound(ref_m, cur_m), column
        assert abs(w_m - w_e) <= measured_w, column


@pytest.mark.parametrize("preset", ["auto", "evidently"])
def test_merged_partitions_give_the_in_memory_verdicts(sides, small_partitions, preset):
    ref_parts = partitions.open_partitioned(sides["ref_path"])
    assert len(ref_parts.partitions) > PARTS and ref_parts.files == PARTS  # one file split
    assert ref_parts.kind("part") == "categorical" and ref_parts.rows == ROWS
    merged = drift_report(sides["ref_path"], sides["cur_path"], method=preset, executor="local")
    memory = drift_report(sides["ref"], sides["cur"], method=preset)
    assert_same_report(merged, memory)
    assert "when" not in merged.to_frame()["column"].tolist()  # dates are left out, as in memory
    # the hive key `part` drifts too: the two sides were cut into partitions differently
    assert set(merged.drifted_columns) == {"part", *EXPECTED[preset]}
    # each NEAR column of the preset is near its threshold in memory (within a quarter of it)
    # yet not at it (more than 2 % away), on the side its name says
    table = memory.to_frame().set_index("column")
    for name in NEAR:
        if preset in name:
            statistic, threshold = table.loc[name, ["statistic", "threshold"]]
            assert 0.02 < abs(statistic / threshold - 1) < 0.25, (name, statistic)
            assert (statistic > threshold) == name.endswith("above")
    if preset == "auto":  # KS decides these: the effect passes, the p-value decides
        for name, rejects in (("ks_above", True), ("ks_below", False)):
            p = table.loc[name, "pvalue"]
            assert table.loc[name, "statistic"] > methods.MIN_WASSERSTEIN
            assert (p < methods.ALPHA) == rejects and 1e-6 < p < 0.05, (name, p)
        assert merged.to_frame().set_index("column").loc["small", "method"] == "wasserstein+ks"
    else:
        assert merged.to_frame().set_index("column").loc["small", "method"] == "ks"


def test_small_and_discrete_columns_merge_into_the_in_memory_sketch_exactly(sides):
    merged = drift_report(sides["ref_path"], sides["cur_path"], columns=["small", "counts"])
    for column in ("small", "counts"):
        got, want = merged.reference.columns[column], drift_report(
            sides["ref"], sides["cur"], columns=[column]).reference.columns[column]
        assert got.exact == want.exact and got.counts == want.counts
        np.testing.assert_allclose(got.means, want.means, rtol=1e-12, atol=1e-9)
        if want.edges is not None:
            np.testing.assert_allclose(got.edges, want.edges, rtol=1e-12, atol=1e-9)
    assert merged.reference.columns["small"].exact  # 600 values: every one kept


def test_a_merged_reference_round_trips_and_mixes_with_frames(sides):
    merged = drift_report(sides["ref_path"], sides["cur"], columns=["same", "levels"])
    again = Reference.from_bytes(merged.reference.to_bytes())
    assert drift_report(again, sides["cur"], columns=["same", "levels"]).to_dict()["columns"] \
        == merged.to_dict()["columns"]
    assert merged.labels == (sides["ref_path"], "current")
    from pathlib import Path

    glob = drift_report(sides["ref"], Path(sides["cur_path"]) / "part=*" / "*.parquet",
                        columns=["same"])
    assert glob.current.rows == ROWS
