"""Registry events delivered to hooks, on SQLite, on PostgreSQL and on a team store: the
process that caused an event delivers it once (a webhook POST, a queued pipeline run), a
second delivery (another call, another process at the same time, the scheduler) delivers
nothing more, hooks get only the kinds and models they ask for and only what happened after
them, webhook URLs show scheme://host[:port] only everywhere, bad input is one clear error
that writes nothing, only maintainers change hooks, and the adapters pass what they should."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pandas as pd
import psycopg
import pytest
from conftest import cli, error_line
from sqlalchemy import func, select
from test_pipelines import notebook
from webhook import Receiver

from jupyter_mlops.errors import AccessError, MLOpsUsageError, NotFoundError
from jupyter_mlops.store import tables

SECRET = "/services/T0/B0/XSECRET?token=T0KEN"  # the path and query a webhook keeps secret
X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def starts(monkeypatch):
    """The detached starts of queued pipeline runs, recorded instead of made (a queued run
    is what these tests look at; tests/test_monitoring.py runs one)."""
    from jupyter_mlops.pipelines import runner

    started = []
    monkeypatch.setattr(runner, "start_pipeline", lambda name, **kw: started.append(
        (name, kw["queued"])))
    return started


@pytest.fixture
def retrain(project):
    notebook(project / "retrain.ipynb", "n = 1", "m = n")
    from jupyter_mlops.pipelines.spec import export_pipeline

    export_pipeline("retrain", notebooks=["retrain.ipynb"])
    return "retrain"


@pytest.fixture
def undelivered(monkeypatch):
    """The process that causes events dies before it delivers them."""
    from jupyter_mlops.registry import aliases, versions

    for module in (versions, aliases):
        monkeypatch.setattr(module, "deliver_after_commit", lambda: None)


def register(mlops, name="m", **kwargs):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, [0.0, 1.0, 2.0])
    return mlops.register_model(model, name, signature=X, **kwargs)


def counts(mlops) -> dict[str, int]:
    with mlops.get_store().read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (tables.event_hooks, tables.event_deliveries, tables.pipeline_runs,
                          tables.changes)}


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def statuses(mlops, model=None) -> dict[tuple[int, int], str | None]:
    """(event id, hook id) -> webhook status, for every delivery."""
    frame = mlops.registry_events(model)
    return {(e, d["hook_id"]): d["webhook_status"]
            for e, done in zip(frame.id, frame.deliveries, strict=True) for d in done}


def test_registering_delivers_once_to_the_webhook_and_queues_the_pipeline_once(
        backend, mlops, hook, retrain, starts):
    register(mlops)  # before the hook: never delivered to it
    made = mlops.add_event_hook(["registered"], webhook=hook.url + SECRET, pipeline=retrain)
    assert made.webhook == hook.url.removesuffix("/hook") and made.kinds == ("registered",)
    version = register(mlops)
    (body,) = hook.wait(1)
    assert hook.paths == ["/hook" + SECRET]  # posted to the whole URL
    runs = mlops.list_pipeline_runs(retrain)
    assert len(runs) == 1 and runs.status.iloc[0] == "queued" and runs.trigger.iloc[0] == "event"
    assert starts == [(retrain, runs.run_id.iloc[0])]
    assert body["kind"] == "registered" and body["model"] == "m" and body["version"] == 2
    assert body["hook_id"] == made.id and body["pipeline_run_id"] == runs.run_id.iloc[0]
    assert body["actor"] == version.created_by and "webhook" not in body
    events = mlops.registry_events("m")
    assert events.kind.tolist() == ["registered", "registered"]  # newest first
    assert events.version.tolist() == [2, 1] and events.deliveries.iloc[1] == []
    wait_for(lambda: statuses(mlops) == {(events.id.iloc[0], made.id): "204"})
    (delivery,) = events.deliveries.iloc[0]
    assert delivery["pipeline_run_id"] == runs.run_id.iloc[0]
    assert delivery["webhook"] == made.webhook
    # delivering again, or moving on, delivers nothing more
    before = counts(mlops)
    assert mlops.deliver_events() == []
    mlops.set_alias("m", "staging", 2)  # an alias_moved event: this hook does not want it
    assert counts(mlops)["event_deliveries"] == before["event_deliveries"] == 1
    assert len(hook.received) == 1 and len(mlops.list_pipeline_runs(retrain)) == 1
    assert len(starts) == 1


# a process that delivers once it and the other one have both read what is pending: both
# then claim the same pairs at the same time
AT_ONCE = """
import pathlib, sys, time
import jupyter_mlops as m
from jupyter_mlops.team import events
read = events._pending
def pending(conn):
    found = read(conn)
    pathlib.Path(f"read-{sys.argv[1]}").touch()
    while not all(pathlib.Path(f"read-{i}").exists() for i in (0, 1)):
        time.sleep(0.01)
    return found
events._pending = pending
print(len(m.deliver_events()))
"""


def test_two_processes_delivering_at_once_deliver_each_event_once(
        backend, mlops, hook, undelivered, project):
    register(mlops)
    made = mlops.add_event_hook("registered,alias_moved", webhook=hook.url)
    register(mlops)
    register(mlops, alias="staging")
    mlops.delete_alias("m", "staging")
    assert mlops.registry_events().deliveries.map(len).tolist() == [0, 0, 0, 0, 0]
    procs = [subprocess.Popen([sys.executable, "-c", AT_ONCE, str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=project) for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum(int(out.strip()) for out, _ in outs) == 4  # v2, v3, staging moved, removed
    assert sorted(((b["kind"], b["version"]) for b in hook.received), key=str) == [
        ("alias_moved", 3), ("alias_moved", None), ("registered", 2), ("registered", 3)]
    assert set(statuses(mlops).values()) == {"204"} and len(statuses(mlops)) == 4
    assert all(e != 1 for e, _ in statuses(mlops))  # the first registration came before it
    assert mlops.deliver_events() == [] and mlops.event_hooks().id.tolist() == [made.id]


def test_a_second_claimer_gets_nothing_and_its_queued_run_is_rolled_back(
        backend, mlops, retrain, undelivered):
    from jupyter_mlops.team import events

    mlops.add_event_hook(["registered"], pipeline=retrain)
    register(mlops)
    store = mlops.get_store()
    with store.read() as conn:
        (pair,) = events._pending(conn)
    assert events._claim(store, dict(pair))
    with pytest.raises(events._Skip):
        events._claim(store, dict(pair))
    assert counts(mlops)["pipeline_runs"] == 1 and counts(mlops)["event_deliveries"] == 1


def test_the_scheduler_delivers_what_a_process_left(project, mlops, hook, undelivered, capsys):
    from jupyter_mlops.pipelines.scheduler import run_scheduler

    mlops.add_event_hook(["registered"], webhook=hook.url, model=None)
    register(mlops)
    run_scheduler(interval=1, once=True)
    assert "delivered event 1 (registered m) to hook 1" in capsys.readouterr().out
    assert hook.wait(1)[0]["kind"] == "registered"
    assert statuses(mlops) == {(1, 1): "204"}


def test_hooks_get_the_kinds_and_models_they_ask_for(backend, mlops, hook, starts, retrain):
    register(mlops, "a")
    register(mlops, "b")
    moved = mlops.add_event_hook(["alias_moved"], webhook=hook.url, model="a")
    every = mlops.add_event_hook(["registered"], pipeline=retrain)
    assert mlops.event_hooks().id.tolist() == [moved.id, every.id]
    assert mlops.event_hooks("a").id.tolist() == [moved.id, every.id]
    assert mlops.event_hooks("b").id.tolist() == [every.id]
    assert mlops.event_hooks("b").model.tolist() == [None]
    register(mlops, "b")  # every: queued run
    mlops.set_alias("a", "staging", 1)  # moved: posted
    mlops.set_alias("b", "staging", 1)  # nobody
    hook.wait(1)
    frame = mlops.registry_events()
    got = {(k, m): [d["hook_id"] for d in done]
           for k, m, done in zip(frame.kind, frame.model, frame.deliveries, strict=True)}
    assert got[("alias_moved", "a")] == [moved.id] and got[("alias_moved", "b")] == []
    assert [d["hook_id"] for d in frame.deliveries.iloc[2]] == [every.id]  # b@2 registered
    assert len(starts) == 1 and len(hook.received) == 1
    mlops.remove_event_hook(every.id)  # stopped: later events are not its
    register(mlops, "b")
    assert mlops.event_hooks().id.tolist() == [moved.id] and len(starts) == 1
    assert len(mlops.registry_events(limit=1).deliveries.iloc[0]) == 0
    assert mlops.registry_events("b", since=int(frame.id.iloc[0])).version.tolist() == [3]


def test_a_failed_delivery_never_fails_the_registration(project, mlops, monkeypatch):
    from jupyter_mlops.errors import StoreError
    from jupyter_mlops.team import events

    def boom(wait):
        raise StoreError("the store went away")

    monkeypatch.setattr(events, "deliver_events", boom)
    with pytest.warns(UserWarning, match="were not delivered now \\(the store went away\\)"):
        assert register(mlops).version == 1
    assert mlops.registry_events().kind.tolist() == ["registered"]


def test_a_pipeline_this_project_lacks_waits_for_a_process_that_has_it(
        project, mlops, retrain, starts):
    mlops.add_event_hook(["registered"], pipeline=retrain)
    spec = project / "pipelines" / "retrain.yaml"
    kept = spec.read_text()
    spec.unlink()
    with pytest.warns(UserWarning, match="hook 1 \\(events 1\\): no pipeline named 'retrain'"):
        register(mlops)
    assert counts(mlops)["event_deliveries"] == 0
    spec.write_text(kept)
    (done,) = mlops.deliver_events()
    assert done["event_id"] == 1 and done["pipeline_run_id"] == starts[0][1]


def test_webhook_urls_show_scheme_host_and_port_only(project, mlops, hook, ip, capsys):
    url, shown = hook.url + SECRET, hook.url.removesuffix("/hook")
    made = mlops.add_event_hook(["registered"], webhook=url)
    closed = mlops.add_event_hook(["registered"],  # its failure quotes the user info
                                  webhook="http://us3rname:pa55word@127.0.0.1:9" + SECRET)
    register(mlops)
    hook.wait(1)
    done = wait_for(lambda: (lambda s: s if None not in s.values() else None)(statuses(mlops)))
    assert done[(1, made.id)] == "204" and done[(1, closed.id)].startswith("failed: ")
    seen = [repr(made), made.to_dict(), mlops.event_hooks().to_dict("records"),
            mlops.registry_events().to_dict("records"), done]
    ip.run_line_magic("register", "hooks")
    ip.run_line_magic("register", "hook add alias_moved --webhook " + url)
    seen.append(ip.run_line_magic("register", "events").to_dict("records"))
    for args in (("hooks", "--format", "json"), ("events", "--format", "json"), ("events",),
                 ("hook-add", "approved", "--webhook", url)):
        code, out, err = cli(capsys, "models", *args)
        assert code == 0, err
        seen.append(out)
    seen.append(capsys.readouterr())
    text = "\n".join(map(str, seen))
    for secret in ("XSECRET", "T0KEN", "pa55word", "us3rname", "services"):
        assert secret not in text
    assert shown in text and "http://127.0.0.1:9" in text
    assert mlops.deliver_events() == []


def test_bad_input_is_one_clear_error_and_writes_nothing(backend, mlops, retrain):
    register(mlops)
    before = counts(mlops)
    url = "https://chat.example.com" + SECRET
    for call, error, message in [
            (lambda: mlops.add_event_hook(["shipped"], webhook=url), MLOpsUsageError,
             "unknown event kind 'shipped': the kinds are registered, requested, approved, "
             "rejected, alias_moved"),
            (lambda: mlops.add_event_hook([], webhook=url), MLOpsUsageError,
             "give at least one event kind"),
            (lambda: mlops.add_event_hook(3, webhook=url), MLOpsUsageError,
             "kinds is a list of event kinds"),
            (lambda: mlops.add_event_hook(["registered"]), MLOpsUsageError,
             "a hook needs a webhook, a pipeline or both"),
            (lambda: mlops.add_event_hook(["registered"], webhook="ftp://host" + SECRET),
             MLOpsUsageError, "got one with scheme 'ftp'"),
            (lambda: mlops.add_event_hook(["registered"], webhook="https://[::1" + SECRET),
             MLOpsUsageError, "this one does not parse"),
            (lambda: mlops.add_event_hook(["registered"], webhook=url, model="ghost"),
             NotFoundError, "no model named 'ghost'"),
            (lambda: mlops.add_event_hook(["registered"], pipeline="nightly"), NotFoundError,
             "no pipeline named 'nightly'"),
            (lambda: mlops.remove_event_hook(7), NotFoundError, "no active event hook 7"),
            (lambda: mlops.remove_event_hook(2**40), NotFoundError, "no active event hook"),
            (lambda: mlops.remove_event_hook("1"), MLOpsUsageError, "is a number, got '1'"),
            (lambda: mlops.event_hooks("ghost"), NotFoundError, "no model named 'ghost'"),
            (lambda: mlops.registry_events("ghost"), NotFoundError, "no model named 'ghost'"),
            (lambda: mlops.registry_events(since=-1), MLOpsUsageError, "since is an event id"),
            (lambda: mlops.registry_events(limit=0), MLOpsUsageError, "limit is a positive")]:
        with pytest.raises(error) as caught:
            call()
        assert message in str(caught.value), str(caught.value)
        assert "XSECRET" not in str(caught.value) and "T0KEN" not in str(caught.value)
    assert counts(mlops) == before
    hook = mlops.add_event_hook(["registered"], webhook=url)
    mlops.remove_event_hook(hook.id)
    with pytest.raises(NotFoundError, match=f"no active event hook {hook.id}"):
        mlops.remove_event_hook(hook.id)  # removed already
    assert counts(mlops)["event_hooks"] == 1 and counts(mlops)["event_deliveries"] == 0


@pytest.mark.postgres
def test_on_a_team_store_maintainers_keep_the_hooks_and_every_writer_delivers(
        team, mlops, hook, retrain, starts, monkeypatch):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    viewer, service = team.users["viewer"], team.users["service"]
    with team.acting_as(alice):
        register(mlops)
        with pytest.raises(AccessError, match=f"refused this to {alice} \\(role contributor\\)"
                                              ".*insert on event_hooks needs maintainer"):
            mlops.add_event_hook(["registered"], webhook=hook.url)
    with team.acting_as(carol):
        made = mlops.add_event_hook(["registered", "alias_moved"], webhook=hook.url,
                                    pipeline=retrain)
    with team.acting_as(alice):
        with pytest.raises(AccessError, match="update on event_hooks needs maintainer"):
            mlops.remove_event_hook(made.id)
        register(mlops)  # the contributor delivers what it caused
        hook.wait(1)
        wait_for(lambda: set(statuses(mlops).values()) == {"204"})
    with psycopg.connect(team.uri) as conn:
        rows = conn.execute("SELECT delivered_by, pipeline_run_id FROM event_deliveries"
                            ).fetchall()
        queued = conn.execute("SELECT started_by, trigger FROM pipeline_runs").fetchall()
    assert rows == [(alice, starts[0][1])] and queued == [(alice, "event")]
    # events whose process died: a viewer cannot deliver them, the scheduler's role does
    monkeypatch.setattr("jupyter_mlops.registry.aliases.deliver_after_commit", lambda: None)
    with team.acting_as(alice):
        mlops.set_alias("m", "staging", 2)
    with team.acting_as(viewer), pytest.raises(AccessError, match=f"{viewer} \\(role viewer\\)"):
        mlops.deliver_events()
    with team.acting_as(service):
        (done,) = mlops.deliver_events()
        assert done["kind"] == "alias_moved" and done["webhook_status"] == "204"
        assert mlops.deliver_events() == []
    with psycopg.connect(team.uri) as conn:
        assert conn.execute("SELECT delivered_by, webhook_status FROM event_deliveries "
                            "ORDER BY id").fetchall() == [(alice, "204"), (service, "204")]
    with team.acting_as(carol):
        mlops.remove_event_hook(made.id)
        assert mlops.event_hooks().empty


RAW_SQL = [  # (role, statement, allowed), in this order on one team store
    ("contributor", "INSERT INTO event_hooks (kinds, webhook, active, created_at) "
     "VALUES ('[\"registered\"]', 'http://x', true, 0)", False),
    ("contributor", "UPDATE event_hooks SET active = false", False),
    ("service", "INSERT INTO event_hooks (kinds, webhook, active, created_at) "
     "VALUES ('[\"registered\"]', 'http://x', true, 0)", False),
    ("maintainer", "INSERT INTO event_hooks (kinds, webhook, active, created_at) "
     "VALUES ('[\"registered\"]', 'http://x', true, 0)", True),
    ("maintainer", "UPDATE event_hooks SET active = false WHERE id = 2", True),
    ("viewer", "INSERT INTO event_deliveries (event_id, hook_id, delivered_at) "
     "VALUES (1, 1, 0)", False),
    ("contributor", "INSERT INTO event_deliveries (event_id, hook_id, delivered_at) "
     "VALUES (1, 1, 0)", True),
    ("contributor", "DELETE FROM event_deliveries", False),
    ("contributor", "UPDATE event_deliveries SET hook_id = 2", False),
    ("maintainer", "INSERT INTO registry_events (kind, model_id, at) "
     "VALUES ('registered', 1, 0)", False),
]


@pytest.mark.postgres
def test_raw_sql_on_hooks_and_deliveries_is_held_by_the_matrix(team):
    """What a client that skips the library can do: only maintainers write hooks, nobody
    writes events, a deliverer inserts its delivery and records the webhook's answer on it
    once, and changes nothing else (nor anyone else's)."""
    alice, bob = team.users["contributor"], team.users["service"]
    with psycopg.connect(team.uri) as conn:  # an event (by its trigger) and a hook
        conn.execute("INSERT INTO models (id, name, created_at) VALUES (1, 'm', 0)")
        conn.execute("INSERT INTO model_versions (model_id, version, digest, flavor, size, "
                     "untrusted_types, created_at) VALUES (1, 1, 'd', 'sklearn', 1, '[]', 0)")
        conn.execute("INSERT INTO event_hooks (kinds, webhook, active, created_at) "
                     "VALUES ('[\"registered\"]', 'http://x', true, 0)")
    for role, statement, allowed in RAW_SQL:
        with team.sql(team.users[role]) as conn:
            if allowed:
                conn.execute(statement)
            else:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    with team.sql(bob) as conn:  # not its delivery: row-level security changes nothing
        assert conn.execute("UPDATE event_deliveries SET webhook_status = 'x'").rowcount == 0
    with team.sql(alice) as conn:
        assert conn.execute("UPDATE event_deliveries SET webhook_status = '204'").rowcount == 1
        assert conn.execute("UPDATE event_deliveries SET webhook_status = '500'").rowcount == 0
        assert conn.execute("SELECT event_id, hook_id, delivered_by, webhook_status FROM "
                            "event_deliveries").fetchall() == [(1, 1, alice, "204")]
        assert conn.execute("SELECT id, active FROM event_hooks ORDER BY id").fetchall() == [
            (1, True), (2, False)]


def test_the_register_magic(ip, mlops, hook, capsys, monkeypatch):
    from IPython.core.error import UsageError

    from jupyter_mlops.team import events

    register(mlops)
    ip.run_line_magic("register", f"hook add registered,alias_moved --webhook {hook.url} "
                                  "--model m")
    assert "hook 1: registered, alias_moved of m → http://127.0.0.1:" in capsys.readouterr().out
    assert ip.run_line_magic("register", "hooks m").kinds.tolist() == [
        ["registered", "alias_moved"]]
    register(mlops)
    hook.wait(1)
    frame = ip.run_line_magic("register", "events m --limit 1")
    assert frame.version.tolist() == [2] and frame.deliveries.iloc[0][0]["hook_id"] == 1
    ip.run_line_magic("register", "hook remove 1")
    assert "hook 1 removed" in capsys.readouterr().out and mlops.event_hooks().empty
    calls = []
    monkeypatch.setattr(events, "registry_events", lambda *a, **k: calls.append((a, k)))
    ip.run_line_magic("register", "events m --since 4 --limit 7")
    assert calls == [(("m",), {"since": 4, "limit": 7})]
    for line, message in [("hook add shipped --webhook http://h", "unknown event kind"),
                          ("hook add registered", "needs a webhook, a pipeline or both"),
                          ("hook remove x", "hook's id (a number), got 'x'"),
                          ("hook remove 1 --model m", "takes only the hook's id"),
                          ("hook drop 1", "invalid choice: 'drop'"),
                          ("hook", "the following arguments are required"),
                          ("events --limit many", "invalid int value")]:
        with pytest.raises(UsageError, match=re.escape(message)) as caught:
            ip.run_line_magic("register", line)
        assert "usage: %register" in str(caught.value)
    ip.run_line_magic("register", "hook --help")
    assert "%register hook add KIND" in capsys.readouterr().out
    assert counts(mlops)["event_hooks"] == 1


def test_the_models_cli(project, mlops, hook, capsys, monkeypatch):
    from jupyter_mlops.team import events

    register(mlops)
    code, out, _ = cli(capsys, "models", "hook-add", "registered", "--webhook", hook.url,
                       "--model", "m")
    assert code == 0 and out.startswith("hook 1: registered of m → http://127.0.0.1:")
    register(mlops)
    hook.wait(1)
    wait_for(lambda: statuses(mlops) == {(2, 1): "204"})
    code, out, _ = cli(capsys, "models", "events", "m")
    assert code == 0 and "hook 1 webhook 204" in out and "registered" in out
    code, out, _ = cli(capsys, "models", "events", "--format", "json", "--limit", "1")
    assert json.loads(out)["deliveries"][0]["webhook_status"] == "204"
    code, out, _ = cli(capsys, "models", "hooks", "m", "--format", "json")
    assert json.loads(out)["kinds"] == ["registered"]
    code, out, _ = cli(capsys, "models", "hook-remove", "1")
    assert code == 0 and out == "hook 1 removed\n"
    for args, message in [(("hook-add", "shipped", "--webhook", hook.url), "unknown event kind"),
                          (("hook-remove", "1"), "no active event hook 1"),
                          (("hook-remove", "x"), "invalid int value: 'x'"),
                          (("events", "ghost"), "no model named 'ghost'")]:
        code, out, err = cli(capsys, "models", *args)
        assert code == 2 and message in error_line(err), (args, err)
    calls = []
    monkeypatch.setattr(events, "add_event_hook", lambda *a, **k: calls.append((a, k)) or
                        events.EventHook(9, "m", ("approved",), None, "p", None, 0.0))
    code, out, _ = cli(capsys, "models", "hook-add", "approved,rejected", "--pipeline", "p",
                       "--model", "m")
    assert calls == [(("approved,rejected",), {"webhook": None, "pipeline": "p", "model": "m"})]
    assert out == "hook 9: approved of m → pipeline p\n"


async def test_the_rest_routes(api, mlops, hook, monkeypatch):
    register(mlops)
    status, made = await api("hooks", method="POST", body={
        "kinds": ["registered"], "webhook": hook.url + SECRET, "model": "m"})
    assert status == 201 and made["webhook"] == hook.url.removesuffix("/hook")
    assert made["kinds"] == ["registered"] and made["model"] == "m"
    register(mlops)  # delivered by this process
    hook.wait(1)
    wait_for(lambda: statuses(mlops) == {(2, made["id"]): "204"})
    status, body = await api("hooks", params={"model": "m"})
    assert status == 200 and [h["id"] for h in body["hooks"]] == [made["id"]]
    status, body = await api("models/m/events", params={"since": 1})
    assert status == 200 and [e["version"] for e in body["events"]] == [2]
    assert body["events"][0]["deliveries"][0]["webhook_status"] == "204"
    status, body = await api("events")
    assert status == 200 and len(body["events"]) == 2 and "XSECRET" not in json.dumps(body)
    for path, method, payload, code, message in [
            ("hooks", "POST", {"kinds": ["shipped"], "webhook": hook.url}, 400, "kinds.0"),
            ("hooks", "POST", {"kinds": ["registered"]}, 400, "a webhook, a pipeline or both"),
            ("hooks", "POST", {"kinds": ["registered"], "pipeline": "ghost"}, 404,
             "no pipeline named 'ghost'"),
            ("models/ghost/events", "GET", None, 404, "no model named 'ghost'"),
            ("hooks/99", "DELETE", None, 404, "no active event hook 99"),
            ("hooks/x", "DELETE", None, 400, "hook id must be an integer")]:
        status, body = await api(path, method=method, body=payload)
        assert status == code and message in body["error"], (path, body)
    status, body = await api(f"hooks/{made['id']}", method="DELETE")
    assert status == 200 and body == {"id": made["id"], "removed": True}
    assert counts(mlops)["event_hooks"] == 1 and mlops.event_hooks().empty


@pytest.mark.postgres
async def test_rest_answers_403_when_the_team_store_refuses(api, team, mlops, hook):
    with team.acting_as(team.users["contributor"]):
        status, body = await api("hooks", method="POST", body={"kinds": ["registered"],
                                                                "webhook": hook.url})
        assert status == 403 and "insert on event_hooks needs maintainer" in body["error"]
    assert counts(mlops)["event_hooks"] == 0
