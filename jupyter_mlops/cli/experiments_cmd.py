"""`jupyter mlops experiments list|create|delete|restore`."""

from __future__ import annotations

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("experiments", help="list, create, delete and restore experiments")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True
    ls = cmds.add_parser("list", help="experiments with their run counts")
    ls.add_argument("--archived", action="store_true", help="include archived experiments")
    add_format(ls)
    ls.set_defaults(func=list_)
    create = cmds.add_parser("create", help="create an experiment")
    create.add_argument("name")
    create.add_argument("--description")
    create.set_defaults(func=create_)
    delete = cmds.add_parser("delete", help="archive an experiment and its runs")
    delete.add_argument("name")
    delete.add_argument("--purge", action="store_true", help="remove the rows for good")
    delete.set_defaults(func=delete_)
    restore = cmds.add_parser("restore", help="bring back an archived experiment")
    restore.add_argument("name")
    restore.set_defaults(func=restore_)


def list_(args) -> int:
    from ..tracking.manage import list_experiments

    emit(list_experiments(include_archived=args.archived), args.format)
    return 0


def create_(args) -> int:
    from ..tracking.manage import create_experiment

    print(f"created experiment {create_experiment(args.name, args.description)!r}")
    return 0


def delete_(args) -> int:
    from ..tracking.manage import delete_experiment

    n = delete_experiment(args.name, purge=args.purge)
    print(f"{'purged' if args.purge else 'archived'} experiment {args.name!r} and {n} run(s)")
    return 0


def restore_(args) -> int:
    from ..tracking.manage import restore_experiment

    n = restore_experiment(args.name)
    print(f"restored experiment {args.name!r} and {n} run(s)")
    return 0
