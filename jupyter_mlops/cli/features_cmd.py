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

    show = cmds.add_parser("show", help="one view version as JSON, with its last materialization")
    show.add_argument("ref", help="NAME or NAME@VERSION")
    show.set_defaults(func=show_)

    mat = cmds.add_parser("materialize", help="compute a view into the offline (and online) store; "
                                              "a Python view runs its stored source")
    mat.add_argument("name", help="NAME or NAME@VERSION")
    mat.add_argument("--online", action="store_true", help="also write the online store")
    mat.add_argument("--start", help="keep rows at or after this time")
    mat.add_argument("--end", help="keep rows before this time")
    mat.set_defaults(func=materialize_)


def list_(args) -> int:
    from ..features.views import list_views

    emit(list_views(), args.format)
    return 0


def show_(args) -> int:
    from ..features.offline import latest_materialization
    from ..features.views import get_view

    view = get_view(args.ref)
    done = latest_materialization(view)
    data = view.to_dict()
    data["materialized"] = None if done is None else {
        "rows": done.rows, "digest": done.digest, "at": done.created_at, "inputs": done.inputs}
    print(json.dumps(data, indent=2, default=str))
    return 0


def materialize_(args) -> int:
    from ..features.offline import materialize

    print(materialize(args.name, start=args.start, end=args.end, online=args.online))
    return 0
