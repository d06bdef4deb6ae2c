"""`jupyter mlops datasets list|show|diff|pull`."""

from __future__ import annotations

import json

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("datasets", help="list, show, diff and pull dataset versions")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True
    ls = cmds.add_parser("list", help="datasets, or the versions of one")
    ls.add_argument("name", nargs="?")
    add_format(ls)
    ls.set_defaults(func=list_)
    show = cmds.add_parser("show", help="a version's schema and profile (JSON)")
    show.add_argument("ref", help="NAME@VERSION, NAME@latest or NAME@sha:DIGEST")
    show.set_defaults(func=show_)
    diff = cmds.add_parser("diff", help="what changed between two versions")
    diff.add_argument("a")
    diff.add_argument("b")
    diff.add_argument("--key", help="key columns, comma-separated: list changed rows")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(func=diff_)
    pull = cmds.add_parser("pull", help="write a version out to a path")
    pull.add_argument("ref")
    pull.add_argument("dest")
    pull.set_defaults(func=pull_)


def list_(args) -> int:
    from ..data.versions import list_datasets

    emit(list_datasets(args.name), args.format)
    return 0


def show_(args) -> int:
    from ..data.versions import get_version

    v = get_version(args.ref)
    print(json.dumps({"ref": v.ref, "digest": v.digest, "kind": v.kind, "format": v.format,
                      "rows": v.rows, "size": v.size, "copied": v.copied, "run_id": v.run_id,
                      "schema": v.schema,
                      "profile": {c: {k: x for k, x in s.items() if k != "sketch"}
                                  for c, s in v.profile.get("columns", {}).items()}},
                     indent=2, default=str))
    return 0


def diff_(args) -> int:
    from ..data.diff import diff_datasets

    key = [k.strip() for k in args.key.split(",") if k.strip()] if args.key else None
    result = diff_datasets(args.a, args.b, key=key)
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else result)
    return 0


def pull_(args) -> int:
    from ..data.versions import pull_dataset

    print(f"wrote {pull_dataset(args.ref, args.dest)}")
    return 0
