"""`jupyter mlops runs list|show|compare|diff|delete|restore|reproduce`."""

from __future__ import annotations

import argparse
import json

from . import add_format, emit


def add(sub) -> None:
    p = sub.add_parser("runs", help="search, show, compare, diff, reproduce, delete and "
                                         "restore runs")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True

    ls = cmds.add_parser("list", help="runs matching a filter, newest first")
    ls.add_argument("-e", "--experiment", action="append")
    ls.add_argument("--filter", help="e.g. \"metrics.acc > 0.9 and params.model = 'rf'\"")
    ls.add_argument("--order-by", action="append")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--archived", action="store_true", help="include archived runs")
    add_format(ls)
    ls.set_defaults(func=list_runs)

    show = cmds.add_parser("show", help="one run: info, params, metrics, tags, artifacts")
    show.add_argument("run")
    show.set_defaults(func=show_run)

    cmp = cmds.add_parser("compare", help="params and latest metrics of runs side by side")
    cmp.add_argument("runs", nargs="+")
    cmp.add_argument("--differences", action="store_true", help="only rows that differ")
    cmp.set_defaults(func=compare)

    dif = cmds.add_parser("diff", help="what differs in run B from run A: params, metrics, "
                                       "tags, inputs, packages, code cell by cell")
    dif.add_argument("a")
    dif.add_argument("b")
    dif.add_argument("--format", choices=["text", "json"], default="text")
    dif.set_defaults(func=diff)

    for name, helptext in (("delete", "archive a run and its nested runs"),
                           ("restore", "bring back an archived run")):
        c = cmds.add_parser(name, help=helptext)
        c.add_argument("run")
        if name == "delete":
            c.add_argument("--purge", action="store_true", help="remove the rows for good")
        c.set_defaults(func=delete if name == "delete" else restore)

    rep = cmds.add_parser("reproduce", help="run a run's notebook again and compare its "
                                            "metrics (exit 0 reproduced, 1 differs or failed)")
    rep.add_argument("run")
    rep.add_argument("--env", default="current", choices=["current", "recorded"],
                     help="this environment's python3 kernel, or the run's recorded packages")
    rep.add_argument("--tolerance", type=float, default=1e-9,
                     help="metrics are equal when |a - b| <= tolerance * max(1, |a|)")
    rep.add_argument("--format", choices=["text", "json"], default="text")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.add_argument("--reproduction", help=argparse.SUPPRESS)  # one the REST API recorded
    rep.set_defaults(func=reproduce)


def list_runs(args) -> int:
    from ..tracking.search import search_runs

    frame = search_runs(experiment=args.experiment, filter=args.filter, order_by=args.order_by,
                        limit=args.limit, offset=args.offset, include_archived=args.archived)
    emit(frame, args.format)
    return 0


def show_run(args) -> int:
    from ..tracking.fluent import get_run

    run = get_run(args.run)
    info = run.info
    out = {
        "run": {k: info[k] for k in ("id", "name", "experiment", "status", "start_time",
                                     "end_time", "parent_run_id", "user", "host", "notebook",
                                     "git_commit", "git_dirty", "python_version", "error")},
        "params": run.params, "metrics": run.metrics, "tags": run.tags,
        "artifacts": {a.name: {"size": a.size, "media_type": a.media_type, "digest": a.digest}
                      for a in run.artifacts.values()},
        "inputs": [link.ref for link in run.inputs],
    }
    print(json.dumps(out, indent=2, default=str))
    return 0


def compare(args) -> int:
    from ..tracking.compare import compare_runs

    frame = compare_runs(args.runs).to_frame(only_differences=args.differences)
    emit(frame.reset_index(names="field"), "table")
    return 0


def diff(args) -> int:
    from ..repro.diff import diff_runs
    from ..repro.text import run_diff_text

    result = diff_runs(args.a, args.b)
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(run_diff_text(result))
    return 0


def delete(args) -> int:
    from ..tracking.manage import delete_run

    ids = delete_run(args.run, purge=args.purge)
    print(f"{'purged' if args.purge else 'archived'} {len(ids)} run(s): {' '.join(ids)}")
    return 0


def restore(args) -> int:
    from ..tracking.manage import restore_run

    ids = restore_run(args.run)
    print(f"restored {len(ids)} run(s)")
    return 0


def reproduce(args) -> int:
    from ..repro.reproduce import continue_reproduction, get_reproduction, reproduce_run

    progress = not (args.quiet or args.format == "json")
    if args.reproduction:
        from ..errors import MLOpsUsageError
        from ..tracking.fluent import get_run

        if get_reproduction(args.reproduction).original_run_id != get_run(args.run).id:
            raise MLOpsUsageError(f"reproduction {args.reproduction} is not of run {args.run}")
        done = continue_reproduction(args.reproduction, progress=progress)
    else:
        done = reproduce_run(args.run, env=args.env, tolerance=args.tolerance,
                             progress=progress)
    if args.format == "json":
        print(json.dumps(done.to_dict(), indent=2, default=str))
    else:
        print(done.message)
        print(f"original run {done.original_run_id}"
              + (f", reproduction run {done.run_id}" if done.run_id else "")
              + f" (reproduction {done.id})")
        for note in done.notes:
            print(f"- {note}")
    return 0 if done.state == "reproduced" else 1
