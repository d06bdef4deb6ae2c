"""Team mode on a real PostgreSQL: `team init` secures every table, the actor of every write
is the database's session user whatever a client sends, each role writes only what the matrix
says (through the API, and through raw SQL as that role), and the team's members are managed
with one clear error for each bad input."""

from __future__ import annotations

import psycopg
import pytest
from conftest import cli, error_line

from jupyter_mlops.errors import AccessError, MLOpsUsageError

pytestmark = pytest.mark.postgres


def test_every_table_is_under_forced_row_level_security_with_policies_and_grants(team):
    """Walks the database's tables, so a table added later without its place in the matrix,
    its policies or its grants fails here."""
    from jupyter_mlops.store.tables import metadata
    from jupyter_mlops.team.matrix import MATRIX, VIEWER

    with psycopg.connect(team.uri) as conn:
        tables = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname "
            " AND p.schemaname = 'public'), has_table_privilege(%s, c.oid, 'SELECT') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'", (VIEWER,)).fetchall()
    assert {t[0] for t in tables} == set(MATRIX) == set(metadata.tables) | {
        "mlops_alembic_version"}
    for name, rls, forced, policies, readable in tables:
        assert rls and forced, name
        assert policies >= 2 and readable, name


def test_init_keeps_every_row_and_can_run_again(pg_uri, project, mlops):
    from team_store import drop_users, make_team_store

    with mlops.start_run(name="before") as run:
        mlops.log_metric("m", 1.0)
    made = make_team_store(pg_uri, str(project / "artifacts"))
    try:
        from jupyter_mlops.team.setup import init

        init()  # again: replaces its policies and triggers
        frame = mlops.search_runs()
        assert frame.run_id.tolist() == [run.id]
        assert mlops.get_run(run.id).metrics == {"m": 1.0}
    finally:
        drop_users(made)


def test_the_actor_is_the_session_user_even_when_a_client_forges_it(team, mlops):
    alice, bob = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(alice):
        with mlops.start_run(name="mine") as run:
            mlops.log_param("x", 1)
        assert mlops.get_store().actor == alice
    with team.sql(alice) as conn:
        conn.execute("INSERT INTO experiments (name, created_at, lifecycle, created_by) "
                     "VALUES ('forged', 0, 'active', %s)", (bob,))
        conn.execute("SET ROLE mlops_contributor")  # current_user changes, session_user not
        conn.execute("INSERT INTO experiments (name, created_at, lifecycle, created_by) "
                     "VALUES ('set-role', 0, 'active', 'mlops_contributor')")
    with psycopg.connect(team.uri) as conn:
        made = dict(conn.execute("SELECT name, created_by FROM experiments").fetchall())
        user = conn.execute('SELECT "user" FROM runs WHERE id = %s', (run.id,)).fetchone()[0]
    assert user == alice
    assert made["forged"] == alice and made["set-role"] == alice


def test_actor_parameters_are_refused_on_a_team_store(team, mlops):
    from sklearn.linear_model import LinearRegression

    with team.acting_as(team.users["contributor"]), pytest.warns(UserWarning, match="signature"):
        mlops.register_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), "m")
    with team.acting_as(team.users["contributor"]):
        with pytest.raises(MLOpsUsageError, match="database records who acts"):
            mlops.set_alias("m", "staging", 1, actor="someone-else")
        mlops.set_alias("m", "staging", 1)
        history = mlops.alias_history("m")
    assert history.actor.tolist() == [team.users["contributor"]]


def test_a_contributor_changes_only_what_it_created(team, mlops):
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(carol), mlops.start_run(name="carols") as theirs:
        pass
    with team.acting_as(alice):
        with mlops.start_run(name="alices") as mine:
            pass
        with pytest.raises(AccessError, match=f"{alice} \\(role contributor\\) may not change "
                                              f"run {theirs.id[:8]}"):
            mlops.delete_run(theirs.id)
        mlops.delete_run(mine.id)
    with team.sql(alice) as conn:
        changed = conn.execute("UPDATE runs SET name = 'taken' WHERE id = %s", (theirs.id,))
        assert changed.rowcount == 0  # row-level security: not its row
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO params (run_id, key, value, text) VALUES (%s, 'k', '1', "
                         "'1')", (theirs.id,))
    with team.acting_as(carol):  # a maintainer may
        mlops.delete_run(mine.id, purge=True)
        assert mlops.search_runs().run_id.tolist() == [theirs.id]


def test_a_viewer_writes_nothing(team, mlops):
    viewer = team.users["viewer"]
    with team.acting_as(viewer):
        assert mlops.search_runs().empty
        refused = pytest.raises(AccessError, match=f"refused this to {viewer} \\(role viewer\\)")
        with refused, mlops.start_run(name="nope"):
            pass
    with team.sql(viewer) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO changes (kind, key, action, at) VALUES ('x', 'y', 'z', 0)")
    with psycopg.connect(team.uri) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


@pytest.mark.parametrize("role, table, statement, allowed", [
    ("contributor", "alert_rules", "INSERT INTO alert_rules (model_id, ref, condition, active, "
     "created_at) VALUES (1, 'm', 'f1 < 0.5', true, 0)", False),
    ("contributor", "alias_policies", "INSERT INTO alias_policies (model_id, alias, protected, "
     "two_person, updated_at) VALUES (1, 'staging', false, false, 0)", False),
    ("contributor", "schedules", "INSERT INTO schedules (pipeline, cron, timezone, updated_at) "
     "VALUES ('p', '* * * * *', 'UTC', 0)", False),
    ("maintainer", "registry_events", "INSERT INTO registry_events (kind, model_id, at) "
     "VALUES ('approved', 1, 0)", False),
    ("maintainer", "schedules", "INSERT INTO schedules (pipeline, cron, timezone, updated_at) "
     "VALUES ('p', '* * * * *', 'UTC', 0)", True),
    ("service", "schedules", "INSERT INTO schedules (pipeline, cron, timezone, updated_at) "
     "VALUES ('p', '* * * * *', 'UTC', 0)", True),
    ("service", "runs", "INSERT INTO runs (id, experiment_id, name, status, start_time, heartbeat, "
     "lifecycle) VALUES ('r1', 1, 'x', 'running', 0, 0, 'active')", False),
    ("contributor", "texts", "INSERT INTO texts (digest, text) VALUES ('d', 't')", True),
    ("contributor", "texts", "UPDATE texts SET text = 'changed'", False),
    ("contributor", "blobs", "UPDATE blobs SET size = 0", False),
    ("contributor", "blobs", "UPDATE blobs SET touched_at = 1", True),
])
def test_raw_sql_as_each_role_is_held_by_the_matrix(team, role, table, statement, allowed):
    with psycopg.connect(team.uri) as conn:  # a model and an experiment to refer to
        conn.execute("INSERT INTO models (id, name, created_at) VALUES (1, 'm', 0)")
        conn.execute("INSERT INTO experiments (id, name, created_at, lifecycle) "
                     "VALUES (1, 'e', 0, 'active')")
        conn.execute("INSERT INTO blobs (digest, size, touched_at) VALUES ('b', 1, 0)")
    with team.sql(team.users[role]) as conn:
        if allowed:
            conn.execute(statement)
        else:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_members_are_added_removed_and_listed(team, mlops, capsys):
    from jupyter_mlops.team import setup

    code, out, err = cli(capsys, "team", "list")
    assert code == 0 and all(name in out for name in team.users.values())
    new = team.users["viewer"] + "_x"
    try:
        code, out, _ = cli(capsys, "team", "add", new, "--role", "contributor")
        assert code == 0 and "login role created" in out
        assert setup.members().set_index("user").loc[new, "role"] == "contributor"
        code, out, _ = cli(capsys, "team", "add", new, "--role", "viewer")  # moves, not adds
        assert setup.members().set_index("user").loc[new, "role"] == "viewer"
        code, out, _ = cli(capsys, "team", "remove", new)
        assert code == 0 and new not in setup.members().user.tolist()
    finally:
        with psycopg.connect(team.uri, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{new}"')


def test_bad_team_commands_change_nothing(team, mlops, capsys):
    from jupyter_mlops.team import setup

    before = setup.members()
    maintainer = team.users["maintainer"]
    for args, message in [
            (("add", "x", "--role", "owner"), "invalid choice: 'owner'"),
            (("add", "pg_x", "--role", "viewer"), "not a user name a team can have"),
            (("add", "postgres", "--role", "viewer"), "superuser"),
            (("remove", "nobody-here"), "is not in the team"),
            (("remove", maintainer), "last maintainer"),
            (("add", maintainer, "--role", "viewer"), "last maintainer")]:
        code, out, err = cli(capsys, "team", *args)
        assert code == 2 and message in error_line(err), (args, err)
    assert setup.members().equals(before)


def test_team_commands_need_a_team_store(pg_uri, project, capsys):
    code, _, err = cli(capsys, "team", "list")
    assert code == 2 and "not a team store yet" in error_line(err)


def test_the_embedded_store_is_one_person_with_every_right(project, mlops, capsys):
    with mlops.start_run() as run:
        pass
    assert mlops.get_store().team is False and mlops.get_run(run.id).to_dict()["user"]
    code, _, err = cli(capsys, "team", "init")
    assert code == 2 and "needs a PostgreSQL store" in error_line(err)
