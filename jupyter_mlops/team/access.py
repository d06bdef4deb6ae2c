"""What a team store's database refused, said in one line: the user's role, and the role the
action needs (from the matrix). Row-level security also refuses silently (an UPDATE or DELETE
of rows the role may not change changes none): `require_changed` turns that into the same
error."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import AccessError
from .matrix import ROLES, needed

if TYPE_CHECKING:
    from ..store import Store

_TABLE = re.compile(r'(?:for table|policy for table) "?(\w+)"?')


def role_of(store: Store) -> str:
    """The team role of this process's database user ("none" outside the team)."""
    if getattr(store, "_team_role", None) is None:
        from sqlalchemy import text

        with store.engine.connect() as conn:
            held = set(conn.execute(text(
                "SELECT g.rolname FROM pg_roles g WHERE pg_has_role(session_user, g.oid, "
                "'MEMBER') AND g.rolname = ANY(:groups)"), {"groups": list(ROLES.values())}
            ).scalars())
        implied = {"maintainer": {"contributor", "viewer"}, "contributor": {"viewer"},
                   "service": {"viewer"}}  # what each role's membership brings with it
        names = {name for name, group in ROLES.items() if group in held}
        names -= {n for name in names for n in implied.get(name, ())}
        order = ["maintainer", "contributor", "service", "viewer"]
        store._team_role = " and ".join(n for n in order if n in names) or "none"
    return store._team_role


def refused(store: Store, exc: Any) -> AccessError:
    """The AccessError for a driver error the database raised as insufficient privilege."""
    from ..store import _reason

    message = _reason(exc)
    statement = str(getattr(exc, "statement", "") or "").lstrip().split(" ", 1)[0].lower()
    found = _TABLE.search(message)
    need = ""
    if found and statement in ("insert", "update", "delete"):
        need = f"; {statement} on {found.group(1)} needs {needed(found.group(1), statement)}"
    return AccessError(f"the team store refused this to {store.actor} (role "
                       f"{role_of(store)}): {message}{need}. Nothing was changed.")


def require(store: Store, table: str, operation: str, what: str) -> None:
    """On a team store, refuse before starting what needs `operation` (insert, update,
    delete) on `table` when the database says this user's role may not: for work that would
    otherwise find nothing to do and report it done (gc with nothing to remove)."""
    if not store.team:
        return
    from sqlalchemy import text

    with store.read() as conn:
        allowed = conn.execute(text("SELECT has_table_privilege(:t, :op)"),
                               {"t": table, "op": operation.upper()}).scalar()
    if not allowed:
        raise AccessError(f"{store.actor} (role {role_of(store)}) may not {what}: that needs "
                          f"{needed(table, operation)}. Nothing was changed.")


def require_changed(store: Store, result: Any, expected: int, what: str) -> None:
    """On a team store, refuse when row-level security let fewer than `expected` rows of
    `what` change (they are someone else's: a contributor changes only its own)."""
    if store.team and result.rowcount < expected:
        raise AccessError(f"{store.actor} (role {role_of(store)}) may not change {what}: a "
                          f"contributor changes only what it created, a maintainer anything. "
                          "Nothing was changed.")
