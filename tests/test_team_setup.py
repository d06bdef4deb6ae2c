"""Setting up a team store as docs/team.md says, by a database owner that is not a superuser:
a login role with CREATEROLE and BYPASSRLS owns the database and runs `store upgrade`,
`team init` (twice: it replaces what it made), `team add` and `team list`; its team reads and
writes as the matrix says."""

from __future__ import annotations

import re
import uuid

import psycopg
import pytest
from conftest import PG_ADMIN, cli, error_line, require_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["CREATEROLE BYPASSRLS"])
def owned(request, project, monkeypatch):
    """A fresh database owned by a login role that is not a superuser (its attributes: the
    parameter); the API is pointed at it as that owner. (users to add, uri of a user name)."""
    require_postgres()
    tag = uuid.uuid4().hex[:8]
    owner, db, users = f"owner_{tag}", f"mlops_test_owned_{tag}", [f"alice_{tag}", f"bob_{tag}"]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN {request.param} NOSUPERUSER")
        conn.execute(f"CREATE DATABASE {db} OWNER {owner}")
    monkeypatch.setenv("MLOPS_STORE_URI", f"postgresql://{owner}@127.0.0.1:5432/{db}")
    yield users, lambda user: f"postgresql://{user}@127.0.0.1:5432/{db}"
    from jupyter_mlops.store import reset

    reset()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        for name in [*users, owner]:
            conn.execute(f"DROP ROLE IF EXISTS {name}")


def test_an_owner_that_is_not_a_superuser_sets_up_a_team(owned, mlops, capsys, monkeypatch):
    from jupyter_mlops.store import reset

    (alice, bob), uri_of = owned
    for args in (("store", "upgrade"), ("team", "init"), ("team", "init"),
                 ("team", "add", alice, "--role", "contributor"),
                 ("team", "add", bob, "--role", "maintainer")):
        code, out, err = cli(capsys, *args)
        assert code == 0, (args, err)
    code, out, _ = cli(capsys, "team", "list")
    assert code == 0 and re.search(rf"{alice}\s+contributor", out)
    assert re.search(rf"{bob}\s+maintainer", out)
    monkeypatch.setenv("MLOPS_STORE_URI", uri_of(alice))
    reset()
    with mlops.start_run(name="first") as run:
        mlops.log_metric("m", 1.0)
    assert mlops.get_run(run.id).to_dict()["user"] == alice


@pytest.mark.parametrize("owned", ["CREATEROLE"], indirect=True)
def test_an_owner_without_bypassrls_is_refused_before_it_locks_itself_out(owned, capsys):
    """Forced row-level security holds the tables' owner too: without BYPASSRLS the owner
    would read no row afterwards, not even the schema's version."""
    assert cli(capsys, "store", "upgrade")[0] == 0
    code, _, err = cli(capsys, "team", "init")
    assert code == 2 and "needs to be a superuser, or to have CREATEROLE and BYPASSRLS" in \
        error_line(err)
    code, out, _ = cli(capsys, "runs", "list")  # nothing changed: the owner still reads it
    assert code == 0
