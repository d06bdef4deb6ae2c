"""The feature store: definitions and their versions, point-in-time training sets against a
brute force in plain pandas (hypothesis), SQL views over dataset versions, lineage, the
embedded and Redis online stores (atomic replacement), the adapters, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from jupyter_mlops.errors import MLOpsUsageError
from jupyter_mlops.store import tables

T0 = pd.Timestamp("2026-01-01")
SOURCE: dict[str, pd.DataFrame] = {}  # what the test views return (their source reads it)


def counts(mlops) -> dict[str, int]:
    with mlops.get_store().read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.feature_views, tables.feature_materializations)}


def define_views(mlops, ttl_minutes):
    @mlops.feature_view("spend", entities=["customer_id"], timestamp="ts",
                        ttl=None if ttl_minutes is None else ttl_minutes * 60)
    def spend():
        return SOURCE["spend"]

    @mlops.feature_view("visits", entities=["customer_id", "region"], timestamp="ts")
    def visits():
        return SOURCE["visits"]

    return spend, visits


def brute_force(entities: pd.DataFrame, rows: pd.DataFrame, keys: list[str], feature: str,
                ttl: pd.Timedelta | None) -> list:
    """For each entity row: the latest row of its key at or before its time, within ttl."""
    out = []
    for _, e in entities.iterrows():
        match = rows
        for k in keys:
            match = match[match[k] == e[k]]
        match = match[match.ts <= e.event_timestamp]
        if ttl is not None:
            match = match[match.ts >= e.event_timestamp - ttl]
        out.append(match.sort_values("ts")[feature].iloc[-1] if len(match) else None)
    return out


feature_rows = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 40),
                                  st.floats(-100, 100, allow_nan=False)), min_size=1, max_size=40)
entity_rows = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1), st.integers(0, 45)),
                       min_size=1, max_size=25)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=feature_rows, other=feature_rows, wanted=entity_rows,
       ttl=st.one_of(st.none(), st.integers(1, 20)))
def test_point_in_time_join_matches_a_brute_force(mlops, rows, other, wanted, ttl):
    spend_rows = pd.DataFrame(rows, columns=["customer_id", "region", "minute", "amount"])
    spend_rows = spend_rows.drop_duplicates(["customer_id", "minute"])
    visit_rows = pd.DataFrame(other, columns=["customer_id", "region", "minute", "count"])
    visit_rows = visit_rows.drop_duplicates(["customer_id", "region", "minute"])
    for frame in (spend_rows, visit_rows):
        frame["ts"] = T0 + pd.to_timedelta(frame.pop("minute"), unit="min")
    SOURCE["spend"] = spend_rows.drop(columns="region")
    SOURCE["visits"] = visit_rows
    define_views(mlops, ttl)
    mlops.materialize("spend")
    mlops.materialize("visits")
    entities = pd.DataFrame(wanted, columns=["customer_id", "region", "minute"])
    entities["event_timestamp"] = T0 + pd.to_timedelta(entities.pop("minute"), unit="min")
    entities.index = entities.index[::-1]  # any index: kept as given
    got = mlops.get_historical_features(entities, ["spend:amount", "visits:count"])
    assert len(got) == len(entities) and list(got.index) == list(entities.index)
    pd.testing.assert_frame_equal(got[entities.columns], entities)
    ttl_delta = None if ttl is None else pd.Timedelta(minutes=ttl)
    expected = brute_force(entities, SOURCE["spend"], ["customer_id"], "amount", ttl_delta)
    assert [None if pd.isna(v) else v for v in got["amount"]] == expected
    expected = brute_force(entities, visit_rows, ["customer_id", "region"], "count", None)
    assert [None if pd.isna(v) else v for v in got["count"]] == expected


def test_definitions_are_versioned_by_their_source(project, mlops):
    SOURCE["spend"] = pd.DataFrame({"customer_id": [1, 2], "ts": [T0, T0], "amount": [1.0, 2.0]})
    first, _ = define_views(mlops, None)
    again, _ = define_views(mlops, None)
    assert first.version == again.version == 1 and counts(mlops)["feature_views"] == 2
    assert first.features == (("amount", "float64"),) and first.entities == ("customer_id",)
    longer, _ = define_views(mlops, 30)  # a new ttl: a new version
    assert longer.version == 2 and longer.ttl == 1800
    assert mlops.get_view("spend@1").ttl is None and mlops.get_view("spend").version == 2
    assert list(mlops.list_views().name) == ["spend", "visits"]


def returning(rows):
    def bad():
        return rows

    return bad


def test_bad_definitions_store_nothing(project, mlops):
    good = pd.DataFrame({"id": [1, 2], "ts": [T0, T0], "x": [1.0, 2.0]})
    cases = [
        (good.drop(columns="id"), "lack column id"),
        (good.drop(columns="ts"), "lack column ts"),
        (good.assign(ts=["2026-01-01", "2026-01-02"]), "holds (object|str), not datetimes"),
        (pd.concat([good, good]), "2 rows repeat an \\(entity, timestamp\\) pair"),
        (good.assign(ts=[T0, pd.Timestamp("2026-01-01", tz="UTC")]), "mixes time zone-aware"),
        (good[["id", "ts"]], "no feature columns"),
        ([1, 2], "returns a DataFrame, not a list"),
    ]
    for rows, message in cases:
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.feature_view("bad", entities=["id"], timestamp="ts")(returning(rows))
    for call, message in [
        (lambda: mlops.feature_view("bad", entities=[], timestamp="ts")(returning(good)),
         "at least one entity"),
        (lambda: mlops.feature_view("bad", entities="id", timestamp="ts", ttl="soon")(
            returning(good)), "ttl: 'soon' is not a duration"),
        (lambda: mlops.feature_view("a:b", entities="id", timestamp="ts")(returning(good)),
         "may not contain :"),
        (lambda: mlops.feature_view("bad", entities="id", timestamp="ts")(lambda: good),
         "a feature view is a function \\(def\\)"),
        (lambda: mlops.materialize("ghost"), "no feature view named 'ghost'"),
        (lambda: mlops.get_view("bad@2"), "no feature view named 'bad'"),
    ]:
        with pytest.raises(MLOpsUsageError, match=message):
            call()
    assert counts(mlops) == {"feature_views": 0, "feature_materializations": 0}


def test_training_set_errors_and_naming(project, mlops):
    SOURCE["spend"] = pd.DataFrame({"customer_id": [1, 2], "ts": [T0, T0], "amount": [1.0, 2.0]})
    SOURCE["visits"] = pd.DataFrame({"customer_id": [1], "region": [0], "ts": [T0],
                                     "count": [5]})
    define_views(mlops, None)
    entities = pd.DataFrame({"customer_id": [1, 2], "region": [0, 0],
                             "event_timestamp": [T0, T0], "amount": [9, 9]})
    got = mlops.get_historical_features(entities, ["spend:amount", "visits:count"])
    assert list(got.columns) == ["customer_id", "region", "event_timestamp", "amount",
                                 "spend__amount", "count"]  # amount was taken by entity_df
    full = mlops.get_historical_features(entities, ["visits:count"], full_feature_names=True)
    assert "visits__count" in full.columns
    for call, message in [
        (lambda: mlops.get_historical_features(entities, "spend:amount"), "is a list"),
        (lambda: mlops.get_historical_features(entities, ["amount"]), "not a \"view:feature\""),
        (lambda: mlops.get_historical_features(entities, ["spend:nope"]), "has no feature nope"),
        (lambda: mlops.get_historical_features(entities.drop(columns="region"),
                                               ["visits:count"]), "lacks region"),
        (lambda: mlops.get_historical_features(entities, ["spend:amount"], timestamp="when"),
         "no timestamp column 'when'"),
        (lambda: mlops.get_historical_features(
            entities.assign(event_timestamp=entities.event_timestamp.dt.tz_localize("UTC")),
            ["spend:amount"]), "naive but entity_df's are time zone-aware"),
    ]:
        with pytest.raises(MLOpsUsageError, match=message):
            call()


def test_the_entity_time_column_is_found_like_feast_finds_it(project, mlops):
    """Without timestamp=: event_timestamp, else the only datetime column (aware or naive);
    none or several is one error naming the datetime columns found; timestamp= wins."""
    SOURCE["spend"] = pd.DataFrame({"customer_id": [1, 2], "ts": [T0, T0], "amount": [1.0, 2.0]})
    SOURCE["visits"] = pd.DataFrame({"customer_id": [1], "region": [0], "ts": [T0],
                                     "count": [5]})
    define_views(mlops, None)
    before = T0 - pd.Timedelta(days=1)  # earlier than every feature row: no match
    entities = pd.DataFrame({"customer_id": [1, 2], "when": [T0, before], "note": ["a", "b"],
                             "day": ["2026-01-01", "2026-01-01"]})  # text is not a time
    got = mlops.get_historical_features(entities, ["spend:amount"])
    assert got["amount"].tolist()[0] == 1.0 and np.isnan(got["amount"].tolist()[1])
    pd.testing.assert_frame_equal(got, mlops.get_historical_features(
        entities, ["spend:amount"], timestamp="when"))
    # an explicit timestamp= wins over event_timestamp
    both = entities.assign(event_timestamp=[before, T0])
    assert mlops.get_historical_features(both, ["spend:amount"], timestamp="when")[
        "amount"].tolist()[0] == 1.0
    assert np.isnan(mlops.get_historical_features(both, ["spend:amount"])["amount"].tolist()[0])
    # a time zone-aware column is a datetime column too: it is the one used (and refused for
    # not matching the view's naive times)
    aware = entities.assign(when=entities["when"].dt.tz_localize("UTC"))
    with pytest.raises(MLOpsUsageError, match="naive but entity_df's are time zone-aware"):
        mlops.get_historical_features(aware, ["spend:amount"])
    for frame, message in [
        (entities.drop(columns="when"), "entity_df has no event_timestamp column and no "
                                        "datetime column .*timestamp="),
        (entities.assign(seen=entities["when"].dt.tz_localize("UTC")),
         "2 datetime columns \\('when', 'seen'\\): name the column holding each row's time "
         "with timestamp="),
    ]:
        with pytest.raises(MLOpsUsageError, match=message):
            mlops.get_historical_features(frame, ["spend:amount"])


def test_sql_views_read_datasets_and_runs_record_their_training_sets(project, mlops):
    tx = pd.DataFrame({"customer_id": [1, 1, 2], "ts": pd.to_datetime(
        ["2026-01-01", "2026-01-05", "2026-01-03"]), "amount": [10.0, 20.0, 5.0]})
    mlops.version_dataset(tx, "transactions")
    from jupyter_mlops.features.views import define_view

    view = define_view("totals", "customer_id", "ts", """
        SELECT customer_id, ts, sum(amount) OVER (PARTITION BY customer_id ORDER BY ts) AS total
        FROM dataset('transactions@latest')""", sql=True)
    assert view.kind == "sql" and view.feature_names == ["total"]
    done = mlops.materialize("totals")
    assert done.inputs == ("dataset:transactions@1",) and done.rows == 3
    entities = pd.DataFrame({"customer_id": [1, 1, 2],
                             "event_timestamp": pd.to_datetime(["2026-01-02", "2026-01-09",
                                                                "2026-01-02"])})
    with mlops.start_run(name="train") as run:
        got = mlops.get_historical_features(entities, ["totals:total"])
    assert got.total.tolist()[:2] == [10.0, 30.0] and pd.isna(got.total.iloc[2])
    inputs = {link.ref: link.role for link in mlops.get_run(run.id).inputs}
    assert inputs["feature:totals@1"] is None
    assert inputs["dataset:training-set-totals@1"] == "train"
    graph = mlops.lineage(run.id, depth=3)
    edges = {(e.source, e.target) for e in graph.edges}
    assert ("dataset:transactions@1", "feature:totals@1") in edges
    assert ("feature:totals@1", f"run:{run.id}") in edges


def test_a_fresh_process_materializes_a_python_view_from_its_stored_source(project, mlops):
    """...when the project allows that source to run (its digest in run_feature_sources)."""
    @mlops.feature_view("squares", entities=["k"], timestamp="ts")
    def squares():
        import pandas as pd

        return pd.DataFrame({"k": range(5), "ts": pd.Timestamp("2026-01-01"),
                             "sq": [k * k for k in range(5)]})

    proc = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "features", "materialize",
                           "squares"], capture_output=True, text=True, cwd=project,
                          env={**os.environ, "MLOPS_RUN_FEATURE_SOURCES": squares.digest},
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "squares@1: 5 rows" in proc.stdout
    shown = subprocess.run([sys.executable, "-m", "jupyter_mlops.cli", "features", "show",
                            "squares"], capture_output=True, text=True, cwd=project, timeout=60)
    data = json.loads(shown.stdout)
    assert data["materialized"]["rows"] == 5 and "def squares():" in data["source"]


def test_the_features_commands(project, mlops, capsys):
    """`jupyter mlops features list|show|materialize`, `--help` on each, and bad input: the
    usage and one error line, exit 2, nothing written."""
    from conftest import cli, error_line

    @mlops.feature_view("shop", entities=["k"], timestamp="ts")
    def shop():
        import pandas as pd

        return pd.DataFrame({"k": [1, 2], "ts": pd.Timestamp("2026-01-01"), "x": [0.5, 1.5]})

    code, out, _ = cli(capsys, "features", "list", "--format", "json")
    assert code == 0 and json.loads(out.splitlines()[0])["name"] == "shop"
    code, out, _ = cli(capsys, "features", "materialize", "shop", "--online", "--start",
                       "2025-12-01")
    assert code == 0 and "shop@1: 2 rows, 2 keys online" in out
    code, out, _ = cli(capsys, "features", "show", "shop")
    assert code == 0 and json.loads(out)["materialized"]["rows"] == 2
    for sub in ((), ("list",), ("show",), ("materialize",)):
        code, out, err = cli(capsys, "features", *sub, "--help")
        assert (code, err) == (0, "") and out.startswith(" ".join(
            ("usage: jupyter mlops features", *sub)))
    before = counts(mlops)
    for args, message in [
            (("show", "ghost"), "no feature view named 'ghost'"),
            (("materialize", "ghost"), "no feature view named 'ghost'"),
            (("materialize", "shop", "--start", "2026-02-01", "--end", "2026-01-01"),
             "end must be after start"),
            (("materialize", "shop", "--end", "soon"), "timestamp 'soon' is not a time"),
            (("materialize",), "the following arguments are required: name"),
            (("frobnicate",), "invalid choice: 'frobnicate'")]:
        code, out, err = cli(capsys, "features", *args)
        assert (code, out) == (2, "") and message in error_line(err), (args, err)
        assert err.startswith("usage: jupyter mlops features")
    assert counts(mlops) == before


# another Redis database through MLOPS_TEST_REDIS_URL, so that test runs side by side keep apart
REDIS_URL = os.environ.get("MLOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def use_redis(monkeypatch):
    """The test's online store is Redis db 15, emptied; its client. Without Redis the test
    skips, or fails under CI=true."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis on 127.0.0.1:6379 is required under CI=true")
        pytest.skip("no Redis on 127.0.0.1:6379")
    monkeypatch.setenv("MLOPS_ONLINE_STORE", REDIS_URL)
    return client


@pytest.fixture(params=["sqlite", "redis"])
def online(request, project, monkeypatch):
    if request.param == "redis":
        use_redis(monkeypatch)
    return request.param


def test_online_features_latest_within_ttl_in_order(online, mlops):
    now = pd.Timestamp.now().floor("s")
    SOURCE["spend"] = pd.DataFrame({
        "customer_id": [1, 1, 2, 3], "amount": [1.0, 2.0, 3.0, 4.0],
        "ts": [now - pd.Timedelta("2h"), now - pd.Timedelta("1h"), now - pd.Timedelta("3h"),
               now - pd.Timedelta(days=3)]})
    define_views(mlops, 24 * 60)
    done = mlops.materialize("spend", online=True)
    assert done.online == 2  # customer 3's row is older than the ttl
    got = mlops.get_online_features(["spend:amount"], [{"customer_id": 2}, {"customer_id": 3},
                                                       {"customer_id": 9}, {"customer_id": 1}])
    assert got.customer_id.tolist() == [2, 3, 9, 1]
    assert [None if pd.isna(v) else v for v in got.amount] == [3.0, None, None, 2.0]
    frame = mlops.get_online_features(["spend:amount"], pd.DataFrame({"customer_id": [1.0]}))
    assert frame.amount.tolist() == [2.0]  # 1.0 and 1 are the same key
    rows = [{"customer_id": 2, "note": "a", "amount": 0}, {"customer_id": 1}]
    pd.testing.assert_frame_equal(  # dicts: as pd.DataFrame(rows) with the features beside
        mlops.get_online_features(["spend:amount"], rows),
        pd.DataFrame(rows).assign(amount_online=[3.0, 2.0]))
    with pytest.raises(MLOpsUsageError, match="entity_rows lack customer_id"):
        mlops.get_online_features(["spend:amount"], [{"id": 1}])


def test_rematerializing_replaces_keys_atomically(online, mlops):
    now = pd.Timestamp.now().floor("s")
    keys = list(range(300))

    def generation(g: int) -> pd.DataFrame:
        return pd.DataFrame({"customer_id": keys, "ts": now, "a": float(g), "b": float(g)})

    SOURCE["pair"] = generation(0)

    @mlops.feature_view("pair", entities=["customer_id"], timestamp="ts")
    def pair():
        return SOURCE["pair"]

    mlops.materialize("pair", online=True)
    torn, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            got = mlops.get_online_features(["pair:a", "pair:b"],
                                            [{"customer_id": k} for k in keys])
            torn.extend(got[got.a != got.b].customer_id.tolist())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for g in range(1, 6):
            SOURCE["pair"] = generation(g)
            mlops.materialize("pair", online=True)
    finally:
        stop.set()
        thread.join()
    assert torn == []
    final = mlops.get_online_features(["pair:a"], [{"customer_id": 7}])
    assert final.a.tolist() == [5.0]


def test_the_feature_magic(ip, mlops, capsys):
    from IPython.core.error import UsageError

    ip.user_ns["base"] = pd.Timestamp("2026-01-01")
    cell = ("import pandas as pd\nrows = pd.DataFrame({'k': [1, 2], 'ts': [base, base], "
            "'x': [0.5, 1.5]})\nrows")
    view = ip.run_cell_magic("feature", "demo --entities k --timestamp ts --ttl 30d", cell)
    assert view.ref == "demo@1" and view.ttl == 30 * 86400
    assert ip.run_cell_magic("feature", "demo --entities k --timestamp ts --ttl 30d",
                             cell).version == 1
    ip.run_line_magic("feature", "materialize demo")
    assert "demo@1: 2 rows" in capsys.readouterr().out
    ip.run_line_magic("feature", "show demo")
    ip.user_ns["ents"] = pd.DataFrame({"k": [2], "event_timestamp": [pd.Timestamp("2026-01-02")]})
    ip.run_line_magic("feature", "get ents --features demo:x --into train")
    assert ip.user_ns["train"].x.tolist() == [1.5]
    # without --timestamp the API finds the time column: the only datetime one here
    ip.user_ns["seen"] = pd.DataFrame({"k": [2], "seen": [pd.Timestamp("2026-01-02")]})
    assert ip.run_line_magic("feature", "get seen --features demo:x").x.tolist() == [1.5]
    assert list(ip.run_line_magic("feature", "list").name) == ["demo"]
    online = ip.run_line_magic("feature", "online demo:x --entity k=2")
    assert online.x.isna().all()  # never materialized online
    for line, message in [("get nothing --features demo:x", "no variable named 'nothing'"),
                          ("show ghost", "no feature view named 'ghost'"),
                          ("online demo:x --entity k", "--entity takes KEY=VALUE"),
                          ("frobnicate", "unknown subcommand")]:
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("feature", line)
    with pytest.raises(UsageError, match="last line must be the view's DataFrame"):
        ip.run_cell_magic("feature", "bad --entities k --timestamp ts", "x = 1")
    with pytest.raises(UsageError, match="the following arguments are required: --timestamp"):
        ip.run_cell_magic("feature", "bad --entities k", "rows")
    assert ip.run_line_magic("feature", "--help") is None
    assert "%%feature NAME --entities" in capsys.readouterr().out
    assert counts(mlops)["feature_views"] == 1


def test_online_values_round_trip_exactly(online, mlops):
    """Keys and values are encoded a column at a time: every value reads back as it was
    (floats to the last bit, missing values as nulls), on the fast all-float path too."""
    now = pd.Timestamp.now().floor("s")
    floats = [0.1, 1 / 3, 1e-300, 123456789.123456789, 2.0**60]
    SOURCE["mixed"] = pd.DataFrame({
        "region": ["north", "south", "é\"s", "north", "west"],
        "shop": [1, 2, 3, 4, 5], "ts": now,
        "x": floats, "y": [float("nan"), float("inf"), -float("inf"), 0.0, -0.0],
        "n": [1, 2, 3, 4, 2**53 + 1], "flag": [True, False, True, False, True],
        "label": ["a", None, "c\\d", "ü", ""],
        "when": [now, pd.NaT, now, now, now],
        "whole": [2.0, -0.0, 1e16, 1e22, -7.0],
        "half": np.array([0.1, 1.5, -2.0, 3.25, 1e-8], dtype="float32"),
        "count": pd.array([1, None, 3, 2**62, -5], dtype="Int64"),
        "share": pd.array([0.25, None, 1.0, 0.5, 0.75], dtype="Float64"),
        "ok": pd.array([True, None, False, True, False], dtype="boolean")})
    SOURCE["plain"] = pd.DataFrame({"shop": [1, 2, 3, 4, 5], "ts": now, "x": floats})

    @mlops.feature_view("mixed", entities=["region", "shop"], timestamp="ts")
    def mixed():
        return SOURCE["mixed"]

    @mlops.feature_view("plain", entities=["shop"], timestamp="ts")
    def plain():
        return SOURCE["plain"]

    assert mlops.materialize("mixed", online=True).online == 5
    assert mlops.materialize("plain", online=True).online == 5
    from jupyter_mlops.features.online import online_lookup

    rows = SOURCE["mixed"][["region", "shop"]].to_dict("records")
    got = online_lookup(["mixed:x", "mixed:y", "mixed:n", "mixed:flag", "mixed:label",
                         "mixed:when"], rows)
    assert got["x"] == floats and [float(v).hex() for v in got["x"]] == [v.hex() for v in floats]
    assert got["y"][0] is None and got["y"][1:3] == [float("inf"), -float("inf")]
    assert str(got["y"][4]) == "-0.0"
    assert got["n"] == [1, 2, 3, 4, 2**53 + 1] and got["flag"] == [True, False, True, False, True]
    assert got["label"] == ["a", None, "c\\d", "ü", ""]
    assert got["when"][1] is None and pd.Timestamp(got["when"][0]) == now
    nullable = online_lookup(["mixed:whole", "mixed:half", "mixed:count", "mixed:share",
                              "mixed:ok"], rows)
    assert nullable["whole"] == [2.0, -0.0, 1e16, 1e22, -7.0]
    assert all(isinstance(v, float) for v in nullable["whole"])  # whole floats stay floats
    assert str(nullable["whole"][1]) == "-0.0"
    assert nullable["half"] == [float(v) for v in SOURCE["mixed"].half]  # each float32 exactly
    assert nullable["count"] == [1, None, 3, 2**62, -5]
    assert nullable["share"] == [0.25, None, 1.0, 0.5, 0.75]
    assert nullable["ok"] == [True, None, False, True, False]
    fast = online_lookup(["plain:x"], [{"shop": k} for k in (5, 4, 3, 2, 1)])
    assert fast["x"] == floats[::-1] and isinstance(fast["x"][4], float)


key_values = st.one_of(
    st.integers(-3, 3), st.sampled_from(["a", "b", "é", ""]),
    st.sampled_from([0.5, -1.0, float("nan")]), st.none())


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(key_values, st.integers(0, 3), st.integers(0, 4)), max_size=30),
       kind=st.sampled_from(["mixed", "int", "float", "text", "time", "wide", "flag"]))
def test_row_order_finds_repeats_and_last_rows_like_pandas(rows, kind):
    """The numpy row order (numbers as they are, other keys by their codes) agrees with
    pandas' duplicated and sort + drop_duplicates on every kind of key, missing values too,
    whether the keys are packed into one integer or too wide for it ("wide")."""
    from jupyter_mlops.features import frames

    frame = pd.DataFrame(rows, columns=["key", "other", "minute"], dtype=object)
    frame["key"] = {"mixed": frame.key, "int": frame.other.astype("int64"),
                    "float": frame.other.astype(float).where(frame.minute != 2),
                    "text": frame.other.map("k{}".format),
                    "time": T0 + pd.to_timedelta(frame.other.astype(int), unit="D"),
                    "wide": frame.other.astype("int64") * 2**61 - 2**62,
                    "flag": frame.other.astype(int) % 2 == 0}[kind]
    frame["ts"] = T0 + pd.to_timedelta(frame.pop("minute").astype(int), unit="min")
    frame["x"] = range(len(frame))
    columns = ["key", "ts"]
    if kind == "mixed":  # the reference: pandas' duplicated with missing keys as one value
        frame["key"] = frame.key.where(frame.key.notna(), None)  # (None, NaN: one entity)
    repeated = frame.duplicated(subset=columns)
    if repeated.any():
        with pytest.raises(MLOpsUsageError, match=f"{int(repeated.sum())} rows repeat"):
            frames.refuse_duplicates(frame, columns)
        frame = frame[~repeated].reset_index(drop=True)
    frames.refuse_duplicates(frame, columns)
    arrays = frames.key_arrays(frame, columns)
    order = frames.row_order(arrays)
    ordered = frame.take(order)
    for _, group in ordered.groupby(frame.key.take(order).astype(str), sort=False):
        assert group.ts.is_monotonic_increasing  # each entity's rows in time order
    latest = frame.take(frames.last_positions(arrays[:-1], order))
    expected = frame.sort_values("ts").drop_duplicates(subset=["key"], keep="last")
    assert sorted(latest.x) == sorted(expected.x)


def test_missing_key_values_are_one_entity_key():
    """Rows are grouped by entity with every missing value as one: online too, so the key a
    materialization writes for them is the key a lookup with any missing value reads."""
    from jupyter_mlops.features.online import entity_key

    assert {entity_key([v]) for v in (None, float("nan"), pd.NA, pd.NaT, np.nan)} == {"[null]"}
    assert entity_key([np.int64(3), 2.0, "é", True]) == '[3,2,"\\u00e9",true]'


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(st.text(max_size=12), st.text(max_size=40),
                                st.integers(1, 2**40)), min_size=1, max_size=20),
       expire=st.booleans())
def test_redis_commands_are_written_as_hiredis_packs_them(pairs, expire):
    """The SET commands the Redis store builds with Arrow are byte for byte the ones hiredis
    packs (any text, multi-byte and control characters too, with and without PX)."""
    import pyarrow as pa
    from hiredis import pack_command

    from jupyter_mlops.features.online import _resp_sets

    names, values, millis = (list(x) for x in zip(*pairs, strict=True))
    built = _resp_sets(pa.array(names, pa.string()), pa.array(values, pa.string()),
                       np.array(millis, dtype="int64") if expire else None)
    expected = b"".join(pack_command(("SET", n, v, "PX", m) if expire else ("SET", n, v))
                        for n, v, m in pairs)
    assert bytes(built) == expected


def test_materialize_windows_orders_and_refuses_repeats(online, mlops):
    """start/end keep rows with start <= time < end (offline and online); the parquet holds
    them by entity, then time, whatever order the view returned; a view whose rows come to
    repeat an (entity, time) pair is refused at materialization and nothing is stored."""
    import pyarrow.parquet as pq

    from jupyter_mlops.features.offline import local_parquet
    from jupyter_mlops.features.online import online_lookup

    now = pd.Timestamp.now().floor("s")
    stamps = [now - pd.Timedelta(hours=h) for h in (5, 1, 3, 2, 4, 6)]
    SOURCE["shops"] = pd.DataFrame({"shop": ["b", "a", "b", "a", "c", "a"], "ts": stamps,
                                    "sales": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})

    @mlops.feature_view("shops", entities=["shop"], timestamp="ts")
    def shops():
        return SOURCE["shops"]

    done = mlops.materialize("shops", start=now - pd.Timedelta(hours=5),
                             end=now - pd.Timedelta(hours=1), online=True)
    assert done.rows == 4 and done.online == 3
    stored = pq.read_table(local_parquet(done.digest)).to_pandas()
    assert stored.shop.tolist() == ["a", "b", "b", "c"] and stored.sales.tolist() == [
        4.0, 1.0, 3.0, 5.0]
    got = online_lookup(["shops:sales"], [{"shop": s} for s in ("a", "b", "c")])
    assert got["sales"] == [4.0, 3.0, 5.0]  # the hour-old row is past the window's end
    SOURCE["shops"] = pd.concat([SOURCE["shops"], SOURCE["shops"].iloc[[2]]])
    before = counts(mlops)
    with pytest.raises(MLOpsUsageError, match="1 rows repeat an \\(entity, timestamp\\) pair, "
                                              "e.g. \\['b'"):
        mlops.materialize("shops", online=True)
    assert counts(mlops) == before
    assert online_lookup(["shops:sales"], [{"shop": "a"}])["sales"] == [4.0]


def test_an_online_store_that_refuses_writes_stores_nothing(project, mlops, monkeypatch):
    """Redis answering an error (here out of memory) ends the materialization with one clear
    StoreError; no materialization is recorded, and the store's connections still work."""
    from jupyter_mlops.errors import StoreError

    client = use_redis(monkeypatch)
    now = pd.Timestamp.now().floor("s")
    SOURCE["bulk"] = pd.DataFrame({"customer_id": range(20_000), "ts": now, "amount": 1.0})

    @mlops.feature_view("bulk", entities=["customer_id"], timestamp="ts")
    def bulk():
        return SOURCE["bulk"]

    before = counts(mlops)
    limit, policy = (client.config_get(k)[k] for k in ("maxmemory", "maxmemory-policy"))
    client.config_set("maxmemory-policy", "noeviction")  # server-wide, restored below
    client.config_set("maxmemory", 1)
    try:
        with pytest.raises(StoreError, match=f"online store {REDIS_URL}: command "
                                             "not allowed when used memory > 'maxmemory'"):
            mlops.materialize("bulk", online=True)
    finally:
        client.config_set("maxmemory", limit)
        client.config_set("maxmemory-policy", policy)
    assert counts(mlops) == before
    assert mlops.materialize("bulk", online=True).online == 20_000
    got = mlops.get_online_features(["bulk:amount"], [{"customer_id": 19_999}])
    assert got.amount.tolist() == [1.0]
