"""Team mode on JupyterHub (issue 20): the identity is the Hub user, and each user's server,
with the kernels and pipeline runs it starts, reaches the store with that user's own database
login, which the Hub gives it.

A real JupyterHub (tests/hub.py) with two users, alice and bob, whose servers share one
project; its store is a PostgreSQL database owned by `postgres`, and each user has a LOGIN
role of their own with a password (NOSUPERUSER NOBYPASSRLS), named apart from the Hub name so
that a value taken from the Hub or the OS cannot pass for it. Everything goes through the
Hub's proxy with the user's own token: reads, and a pipeline started over REST whose notebook
tracks a run; then the store is read as its owner."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import SimpleNamespace

import nbformat
import pytest
from hub import jupyterhub, team_logins

USERS = ("alice", "bob")
PIPELINE = "hub-check"
# the step's notebook: a parameters cell (who started it, as the client says), then a run
# that logs the store its kernel opened, as the project shows it (the password redacted)
CELLS = ['who = ""',
         "%load_ext jupyter_mlops\n"
         "import jupyter_mlops as mlops\n"
         "with mlops.start_run(params={'store': mlops.get_store().display_uri}):\n"
         "    mlops.log_metric('done', 1.0)"]
# both users' runs at once
SPEC = f"""name: {PIPELINE}
max_active_runs: 2
steps:
  - name: track
    notebook: track.ipynb
"""


@dataclass
class Written:
    pipeline_run: str  # the pipeline run the user's request started
    run: str  # the run its notebook tracked


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A team store, and a contributor login role with a password per user."""
    with team_logins(dict.fromkeys(USERS, "contributor"),
                     tmp_path_factory.mktemp("upgrade")) as made:
        yield made


@pytest.fixture(scope="module")
def hub(team, tmp_path_factory):
    """The Hub, both users logged in (a token each, from their password) and their servers
    started: (hub, user → session)."""
    scratch = tmp_path_factory.mktemp("hub")
    project = scratch / "project"
    project.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3"}
    nbformat.write(notebook, project / "track.ipynb")
    (project / "pipelines").mkdir()
    (project / "pipelines" / f"{PIPELINE}.yaml").write_text(SPEC)
    with jupyterhub(project, scratch, team.stores, str(scratch / "artifacts")) as running:
        sessions = {user: running.login(user) for user in USERS}
        running.start(sessions)
        yield running, sessions
        for session in sessions.values():
            session.close()
    assert not running.errors(), "the hub or a server logged errors:\n" + "\n".join(
        running.errors())


@pytest.fixture(scope="module")
def written(hub) -> dict[str, Written]:
    """Each user starts the pipeline over REST through their own server (with who=USER),
    at once; once both runs ended: user → what their run wrote."""
    running, sessions = hub
    for user, session in sessions.items():
        reply = session.post(f"{running.api(user)}pipelines/{PIPELINE}/runs",
                             json={"params": {"who": user}}, timeout=30)
        assert reply.status_code == 202, f"{user}: {reply.status_code} {reply.text}"
    deadline = time.monotonic() + 60
    while True:
        runs = sessions["alice"].get(f"{running.api('alice')}pipelines/{PIPELINE}",
                                     timeout=30).json()["runs"]
        if len(runs) == len(USERS) and all(r["status"] not in ("queued", "running")
                                           for r in runs):
            break
        assert time.monotonic() < deadline, f"pipeline runs not done: {runs}\n{running.tail()}"
        time.sleep(0.25)
    out: dict[str, Written] = {}
    for row in runs:
        run = sessions["alice"].get(f"{running.api('alice')}pipeline-runs/{row['run_id']}",
                                    timeout=30).json()
        assert run["status"] == "finished", run
        [step] = run["steps"]
        [tracked] = step["runs"]
        out[run["params"]["who"]] = Written(run["id"], tracked)
    assert sorted(out) == sorted(USERS)
    return out


@pytest.mark.slow
def test_each_user_reaches_only_their_own_server(hub):
    running, sessions = hub
    for user, other in zip(USERS, reversed(USERS), strict=True):
        mine = sessions[user].get(f"{running.api(user)}changes", timeout=30)
        assert mine.status_code == 200 and "changes" in mine.json()
        theirs = sessions[user].get(f"{running.api(other)}changes", timeout=30,
                                    allow_redirects=False)
        assert theirs.status_code == 403, f"{user} reached {other}'s server: {theirs.status_code}"


@pytest.mark.slow
def test_each_server_connects_to_the_store_as_its_users_role(hub, team, written):
    """The server process itself (its REST reads) holds connections as the user's role
    only, seen from the database's side."""
    import psycopg

    running, sessions = hub
    for user in USERS:
        reply = sessions[user].get(f"{running.api(user)}runs/{written[user].run}", timeout=30)
        assert reply.status_code == 200, reply.text
        server = running.server_process(user)
        ports = [c.laddr.port for c in server.net_connections(kind="tcp")
                 if c.raddr and c.raddr.port == 5432]
        assert ports, f"{user}'s server holds no store connection"
        with psycopg.connect(team.owner) as conn:
            roles = conn.execute("SELECT usename FROM pg_stat_activity WHERE datname = %s "
                                 "AND client_port = ANY(%s)", (team.database, ports)).fetchall()
        assert sorted(r[0] for r in roles) == [team.roles[user]] * len(ports), (user, roles)


@pytest.mark.slow
def test_each_users_pipeline_run_tracks_a_run_with_their_credentials(hub, team, written):
    """The run was made by a process of the user's own server (a pipeline it started, whose
    notebook's kernel inherited its environment): the store it opened is the user's, and no
    password is in any row of the store."""
    import psycopg
    from psycopg import sql

    running, sessions = hub
    with psycopg.connect(team.owner) as conn:
        for user in USERS:
            mine = written[user]
            status, pipeline = conn.execute("SELECT status, pipeline FROM pipeline_runs "
                                            "WHERE id = %s", (mine.pipeline_run,)).fetchone()
            assert (status, pipeline) == ("finished", PIPELINE)
            params = {key: json.loads(value) for key, value in conn.execute(  # stored as JSON
                "SELECT key, value FROM params WHERE run_id = %s", (mine.run,)).fetchall()}
            tags = dict(conn.execute("SELECT key, value FROM tags WHERE run_id = %s",
                                     (mine.run,)).fetchall())
            assert params["store"] == team.shown(user), (user, params)
            assert params["who"] == user, params
            assert tags["mlops.pipeline_run"] == mine.pipeline_run
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for [table] in tables.fetchall():
            for password in team.passwords.values():
                [found] = conn.execute(sql.SQL("SELECT count(*) FROM {} AS row "
                                               "WHERE row::text LIKE %s")
                                       .format(sql.Identifier(table)),
                                       (f"%{password}%",)).fetchone()
                assert found == 0, f"a password is in {found} row(s) of {table}"
        # what each server answers over REST is the shared store: bob's run through alice's
        reply = sessions["alice"].get(f"{running.api('alice')}runs/{written['bob'].run}",
                                      timeout=30).json()
        assert reply["params"]["store"] == team.shown("bob")


def assert_actors_are_roles(owner: str, written: dict[str, Written],
                            roles: dict[str, str]) -> None:
    """Team mode's promise: what each user's server wrote names that user's PostgreSQL login
    role as its actor, set by the database from `session_user` (runs."user" of the tracked
    run, pipeline_runs.started_by of the pipeline run)."""
    import psycopg

    with psycopg.connect(owner) as conn:
        for user, mine in written.items():
            [run_user] = conn.execute('SELECT "user" FROM runs WHERE id = %s',
                                      (mine.run,)).fetchone()
            [started_by] = conn.execute("SELECT started_by FROM pipeline_runs WHERE id = %s",
                                        (mine.pipeline_run,)).fetchone()
            assert (run_user, started_by) == (roles[user], roles[user]), (
                f"{user}'s writes name {run_user!r} and {started_by!r}, not the role "
                f"{roles[user]!r}")


@pytest.mark.slow
def test_each_users_writes_name_their_role(hub, team, written):
    assert_actors_are_roles(team.owner, written, team.roles)


def test_the_documented_hook_gives_each_user_their_own_login(tmp_path, monkeypatch):
    """docs/team.md's jupyterhub_config.py (not run by the docs test: it needs a Hub) loads,
    and its pre_spawn_hook adds the user's own store URI to what every user shares, and
    refuses a user without one."""
    from test_docs import collect
    from traitlets.config import Config

    [block] = [b for b in collect("docs/team.md") if "pre_spawn_hook" in b.code]
    for name in ("OAUTH_CLIENT_SECRET", "MLOPS_ONLINE_STORE", "MLOPS_AWS_ACCESS_KEY_ID",
                 "MLOPS_AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, f"<{name}>")
    config = Config()
    namespace = {"get_config": lambda: config}
    exec(compile(block.code, "docs/team.md", "exec"), namespace)
    logins = tmp_path / "logins.json"
    logins.write_text(json.dumps({"alice": "postgresql://alice:pw@db.example.org/mlops"}))
    namespace["LOGINS"] = str(logins)
    shared = dict(config.Spawner.environment)
    assert shared["MLOPS_ONLINE_STORE"] == "<MLOPS_ONLINE_STORE>"
    assert "MLOPS_STORE_URI" not in shared
    alice = SimpleNamespace(user=SimpleNamespace(name="alice"), environment=dict(shared))
    config.Spawner.pre_spawn_hook(alice)
    assert alice.environment == {**shared,
                                 "MLOPS_STORE_URI": "postgresql://alice:pw@db.example.org/mlops"}
    bob = SimpleNamespace(user=SimpleNamespace(name="bob"), environment=dict(shared))
    with pytest.raises(ValueError, match="bob has no jupyter-mlops store login"):
        config.Spawner.pre_spawn_hook(bob)
    assert bob.environment == shared
