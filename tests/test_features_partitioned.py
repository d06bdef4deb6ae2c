"""Feature views over partitioned parquet: defined on the first partition, materialized a
partition at a time here and on a real Dask cluster (two worker processes), the same rows,
profile and online keys as computing every partition in memory; bad input refused with one
error and nothing recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dask_cluster import dask_cluster
from sqlalchemy import func, select

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.store import tables


def write_events(root, days: int = 4, rows: int = 600, seed: int = 0) -> list[pd.DataFrame]:
    """Hive-partitioned events (day=N/part.parquet); the frames as written."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in range(days):
        frame = pd.DataFrame({"user": rng.integers(0, 40, rows),
                              "amount": rng.gamma(2.0, 10.0, rows).round(2)})
        frame["ts"] = (pd.Timestamp("2026-11-01") + pd.Timedelta(days=day)
                       + pd.to_timedelta(np.arange(rows) * 7, unit="s"))
        folder = root / "events" / f"day={day}"
        folder.mkdir(parents=True)
        frame.to_parquet(folder / "part.parquet")
        frames.append(frame)
    return frames


def spend(part):
    part = part.sort_values(["user", "ts"])
    part["running"] = part.groupby("user").amount.cumsum()
    return part[["user", "ts", "amount", "running"]]


def materializations(mlops) -> int:
    with mlops.get_store().read() as conn:
        return conn.execute(select(func.count()).select_from(
            tables.feature_materializations)).scalar()


def rows_of(mlops, materialization) -> pd.DataFrame:
    from jupyter_mlops.features.offline import local_parquet

    rows = pd.read_parquet(local_parquet(materialization.digest))
    return rows.sort_values(["user", "ts"]).reset_index(drop=True)


@pytest.fixture
def events(project):
    return write_events(project)


def expected(frames, start=None) -> pd.DataFrame:
    rows = pd.concat([spend(f.copy()) for f in frames], ignore_index=True)
    if start is not None:
        rows = rows[rows.ts >= start]
    return rows.sort_values(["user", "ts"]).reset_index(drop=True)


def test_a_view_over_partitions_materializes_a_partition_at_a_time(events, mlops):
    view = mlops.feature_view("spend", entities=["user"], timestamp="ts",
                              partitions="events/")(spend)
    assert view.partitions.endswith("/events/") and dict(view.features) == {
        "amount": "float64", "running": "float64"}
    done = mlops.materialize("spend", online=True)
    want = expected(events)
    pd.testing.assert_frame_equal(rows_of(mlops, done), want, check_dtype=False)
    # the profile: exact where it merges exactly, quantiles from the merged sketch
    amount = done.profile["columns"]["amount"]
    assert amount["count"] == len(want) and amount["missing"] == 0
    assert amount["min"] == want.amount.min() and amount["max"] == want.amount.max()
    assert amount["mean"] == pytest.approx(want.amount.mean(), rel=1e-12)
    assert amount["std"] == pytest.approx(want.amount.std(), rel=1e-9)
    rank = np.searchsorted(np.sort(want.amount), amount["quantiles"]["0.5"]) / len(want)
    assert abs(rank - 0.5) <= amount["quantile_rank_error"] + 1 / len(want)
    assert done.profile["partitions"] == 4
    # each key's newest row went online; training sets join the offline rows as of a time
    newest = want.groupby("user").tail(1).set_index("user")
    online = mlops.get_online_features(["spend:running"], [{"user": 3}, {"user": 17}])
    assert online["running"].tolist() == newest.loc[[3, 17], "running"].tolist()
    entity_df = pd.DataFrame({"user": [3], "event_timestamp": [pd.Timestamp("2026-11-02")]})
    train = mlops.get_historical_features(entity_df, ["spend:running"])
    before = want[(want.user == 3) & (want.ts <= pd.Timestamp("2026-11-02"))]
    assert train.running.iloc[0] == before.running.iloc[-1]
    # a window keeps rows from `start` on
    later = mlops.materialize("spend", start=pd.Timestamp("2026-11-03"))
    pd.testing.assert_frame_equal(rows_of(mlops, later),
                                  expected(events, pd.Timestamp("2026-11-03")),
                                  check_dtype=False)


def test_on_a_dask_cluster_the_workers_compute_the_partitions(events, mlops, tmp_path):
    mlops.feature_view("spend", entities=["user"], timestamp="ts",
                       partitions="events/")(spend)
    here = mlops.materialize("spend")
    with dask_cluster(tmp_path / "cluster") as cluster:
        there = mlops.materialize("spend", online=True, executor=cluster.url)
    pd.testing.assert_frame_equal(rows_of(mlops, there), rows_of(mlops, here))
    assert there.digest == here.digest  # the same parts, joined in partition order
    assert there.online == 40
    # the same profile: exact figures equal; quantiles from sketches merged in another order,
    # each within the sketch's rank error
    for name, mine in here.profile["columns"].items():
        theirs = there.profile["columns"][name]
        assert {k: v for k, v in theirs.items() if k != "quantiles"} == pytest.approx(
            {k: v for k, v in mine.items() if k != "quantiles"})
        values = np.sort(rows_of(mlops, here)[name])
        for q, at in theirs["quantiles"].items():
            rank = np.searchsorted(values, at, side="right") / len(values)
            assert abs(rank - float(q)) <= 2 * theirs["quantile_rank_error"] + 1 / len(values) + 1e-9


def test_bad_views_and_repeated_keys_are_refused_and_record_nothing(events, project, mlops):
    def none():
        return pd.DataFrame()

    cases = [
        (lambda: mlops.feature_view("v", entities=["user"], timestamp="ts",
                                    partitions="events")(spend), "partitions is a path"),
        (lambda: mlops.feature_view("v", entities=["user"], timestamp="ts",
                                    partitions="./nothing/")(spend), "no file or folder"),
        (lambda: mlops.feature_view("v", entities=["user"], timestamp="ts",
                                    partitions="events/")(none), "takes 0"),
    ]
    for call, message in cases:
        with pytest.raises(MLOpsUsageError, match=message):
            call()
    def everything():
        import pandas as pd

        part = pd.read_parquet("events/").sort_values(["user", "ts"])
        return part.assign(total=part.groupby("user").amount.cumsum())

    mlops.feature_view("all", entities=["user"], timestamp="ts")(everything)
    # the same (user, ts) in two partitions: found when the parts are joined, nothing kept
    extra = pd.read_parquet(project / "events" / "day=0" / "part.parquet").head(3)
    (project / "events" / "day=9").mkdir()
    extra.to_parquet(project / "events" / "day=9" / "part.parquet")
    mlops.feature_view("dup", entities=["user"], timestamp="ts", partitions="events/")(spend)
    with pytest.raises(MLOpsUsageError, match="the rows of more than one partition share"):
        mlops.materialize("dup")
    # a view computing all its rows at once takes no cluster
    with pytest.raises(MLOpsUsageError, match="computes all its rows at once"):
        mlops.materialize("all", executor="dask://127.0.0.1:1")
    assert materializations(mlops) == 0
