"""`jupyter mlops store info|upgrade`."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("store", help="where the store is, what it holds, schema upgrades")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True
    cmds.add_parser("info", help="location, schema revision and contents").set_defaults(func=info)
    cmds.add_parser(
        "upgrade", help="migrate the store to this version's schema (required for shared stores)"
    ).set_defaults(func=upgrade)


def info(args) -> int:
    from ..store.info import describe

    print(describe())
    return 0


def upgrade(args) -> int:
    from .. import config
    from ..store import Store

    s = config.load()
    store = Store(s.store_uri, s.artifact_uri, s.busy_timeout, check=False,
                  synchronous=s.sqlite_synchronous)
    before, after = store.upgrade()
    print(f"store {store.display_uri}: schema {before or '(empty)'} -> {after}")
    return 0
