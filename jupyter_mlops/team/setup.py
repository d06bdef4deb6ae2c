"""`jupyter mlops team init|add|remove|list`: the roles, grants, row-level security, actor
triggers and checked functions of a team store (PostgreSQL), and who is in which role.

`team init` is run once by the database's owner (a superuser, or a role with CREATEROLE and
BYPASSRLS: forced row-level security holds a table's owner too) and again whenever it is safe
to (it replaces what it made, keeps every row). Group roles are the cluster's, shared by its
databases; grants, policies, triggers and functions are this database's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError, StoreError
from .matrix import (
    ACTORS,
    ADMIN,
    CONTRIBUTOR,
    MAINTAINER,
    MATRIX,
    MEMBERSHIPS,
    ROLES,
    SERVICE,
    VIEWER,
    writes,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

GROUPS = (VIEWER, CONTRIBUTOR, MAINTAINER, SERVICE, ADMIN)
ADMIN_ONLY = f"current_user = '{ADMIN}'"  # inside a definer function, and nowhere else

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION mlops_stamp_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- TG_ARGV[0]: the actor column; TG_ARGV[1]: 'always' (every write) or 'insert' (the
  -- creator stays on updates). A client's own value never survives.
  IF TG_OP = 'INSERT' OR TG_ARGV[1] = 'always' THEN
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], session_user::text));
  ELSE
    NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], to_jsonb(OLD) -> TG_ARGV[0]));
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION mlops_alias_protected(model integer, name text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce((SELECT protected FROM alias_policies p
                   WHERE p.model_id = model AND p.alias = name), name = 'production')
$$;

CREATE OR REPLACE FUNCTION mlops_decide(request bigint, approve boolean, note text,
                                        gate_values text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  r promotion_requests;
  two boolean;
  before integer;
  now double precision := extract(epoch FROM clock_timestamp());
BEGIN
  IF NOT pg_has_role(session_user, '{MAINTAINER}', 'MEMBER') THEN
    RAISE EXCEPTION 'role % may not decide promotion requests: that needs {MAINTAINER}',
      session_user USING ERRCODE = '42501';
  END IF;
  SELECT * INTO r FROM promotion_requests WHERE id = request FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no promotion request %', request USING ERRCODE = 'P0002';
  END IF;
  IF r.state <> 'open' THEN
    RAISE EXCEPTION 'promotion request % is % already', request, r.state USING ERRCODE = '55000';
  END IF;
  SELECT coalesce((SELECT two_person FROM alias_policies
                   WHERE model_id = r.model_id AND alias = r.alias), true) INTO two;
  IF approve AND two AND r.requested_by = session_user THEN
    RAISE EXCEPTION 'role % opened promotion request % and may not approve it: alias % of this '
      'model needs a second person', session_user, request, r.alias USING ERRCODE = '42501';
  END IF;
  UPDATE promotion_requests
     SET state = CASE WHEN approve THEN 'approved' ELSE 'rejected' END,
         decided_by = session_user, decided_at = now, decision_comment = note,
         decision_gate_values = mlops_decide.gate_values
   WHERE id = request;
  IF approve THEN
    SELECT version INTO before FROM model_aliases WHERE model_id = r.model_id AND alias = r.alias;
    INSERT INTO model_aliases (model_id, alias, version, updated_at)
    VALUES (r.model_id, r.alias, r.version, now)
    ON CONFLICT (model_id, alias) DO UPDATE SET version = EXCLUDED.version,
                                                updated_at = EXCLUDED.updated_at;
    INSERT INTO alias_events (model_id, alias, from_version, to_version, actor, at, comment,
                              gate, request_id, requested_by, decision_comment, gate_values)
    VALUES (r.model_id, r.alias, before, r.version, session_user, now, r.comment, r.gate, r.id,
            r.requested_by, note, mlops_decide.gate_values);
  END IF;
  RETURN before;
END $$;
"""

# functions owned by ADMIN: what they write passes the policies only they pass
DEFINERS = ("mlops_decide(bigint, boolean, text, text)", "mlops_registry_event()")


def _policy(table: str, name: str, command: str, roles: str, using: str | None,
            check: str | None, restrictive: bool = False) -> str:
    kind = " AS RESTRICTIVE" if restrictive else ""
    clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
    return f"CREATE POLICY {name} ON {table}{kind} FOR {command} TO {roles}{clauses};"


def table_sql(table: str) -> list[str]:
    """Row-level security, grants and policies of one table (from the matrix), replacing
    any made before."""
    out = [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
           f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY;",
           f"REVOKE ALL ON {table} FROM {', '.join(GROUPS)};",
           f"GRANT SELECT ON {table} TO {VIEWER};",
           f"GRANT ALL ON {table} TO {ADMIN};",
           _policy(table, "mlops_read", "SELECT", VIEWER, "true", None),
           _policy(table, "mlops_admin", "ALL", "public", ADMIN_ONLY, ADMIN_ONLY)]
    for role in (CONTRIBUTOR, SERVICE, MAINTAINER):
        kind, _, arg = writes(table, role).partition(" ")
        short = role.removeprefix("mlops_")
        if kind in ("insert", "touch", "record", "own", "child", "write", "all"):
            commands = {"insert": ["INSERT"], "touch": ["INSERT"], "record": ["INSERT"]}.get(
                kind, ["INSERT", "UPDATE", "DELETE"])
            out.append(f"GRANT {', '.join(commands)} ON {table} TO {role};")
        if kind == "touch":
            out.append(f"GRANT UPDATE ({arg}) ON {table} TO {role};")
            out.append(_policy(table, f"mlops_{short}_touch", "UPDATE", role, "true", "true"))
        if kind == "record":
            mine = f"{ACTORS[table][0]} = session_user"
            out.append(f"GRANT UPDATE ({arg}) ON {table} TO {role};")
            out.append(_policy(table, f"mlops_{short}_record", "UPDATE", role,
                               f"{mine} AND {arg} IS NULL", mine))
        if kind in ("insert", "touch", "record", "own"):
            out.append(_policy(table, f"mlops_{short}_insert", "INSERT", role, None, "true"))
        if kind == "own":
            mine = f"{arg} = session_user"
            out.append(_policy(table, f"mlops_{short}_update", "UPDATE", role, mine, mine))
            out.append(_policy(table, f"mlops_{short}_delete", "DELETE", role, mine, None))
        if kind == "child":  # inline SQL, planned with the statement: it added 1.2 µs a row
            # inserted and 3.6 a row upserted where a PL/pgSQL function call added 4.3 and 12
            parent, column = arg.split(".")
            mine = (f"EXISTS (SELECT 1 FROM {parent} o WHERE o.id = {table}.{column} AND "
                    f"o.{ACTORS[parent][0]} = session_user)")
            out.append(_policy(table, f"mlops_{short}_write", "ALL", role, mine, mine))
        if kind in ("write", "all"):
            out.append(_policy(table, f"mlops_{short}_write", "ALL", role, "true", "true"))
    return out


def _restrictions() -> list[str]:
    """What holds every role but the approval function: a protected alias, and a request
    that is not opened as open."""
    free = f"{ADMIN_ONLY} OR NOT mlops_alias_protected(model_id, alias)"
    return [
        _policy("model_aliases", "mlops_protected_insert", "INSERT", "public", None, free, True),
        _policy("model_aliases", "mlops_protected_update", "UPDATE", "public", free, free, True),
        _policy("model_aliases", "mlops_protected_delete", "DELETE", "public", free, None, True),
        _policy("alias_events", "mlops_protected_insert", "INSERT", "public", None, free, True),
        _policy("promotion_requests", "mlops_opened_open", "INSERT", "public", None,
                f"{ADMIN_ONLY} OR (state = 'open' AND decided_by IS NULL AND decided_at IS NULL)",
                True),
    ]


def _drop_policies(table: str) -> str:
    return (f"DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies "
            f"WHERE schemaname = current_schema() AND tablename = '{table}' LOOP "
            f"EXECUTE format('DROP POLICY %I ON {table}', p.policyname); END LOOP; END $$;")


def _create_group(role: str) -> str:
    return (f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS; END IF; "
            f"EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;")


def init_sql(superuser: bool) -> list[str]:
    """Every statement of `team init`, in order."""
    out = [_create_group(role) for role in GROUPS]
    out += [f"GRANT {parent} TO {member};" for parent, member in MEMBERSHIPS]
    out.append(f"GRANT USAGE ON SCHEMA public TO {VIEWER}, {SERVICE}, {ADMIN};")
    if not superuser:  # an owner that is not a superuser: to replace the definer functions
        # (ADMIN's once made) and give them to ADMIN, which needs CREATE on their schema for
        # that, for this session only
        out.append(f"GRANT {ADMIN} TO CURRENT_USER;")
        out.append(f"GRANT CREATE ON SCHEMA public TO {ADMIN};")
    out.append(FUNCTIONS)
    out += [f"ALTER FUNCTION {f} OWNER TO {ADMIN};" for f in DEFINERS]
    out += [f"ALTER FUNCTION {f} SECURITY DEFINER SET search_path = pg_catalog, public;"
            for f in DEFINERS]
    if not superuser:
        out.append(f"REVOKE CREATE ON SCHEMA public FROM {ADMIN};")
        out.append(f"REVOKE {ADMIN} FROM CURRENT_USER;")
    out.append(f"REVOKE EXECUTE ON FUNCTION {DEFINERS[0]} FROM public;")
    out.append(f"GRANT EXECUTE ON FUNCTION {DEFINERS[0]} TO {MAINTAINER};")
    for table in MATRIX:
        out.append(_drop_policies(table))
        out += table_sql(table)
    out += _restrictions()
    out.append("DROP FUNCTION IF EXISTS mlops_owns(regclass, text);")  # what policies used before
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "
               f"{CONTRIBUTOR}, {SERVICE}, {ADMIN};")
    for table, (column, when) in ACTORS.items():
        name = f"mlops_actor_{table}"
        out.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
        out.append(f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
                   f"EXECUTE FUNCTION mlops_stamp_actor('{column.strip(chr(34))}', '{when}');")
    return out


def _admin_conn(store: Store):
    """A connection of the store's own login (the owner running the command)."""
    if store.dialect != "postgresql":
        raise MLOpsUsageError("team mode needs a PostgreSQL store (MLOPS_STORE_URI="
                              "postgresql://…); the embedded SQLite store is one person's")
    return store.engine.connect()


def _store(store: Store | None) -> Store:
    from ..store import get_store

    return store if store is not None else get_store()


def init(store: Store | None = None) -> dict[str, Any]:
    """Make the store a team store (see the module docstring); every row is kept. Returns
    what was done: tables secured, triggers, the roles."""
    import psycopg
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from ..store import schema

    store = _store(store)
    if store.revision != schema.HEAD:
        raise MLOpsUsageError(f"the store is at schema {store.revision}, not {schema.HEAD}: "
                              "run `jupyter mlops store upgrade` first")
    try:
        with _admin_conn(store) as conn, conn.begin():
            me = conn.execute(text("SELECT rolsuper, rolcreaterole, session_user, rolbypassrls "
                                   "FROM pg_roles WHERE rolname = session_user")).one()
            if not (me[0] or (me[1] and me[3])):
                raise MLOpsUsageError(
                    f"team init makes roles and forces row-level security on every table, "
                    f"which holds their owner too: role {me[2]} needs to be a superuser, or to "
                    "have CREATEROLE and BYPASSRLS (run it as the database's owner; without "
                    "BYPASSRLS it could not read the store afterwards)")
            conn.execute(text("SELECT pg_advisory_xact_lock(7101225)"))  # one init at a time
            raw = conn.connection.driver_connection  # no parameters: % stays as written
            for statement in init_sql(bool(me[0])):
                raw.execute(statement)
    except (DBAPIError, psycopg.Error) as exc:  # statements run on the driver's connection
        from ..store import _reason

        raise StoreError(f"team init failed, nothing was changed: {_reason(exc)}") from None
    store._identity = None
    return {"tables": len(MATRIX), "actor_triggers": len(ACTORS),
            "roles": [*ROLES.values(), ADMIN]}


def _quote(conn: Any, name: str) -> str:
    from sqlalchemy import text

    return conn.execute(text("SELECT quote_ident(:n)"), {"n": name}).scalar_one()


def add(user: str, role: str, password: str | None = None,
        store: Store | None = None, also: str | list[str] | None = None) -> dict[str, Any]:
    """Give database user `user` the team role `role` (viewer, contributor, maintainer or
    service), creating its login role (NOSUPERUSER, NOBYPASSRLS) when it does not exist; its
    other team roles are taken away. `also` names roles it keeps besides (a scheduler whose
    pipelines' notebooks track runs: `role="service", also="contributor"`)."""
    from sqlalchemy import text

    group, store = _group(role), _store(store)
    extra = [also] if isinstance(also, str) else list(also or [])
    groups = {group, *(_group(name) for name in extra)}
    with _admin_conn(store) as conn, conn.begin():
        _require_team(conn)
        who = _quote(conn, _user_name(user))
        row = conn.execute(text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles "
                                "WHERE rolname = :u"), {"u": user}).first()
        if row is None:
            conn.exec_driver_sql(f"CREATE ROLE {who} LOGIN NOSUPERUSER NOBYPASSRLS")
        elif row[0] or row[1]:
            raise MLOpsUsageError(f"database role {user} is a "
                                  f"{'superuser' if row[0] else 'BYPASSRLS role'}: row-level "
                                  "security cannot hold it; use an ordinary login role")
        if password is not None:  # a utility statement takes no parameters: quoted here
            secret = conn.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar_one()
            conn.exec_driver_sql(f"ALTER ROLE {who} PASSWORD {secret}")
        if MAINTAINER not in groups:
            _keep_a_maintainer(conn, user)
        for other in ROLES.values():
            if other not in groups:
                conn.exec_driver_sql(f"REVOKE {other} FROM {who}")
        for granted in sorted(groups):
            conn.exec_driver_sql(f"GRANT {granted} TO {who}")
    return {"user": user, "role": role, "also": extra, "created": row is None}


def remove(user: str, store: Store | None = None) -> dict[str, Any]:
    """Take every team role away from `user` (its login role and its rows stay)."""
    store = _store(store)
    with _admin_conn(store) as conn, conn.begin():
        _require_team(conn)
        held = _held(conn, user)
        if not held:
            raise MLOpsUsageError(f"{user} is not in the team (team list shows who is)")
        _keep_a_maintainer(conn, user)
        who = _quote(conn, user)
        for group in held:
            conn.exec_driver_sql(f"REVOKE {group} FROM {who}")
    return {"user": user, "removed": held}


def members(store: Store | None = None) -> pd.DataFrame:
    """Who is in the team: user, role, and whether the login role can log in."""
    import pandas as pd
    from sqlalchemy import text

    store = _store(store)
    names = {v: k for k, v in ROLES.items()}
    with _admin_conn(store) as conn, conn.begin():
        _require_team(conn)
        rows = conn.execute(text(
            "SELECT m.rolname, g.rolname, m.rolcanlogin FROM pg_auth_members a "
            "JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
            "WHERE g.rolname = ANY(:groups) AND m.rolname <> ALL(:groups) ORDER BY 1"),
            {"groups": list(ROLES.values())}).all()
    return pd.DataFrame([(u, names[g], login) for u, g, login in rows],
                        columns=["user", "role", "login"])


def _group(role: str) -> str:
    if role not in ROLES:
        raise MLOpsUsageError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return ROLES[role]


def _user_name(user: str) -> str:
    if not isinstance(user, str) or not user or len(user) > 63 or not user.isprintable() \
            or user.startswith(("pg_", "mlops_")):
        raise MLOpsUsageError(f"{user!r} is not a user name a team can have (1 to 63 printable "
                              "characters, not starting with pg_ or mlops_)")
    return user


def _require_team(conn: Any) -> None:
    from sqlalchemy import text

    if not conn.execute(text("SELECT coalesce((SELECT relforcerowsecurity FROM pg_class "
                             "WHERE oid = to_regclass('runs')), false)")).scalar():
        raise MLOpsUsageError("this store is not a team store yet: run `jupyter mlops team "
                              "init` (as the database's owner) first")


def _held(conn: Any, user: str) -> list[str]:
    from sqlalchemy import text

    return list(conn.execute(text(
        "SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE m.rolname = :u AND g.rolname = ANY(:groups)"),
        {"u": user, "groups": list(ROLES.values())}).scalars())


def _keep_a_maintainer(conn: Any, user: str) -> None:
    """Refuse to leave the team without a maintainer (the change to `user` about to be made
    would)."""
    from sqlalchemy import text

    others = conn.execute(text(
        "SELECT count(*) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE g.rolname = :g AND m.rolname <> :u"),
        {"g": MAINTAINER, "u": user}).scalar_one()
    if not others and MAINTAINER in _held(conn, user):
        raise MLOpsUsageError(f"{user} is the team's last maintainer: add another maintainer "
                              "first")
