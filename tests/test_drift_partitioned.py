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
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.data import partitions
from jupyter_mlops.drift import methods
from jupyter_mlops.drift.partials import rank_error
from jupyter_mlops.drift.report import ColumnDrift, DriftReport, drift_report
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


# the rank error of a merged sketch of these datasets' columns: KLL's, and what thinning
# adds in the largest (each column has at most 2 % missing values: under 2⁻¹¹ here)
EPS = rank_error() + 2 ** -11


def wasserstein_bound(ref: NumericSketch, cur: NumericSketch) -> float:
    """The stated worst case of the merged normalized Wasserstein distance's error."""
    eps = EPS
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
    eps = EPS
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
        if not approximate:  # counts, levels, few values: the in-memory figures (float
            # rounding aside: a million values summed in another order)
            assert a.loc[column, "statistic"] == pytest.approx(b.loc[column, "statistic"],
                                                               rel=1e-6, abs=1e-9), column
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
    glob = drift_report(sides["ref"], Path(sides["cur_path"]) / "part=*" / "*.parquet",
                        columns=["same"])
    assert glob.current.rows == ROWS


def assert_same_profile(got: dict, want: dict, frame: pd.DataFrame, exact=()) -> None:
    """The merged profile `got` equals the in-memory `want`: rows, levels, time ranges, missing
    values and moments exactly (up to float rounding); each quantile a value whose true rank
    in `frame` is within the stated rank error of the one asked for (`exact` columns: few
    values, the in-memory quantiles themselves)."""
    from jupyter_mlops.data.profile import QUANTILES

    assert (got["rows"], got["quantiles"]["sketch"]) == (want["rows"], "kll")
    for name, expected in want["columns"].items():
        have = got["columns"][name]
        if expected["kind"] != "numeric":
            assert have == expected, name
            continue
        assert (have["count"], have["missing"]) == (expected["count"], expected["missing"])
        for key in ("min", "max", "mean", "std", "sum", "sum_sq"):
            assert have[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-9), (name, key)
        error = have["quantile_rank_error"]
        assert (error == 0.0) == (name in exact)
        assert error == 0.0 or rank_error() <= error <= EPS
        values = np.sort(frame[name].to_numpy(dtype="float64"))
        values = values[np.isfinite(values)]
        for q in QUANTILES:
            value = have["quantiles"][str(q)]
            if error == 0.0:
                assert value == pytest.approx(expected["quantiles"][str(q)], rel=1e-12)
                continue
            below = np.searchsorted(values, value, side="left") / len(values)
            upto = np.searchsorted(values, value, side="right") / len(values)
            assert below - error <= q <= upto + error, (name, q)


def test_a_folder_of_parquet_files_is_versioned_as_a_table_with_a_merged_profile(
        project, mlops, sides, small_partitions):
    from jupyter_mlops.data.profile import describe

    version = mlops.version_dataset(sides["ref_path"], "ref", executor="local")
    assert (version.kind, version.format, version.rows) == ("folder", "parquet", ROWS)
    schema, profile = describe(sides["ref"])
    assert version.schema == schema  # dtypes as pandas reads the folder, levels, nullability
    assert version.profile["partitions"] == len(
        partitions.open_partitioned(sides["ref_path"]).partitions)
    assert_same_profile(version.profile, profile, sides["ref"], exact=("small", "counts"))
    # its drift reference is sketched per partition from the stored blobs, once
    import shutil

    source = project / "moved"
    shutil.move(sides["ref_path"], source)
    try:
        merged = drift_report("ref@1", sides["cur_path"], executor="local")
    finally:
        shutil.move(source, sides["ref_path"].rstrip("/"))
    assert merged.labels[0] == "ref@1" and merged.reference.source == "dataset ref@1"
    assert_same_report(merged, drift_report(sides["ref"], sides["cur"]))
    again = drift_report("ref@1", sides["cur"], columns=["same"])  # the stored sketches
    assert again.reference.columns["same"].means.tolist() == \
        merged.reference.columns["same"].means.tolist()
    assert mlops.version_dataset(sides["ref_path"], "ref") == version  # same content
    with mlops.start_run(name="check") as run:  # as the current data: read, not loaded
        current = drift_report(sides["ref"], "ref@1", columns=["same"], executor="local")
    assert current.current.rows == ROWS and current.drifted_columns == []
    assert "dataset:ref@1" in {i.ref for i in mlops.get_run(run.id).inputs}


def test_a_partitioned_monitoring_batch_measures_what_the_frame_does(project, mlops, tmp_path):
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    frame = load_wine(as_frame=True).frame
    X, y = frame.drop(columns="target"), frame["target"]
    with mlops.start_run(name="train"):
        mlops.version_dataset(frame, "wine", role="train")
        model = LogisticRegression(max_iter=5000).fit(X, y)
        mlops.register_model(model, "wine-clf", alias="production")
    batch = X.assign(alcohol=X.alcohol + 1.5, hue=X.hue * 0.6)
    table = batch.assign(pred=model.predict(batch), label=y)
    for i, rows in enumerate(np.array_split(np.arange(len(table)), 3)):
        table.iloc[rows].to_parquet(tmp_path / f"batch-{i}.parquet")
    path = f"{tmp_path}/"
    parts = mlops.monitor("wine-clf@production", path, predictions="pred", actuals="label",
                          executor="local", timestamp=1_000)
    whole = mlops.monitor("wine-clf@production", batch, predictions=table.pred, actuals=y,
                          timestamp=1_000)
    assert parts.rows == whole.rows == len(X)
    assert close(parts.report.to_dict()["columns"], whole.report.to_dict()["columns"])
    assert parts.prediction_drift == whole.prediction_drift
    assert parts.prediction_drifted == whole.prediction_drifted
    assert parts.metrics == {k: whole.metrics[k] for k in ("accuracy", "f1")}
    assert "roc_auc" in whole.metrics  # the model's probabilities: for a frame only
    assert mlops.drift_history("wine-clf").to_frame()["rows"].tolist() == [len(X), len(X)]
    # what a partitioned batch cannot take, refused before anything is recorded
    for kwargs, message in (
            (dict(actuals="label"), "name its predictions column too"),
            (dict(predictions=table.pred.to_numpy()), "is the name of one of its columns"),
            (dict(predictions="guess"), "no predictions column 'guess'"),
            (dict(predictions="pred", actuals="truth"), "no actuals column 'truth'")):
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.monitor("wine-clf@production", path, **kwargs)
    assert len(mlops.drift_history("wine-clf").to_frame()) == 2


@pytest.mark.parametrize("kind", ["binary", "multiclass", "text", "regression"])
def test_performance_merged_from_parts_equals_scikit_learn_on_the_whole(kind):
    from sklearn import metrics as sk

    from jupyter_mlops.drift.performance import metrics, pair_counts, task_of

    rng = np.random.default_rng(3)
    n = 5_000
    truth = {"binary": rng.integers(0, 2, n), "multiclass": rng.integers(0, 4, n),
             "text": rng.choice(["cat", "dog", "eel"], n),
             "regression": rng.normal(10, 3, n)}[kind]
    guess = truth.copy()
    wrong = rng.random(n) < 0.3
    guess[wrong] = (rng.normal(10, 3, wrong.sum()) if kind == "regression"
                    else rng.permutation(truth[wrong]))
    total = None
    for rows in np.array_split(rng.permutation(n), 7):
        part = pair_counts(pd.Series(truth[rows]), pd.Series(guess[rows]))
        total = part if total is None else total.merge(part)
    task = task_of(total)
    got = metrics(task, total)
    if kind == "regression":
        assert task == "regression" and total.pairs is None
        assert got["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(truth, guess)))
        assert got["mae"] == pytest.approx(sk.mean_absolute_error(truth, guess))
        return
    labels = sorted(set(truth) | set(guess), key=str)
    f1 = (sk.f1_score(truth, guess, pos_label=labels[-1], average="binary")
          if len(labels) <= 2 else sk.f1_score(truth, guess, average="macro"))
    assert task == "classification"
    assert got == pytest.approx({"accuracy": sk.accuracy_score(truth, guess), "f1": f1})


def close(a, b) -> bool:
    """Equal, numbers within float rounding (sums merged in another order)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(close, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-12)
    return a == b


def write(folder, name: str, frame: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / name)


def test_bad_partitioned_input_is_one_clear_error_and_leaves_the_store_untouched(
        project, mlops, tmp_path):
    from sqlalchemy import func, select

    from jupyter_mlops.store import tables

    good = pd.DataFrame({"x": np.arange(10.0), "y": list("abcdefghij")})
    write(tmp_path / "ok", "a.parquet", good)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no parquet here")
    write(tmp_path / "broken", "a.parquet", good)
    (tmp_path / "broken" / "b.parquet").write_text("not parquet")
    write(tmp_path / "short", "a.parquet", good)
    write(tmp_path / "short", "b.parquet", good[["x"]])
    write(tmp_path / "mixed", "a.parquet", good)
    write(tmp_path / "mixed", "b.parquet", good.assign(x=good.x.astype(str)))
    write(tmp_path / "dated", "a.parquet", good.assign(when=pd.Timestamp("2026-01-01")))
    cases = [
        (f"{tmp_path}/empty/", "holds no parquet files"),
        (f"{tmp_path}/nowhere/", "no file or folder at"),
        (f"{tmp_path}/ok/*.csv", "holds no parquet files"),
        (f"{tmp_path}/broken/", r"b\.parquet does not read as parquet"),
        (f"{tmp_path}/short/", r"b\.parquet has no column 'y'"),
        (f"{tmp_path}/mixed/", r"column 'x' holds numeric values \(double\) in a\.parquet but "
                               r"categorical values \(\w*string\) in b\.parquet"),
    ]
    for path, message in cases:
        with pytest.raises(MLOpsUsageError, match=message):
            drift_report(good, path)
        with pytest.raises(MLOpsUsageError, match=message):
            drift_report(path, good)
    with pytest.raises(MLOpsUsageError, match="holds dates or durations"):
        drift_report(f"{tmp_path}/dated/", good.assign(when=pd.Timestamp("2026-01-02")),
                     columns=["when"])
    with pytest.raises(MLOpsUsageError, match="is numeric in the reference but categorical"):
        drift_report(good.assign(y=1.0), f"{tmp_path}/ok/")
    with pytest.raises(MLOpsUsageError, match="the reference has no column z"):
        drift_report(f"{tmp_path}/ok/", good, columns=["z"])
    with pytest.raises(MLOpsUsageError, match="the current data lacks column y"):
        drift_report(good, f"{tmp_path}/short/b.parquet")

    def rows() -> dict[str, int]:
        with mlops.get_store().read() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                    for t in (tables.datasets, tables.dataset_versions, tables.blobs)}

    before = rows()
    for folder, message in (("broken", "does not read as parquet"), ("short", "no column 'y'"),
                            ("mixed", "holds numeric values")):
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.version_dataset(tmp_path / folder, "bad")
    assert rows() == before
    assert mlops.version_dataset(tmp_path / "empty", "notes").format == "folder"  # as before


def test_the_cli_and_the_magics_pass_paths_and_the_executor_on(project, capsys, sides, ip):
    from conftest import cli

    code, out, _ = cli(capsys, "drift", "report", sides["ref_path"], sides["cur_path"],
                       "--columns", "same,clear", "--executor", "local", "--format", "json")
    assert code == 0 and json.loads(out)["drifted_columns"] == ["clear"]
    code, _, err = cli(capsys, "drift", "report", sides["ref_path"], sides["cur_path"],
                       "--executor", "nowhere")
    assert code == 2 and "executor is 'local' or a Dask scheduler's address" in err
    code, _, err = cli(capsys, "monitor", "wine-clf", "--executor", "local")
    assert code == 2 and "--executor go with --batch PATH" in err
    report = ip.run_line_magic("drift", f"{sides['ref_path']} {sides['cur_path']} "
                                        "--columns same,clear --executor local")
    assert report.drifted_columns == ["clear"]
    version = ip.run_line_magic("dataset", f"save {sides['cur_path']} --name cur --no-copy "
                                           "--executor local")
    assert version.format == "parquet" and version.rows == ROWS


# A dataset larger than each worker's memory limit, on a real Dask cluster, from a client
# whose own address space is capped.
BIG_ROWS, BIG_FILES = 6_000_000, 12  # 8 float64 columns: 384 MB in memory, 192 MB a half
LIMIT = "250MB"  # each worker's memory limit
# The client's cap: this much address space above what it holds once warmed up (imports, the
# Dask client, arrow's thread pools, a first small report). Its work needed under 45 MB
# (measured: +6 MB for a report on Dask, +42 MB computed locally on two threads, +42 MB for
# the profile); reading either side whole needs 192 or 384 MB, so 128 MB proves it never
# did, and the test makes the cap bite: a whole read under it fails. Arrow allocates from the
# system allocator there (ARROW_DEFAULT_MEMORY_POOL=system): mimalloc reserves large ranges
# of address space up front and would fill them unseen by the cap.
HEADROOM = 128 << 20
CAPPED_CLIENT = """
import base64, json, resource, sys, threading

config = json.loads(sys.argv[1])
threading.stack_size(1 << 20)  # the threads this work starts reserve 1 MB, not 8
import pandas, pyarrow

import jupyter_mlops as mlops
from jupyter_mlops.drift.report import drift_report
from jupyter_mlops.executors import resolve


def status(key):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(key + ":"))


executor = resolve(config["url"])
for where in ("local", executor):
    drift_report(config["warm"], config["warm"], executor=where)
base = status("VmSize")
resource.setrlimit(resource.RLIMIT_AS, (base + config["headroom"],) * 2)
out = {}
for name, where in (("dask", executor), ("local", "local")):
    report = drift_report(config["ref"], config["cur"], executor=where)
    out[name] = {"report": report.to_dict(), "peak": status("VmPeak") - base,
                 "reference": base64.b64encode(report.reference.to_bytes()).decode(),
                 "current": base64.b64encode(report.current.to_bytes()).decode()}
    print(f"report {name}: peak {out[name]['peak'] >> 20} MB above base", file=sys.stderr)
version = mlops.version_dataset(config["ref"], "big", copy=False, executor=executor)
out["profile"] = {"ref": version.ref, "peak": status("VmPeak") - base}
print(f"profile: peak {out['profile']['peak'] >> 20} MB above base", file=sys.stderr)
try:
    pandas.read_parquet(config["ref"])
    out["whole"] = "read"
except (MemoryError, pyarrow.ArrowMemoryError) as exc:
    out["whole"] = type(exc).__name__
print(json.dumps(out))
"""


def big_frame(i: int, rows: int) -> pd.DataFrame:
    """The i-th file: the second half of the files moves c0 (+0.3 sd) and c7 (sd x1.2)."""
    rng = np.random.default_rng([7, i])
    later = i >= BIG_FILES // 2
    data = {"c0": rng.normal(0.3 if later else 0.0, 1, rows), "c1": rng.lognormal(0, 1, rows),
            "c2": rng.normal(5, 2, rows), "c3": rng.poisson(4, rows).astype("float64"),
            "c4": rng.uniform(-1, 1, rows), "c5": rng.exponential(2, rows),
            "c6": rng.normal(0, 1, rows), "c7": rng.normal(0, 1.2 if later else 1.0, rows)}
    data["c6"][rng.random(rows) < 0.01] = np.nan
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """12 files of 500,000 rows (a-00 … a-05, then b-06 … b-11), and 12 small ones."""
    root = tmp_path_factory.mktemp("big")
    for folder in ("data", "warm"):
        (root / folder).mkdir()
    for i in range(BIG_FILES):
        big_frame(i, BIG_ROWS // BIG_FILES).to_parquet(
            root / "data" / f"{'ab'[i >= BIG_FILES // 2]}-{i:02d}.parquet", index=False)
        big_frame(i, 1_000).to_parquet(root / "warm" / f"w-{i:02d}.parquet", index=False)
    return root


def rebuilt(data: dict) -> DriftReport:
    report = data["report"]
    return DriftReport([ColumnDrift.from_dict(c) for c in report["columns"]],
                       Reference.from_bytes(base64.b64decode(data["reference"])),
                       Reference.from_bytes(base64.b64decode(data["current"])),
                       report["dataset_threshold"], (report["reference"], report["current"]),
                       report["method"])


def test_a_dataset_larger_than_each_worker_s_memory_on_dask_from_a_capped_client(
        project, big, tmp_path):
    from dask.utils import parse_bytes
    from dask_cluster import dask_cluster
    from distributed import Client

    from jupyter_mlops.data.profile import describe
    from jupyter_mlops.data.versions import get_version

    def peak_memory() -> int:  # (nested: the workers get it by value)
        """The worker's peak resident memory since it started (VmHWM: its ru_maxrss would
        count what the test process held when it forked the worker)."""
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))

    ref, cur = f"{big / 'data'}/", f"{big / 'data'}/b-*.parquet"
    config = {"ref": ref, "cur": cur, "warm": f"{big / 'warm'}/", "headroom": HEADROOM}
    env = {**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "2"}
    with dask_cluster(tmp_path / "cluster", workers=2, memory_limit=LIMIT) as cluster:
        config["url"] = cluster.url
        proc = subprocess.run([sys.executable, "-c", CAPPED_CLIENT, json.dumps(config)],
                              capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        with Client(cluster.address, timeout=10) as client:
            peaks = client.run(peak_memory)
            limits = {w["name"]: w["memory_limit"]
                      for w in client.scheduler_info(n_workers=-1)["workers"].values()}
    out = json.loads(proc.stdout)
    frame = pd.read_parquet(ref)  # the in-memory result, in this process
    size = frame.memory_usage(index=False).sum()
    assert size > 380e6 and set(limits.values()) == {parse_bytes(LIMIT)} and len(peaks) == 2
    assert all(peak < parse_bytes(LIMIT) < size for peak in peaks.values()), peaks
    assert out["whole"] in ("MemoryError", "ArrowMemoryError")  # the cap bites
    assert max(out[k]["peak"] for k in ("dask", "local", "profile")) < HEADROOM
    memory = drift_report(frame, pd.concat([pd.read_parquet(p) for p in
                                            sorted((big / "data").glob("b-*.parquet"))]))
    assert memory.drifted_columns == ["c0", "c7"]
    on_dask, local = rebuilt(out["dask"]), rebuilt(out["local"])
    assert on_dask.current.rows == local.current.rows == BIG_ROWS // 2
    assert_same_report(on_dask, memory)
    assert_same_report(local, memory)  # so local and Dask agree, each within the bound
    schema, profile = describe(frame)
    stored = get_version(out["profile"]["ref"])  # what the capped client recorded
    assert stored.schema == schema and stored.rows == BIG_ROWS
    assert_same_profile(stored.profile, profile, frame, exact=("c3",))
