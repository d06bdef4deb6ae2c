"""`jupyter mlops features list|show|materialize`."""

from __future__ import annotations

import json

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("features", help="feature views: list, show, materialize")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True

    ls = cmds.add_parser("list", help="views, newest version each")
    add_format(ls)
    ls.set_defaults(func=list_)

    show = cmds.add_parser("show", help="one view version as JSON: versions, materializations, "
                                     "freshness, profile")
    show.add_argument("ref", help="NAME or NAME@VERSION")
    show.set_defaults(func=show_)

    mat = cmds.add_parser("materialize", help="compute a view into the offline (and online) store; "
                                              "a Python view runs its stored source")
    mat.add_argument("name", help="NAME or NAME@VERSION")
    mat.add_argument("--online", action="store_true", help="also write the online store")
    mat.add_argument("--start", help="keep rows at or after this time")
    mat.add_argument("--end", help="keep rows before this time")
    mat.add_argument("--executor", metavar="ADDRESS",
                     help="for a view over partitioned parquet: local, or a Dask scheduler "
                          "(dask://host:8786) whose workers compute the partitions")
    mat.set_defaults(func=materialize_)


def list_(args) -> int:
    from ..features.views import list_views

    emit(list_views(), args.format)
    return 0


def show_(args) -> int:
    from ..features.catalog import describe_view

    print(json.dumps(describe_view(args.ref).to_dict(), indent=2, default=str))
    return 0


def materialize_(args) -> int:
    from ..features.offline import materialize

    print(materialize(args.name, start=args.start, end=args.end, online=args.online,
                      executor=args.executor))
    return 0
