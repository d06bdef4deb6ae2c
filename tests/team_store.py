"""A team store for tests: a fresh PostgreSQL database made a team store, and one login role
per team role (NOSUPERUSER, NOBYPASSRLS, named uniquely: roles are the cluster's), dropped
with the database afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ROLES = ("viewer", "contributor", "maintainer", "service")


@dataclass
class TeamStore:
    uri: str  # the owner's (postgres) URI
    artifacts: str
    users: dict[str, str] = field(default_factory=dict)  # name -> team role

    def uri_of(self, user: str) -> str:
        return self.uri.replace("postgres@", f"{user}@", 1)

    @contextmanager
    def acting_as(self, user: str) -> Iterator[None]:
        """The API's store is this database, logged in as `user`."""
        from jupyter_mlops.store import reset

        saved = os.environ.get("MLOPS_STORE_URI")
        os.environ["MLOPS_STORE_URI"] = self.uri_of(user)
        reset()
        try:
            yield
        finally:
            from jupyter_mlops.tracking import fluent, writer

            while fluent.active_run() is not None:
                fluent.end_run()
            writer.forget_all()
            os.environ["MLOPS_STORE_URI"] = saved or self.uri
            reset()

    def sql(self, user: str):
        """A raw psycopg connection (autocommit) as `user`: what a client that skips the
        library can do."""
        import psycopg

        return psycopg.connect(self.uri_of(user), autocommit=True)


def make_team_store(uri: str, artifacts: str) -> TeamStore:
    """`uri`'s database (upgraded) made a team store, with a user in each team role."""
    from jupyter_mlops.store import Store
    from jupyter_mlops.team import setup

    store = Store(uri, artifacts)
    setup.init(store)
    team = TeamStore(uri, artifacts)
    tag = uuid.uuid4().hex[:6]
    for role in ROLES:
        name = f"t{tag}_{role}"
        setup.add(name, role, store=store)
        team.users[role] = name
    store.dispose()
    return team


def drop_users(team: TeamStore) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        for name in team.users:
            c.execute(f'DROP ROLE IF EXISTS "{team.users[name]}"')
