"""`jupyter mlops team init|add|remove|list`: a team store's roles and members (PostgreSQL)."""

from __future__ import annotations

import sys

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("team", help="roles, row-level security and members of a team store")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True
    cmds.add_parser("init", help="make this PostgreSQL store a team store (run it as the "
                                 "database's owner; every row is kept)").set_defaults(func=init)
    a = cmds.add_parser("add", help="give a database user a team role (its login role is "
                                    "created when missing)")
    a.add_argument("user")
    a.add_argument("--role", required=True,
                   choices=["viewer", "contributor", "maintainer", "service"])
    a.add_argument("--also", action="append", default=[], metavar="ROLE",
                   choices=["viewer", "contributor", "maintainer", "service"],
                   help="a role the user keeps besides --role (a scheduler whose pipelines "
                        "track runs: --role service --also contributor)")
    a.add_argument("--password-stdin", action="store_true",
                   help="set the login role's password from the first line of stdin")
    a.set_defaults(func=add_)
    r = cmds.add_parser("remove", help="take a user's team roles away (its rows stay)")
    r.add_argument("user")
    r.set_defaults(func=remove)
    ls = cmds.add_parser("list", help="the team's members and their roles")
    add_format(ls)
    ls.set_defaults(func=list_)


def init(args) -> int:
    from ..team.setup import init as make

    done = make()
    print(f"team store ready: {done['tables']} tables under row-level security, "
          f"{done['actor_triggers']} actor triggers; roles {', '.join(done['roles'])}")
    return 0


def add_(args) -> int:
    from ..team.setup import add as give

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    done = give(args.user, args.role, password=password, also=args.also)
    print(f"{done['user']}: {' and '.join([done['role'], *done['also']])}"
          + (" (login role created)" if done["created"] else ""))
    return 0


def remove(args) -> int:
    from ..team.setup import remove as take

    done = take(args.user)
    print(f"{done['user']}: removed from {', '.join(done['removed'])}")
    return 0


def list_(args) -> int:
    from ..team.setup import members

    emit(members(), args.format)
    return 0
