"""Who is asking and what they may do, for a UI that shows only the actions that will work:
on a team store the database user and its team role (the rights come from the matrix the
database enforces), elsewhere the one person who has every right."""

from __future__ import annotations

from typing import Any

from ..store import get_store
from .matrix import MAINTAINER, ROLES, may

PEOPLE = ("maintainer", "contributor", "viewer")  # the roles a person holds, strongest first


def whoami(user: str | None = None) -> dict[str, Any]:
    """`{user, team, role, may: {run, promote, request, approve, policy}}`.

    Not a team store: `user` is `user` (the Jupyter user asking) or the OS user, `role`
    None, and every action allowed but `request` and `approve` (promotion requests exist
    only on team stores). A team store: `user` is the database's session user, `role` the
    strongest of viewer, contributor and maintainer it holds (viewer for the service role,
    None outside the team), `may` what that role may do: start runs, move an alias that is
    not protected (`promote`), request a promotion, approve or reject one, set alias
    policies."""
    store = get_store()
    if not store.team:
        return {"user": user or store.actor, "team": False, "role": None,
                "may": {"run": True, "promote": True, "request": False, "approve": False,
                        "policy": True}}
    from .access import role_of

    held = set(role_of(store).split(" and "))
    role = next((r for r in PEOPLE if r in held), "viewer" if "service" in held else None)
    group = ROLES[role] if role else None
    allowed = {"run": ("runs", "insert"), "promote": ("model_aliases", "update"),
               "request": ("promotion_requests", "insert"),
               "policy": ("alias_policies", "insert")}
    rights = {action: group is not None and may(table, group, operation)
              for action, (table, operation) in allowed.items()}
    rights["approve"] = group == MAINTAINER
    return {"user": store.actor, "team": True, "role": role, "may": rights}
