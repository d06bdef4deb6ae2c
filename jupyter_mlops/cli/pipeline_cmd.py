"""`jupyter mlops pipeline list|show|run|run-step|resume|runs|schedule|unschedule|export`."""

from __future__ import annotations

import argparse
import json

from . import add_executor, add_format, emit


def add(sub) -> None:
    p = sub.add_parser("pipeline", help="run, schedule and export notebook pipelines")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True

    ls = cmds.add_parser("list", help="pipelines with their schedule and next run")
    add_format(ls)
    ls.set_defaults(func=list_)

    show = cmds.add_parser("show", help="a pipeline's spec (validated) and the parameters "
                                         "a run can set, with their defaults")
    show.add_argument("name")
    show.set_defaults(func=show_)

    run = cmds.add_parser("run", help="run a pipeline now")
    run.add_argument("name")
    run.add_argument("-p", "--param", action="append", default=[], metavar="K=V")
    run.add_argument("--workers", type=int, help="at most N steps at once (local executor)")
    add_executor(run)
    run.add_argument("--trigger", default="manual", choices=["manual", "schedule", "ci"])
    run.add_argument("--queued", metavar="RUN_ID",
                     help="start this queued run (queued by an alert, the REST API or the scheduler) instead "
                          "of a new one")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.set_defaults(func=run_)

    step = cmds.add_parser("run-step", help="run one step of a pipeline run (what runners, "
                                            "Airflow and Argo call)")
    step.add_argument("name")
    step.add_argument("step")
    step.add_argument("--run-id", required=True, help="the pipeline run (any id an "
                                                       "orchestrator gives; mapped to 32 hex)")
    step.add_argument("--attempt", type=int, default=1)
    step.add_argument("-p", "--param", action="append", default=[], metavar="K=V")
    step.add_argument("--params-json", help="parameters as one JSON object")
    step.add_argument("--step-id", help=argparse.SUPPRESS)  # the row a runner's task claimed
    step.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # die with it
    step.set_defaults(func=run_step_)

    resume = cmds.add_parser("resume", help="re-run the steps of a run that did not finish")
    resume.add_argument("run_id")
    resume.add_argument("--workers", type=int, help="at most N steps at once (local executor)")
    add_executor(resume)
    resume.set_defaults(func=resume_)

    runs = cmds.add_parser("runs", help="recent runs of a pipeline (or all), or one run")
    runs.add_argument("name", nargs="?")
    runs.add_argument("--run", help="one pipeline run id: its steps")
    runs.add_argument("--limit", type=int, default=20)
    add_format(runs)
    runs.set_defaults(func=runs_)

    sched = cmds.add_parser("schedule", help="set a pipeline's cron schedule (in its YAML)")
    sched.add_argument("name")
    sched.add_argument("--cron", required=True, help='e.g. "0 2 * * *"')
    sched.add_argument("--timezone", help="e.g. Europe/Paris (default UTC)")
    sched.set_defaults(func=schedule_)

    unsched = cmds.add_parser("unschedule", help="remove a pipeline's schedule")
    unsched.add_argument("name")
    unsched.set_defaults(func=unschedule_)

    export = cmds.add_parser("export", help="write files for Airflow, Argo, Kubernetes or "
                                            "GitHub Actions under pipelines/NAME/TARGET/")
    export.add_argument("name")
    export.add_argument("--to", required=True, choices=["airflow", "argo", "k8s", "github"])
    export.add_argument("--out-dir", help="another folder to write into")
    export.add_argument("--image", help="the container image (argo, k8s)")
    export.add_argument("--promote-model", metavar="NAME",
                        help="github: promote the latest version of NAME after a scheduled run")
    export.add_argument("--promote-alias", metavar="ALIAS",
                        help="github: the alias to move (default production)")
    export.add_argument("--promote-require", metavar="EXPR",
                        help='github: the gate, e.g. "metrics.f1 >= production.metrics.f1"')
    export.set_defaults(func=export_)


def _params(pairs: list[str]) -> dict:
    from ..values import parse_assignments

    return parse_assignments(pairs, "parameter")


def list_(args) -> int:
    import pandas as pd

    from ..pipelines.scheduler import schedule_table

    emit(pd.DataFrame(schedule_table(), columns=["pipeline", "steps", "schedule", "timezone",
                                                 "next_run", "last_run"]), args.format)
    return 0


def show_(args) -> int:
    from ..pipelines.params import pipeline_parameters
    from ..pipelines.spec import dump, load_spec

    print(dump(load_spec(args.name)))
    print(f"parameters (`jupyter mlops pipeline run {args.name} -p PARAMETER=VALUE` overrides "
          "a default):")
    emit(pipeline_parameters(args.name), "table")
    return 0


def run_(args) -> int:
    from ..pipelines.runner import run_pipeline

    result = run_pipeline(args.name, _params(args.param) or None, workers=args.workers,
                          trigger=args.trigger, progress=not args.quiet, queued=args.queued,
                          executor=args.executor)
    return 0 if result.status == "finished" else 1


def run_step_(args) -> int:
    from ..errors import MLOpsUsageError
    from ..pipelines.step import EXIT, die_with_parent, ensure_pipeline_run, external_run_id, run_step

    if args.parent_pid is not None:
        die_with_parent(args.parent_pid)
    params = _params(args.param)
    if args.params_json:
        try:
            extra = json.loads(args.params_json)
        except ValueError as exc:
            raise MLOpsUsageError(f"--params-json is not JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise MLOpsUsageError("--params-json must be a JSON object")
        params = {**extra, **params}
    run_id = external_run_id(args.run_id)
    ensure_pipeline_run(args.name, run_id, params, trigger="external")
    return EXIT[run_step(args.name, args.step, run_id, args.attempt, params, args.step_id)]


def resume_(args) -> int:
    from ..pipelines.runner import resume_pipeline

    run = resume_pipeline(args.run_id, workers=args.workers, executor=args.executor)
    return 0 if run.status == "finished" else 1


def runs_(args) -> int:
    from ..pipelines.status import get_pipeline_run, list_pipeline_runs

    if args.run:
        run = get_pipeline_run(args.run)
        print(run.summary())
        emit(run.to_frame(), args.format)
    else:
        emit(list_pipeline_runs(args.name, limit=args.limit), args.format)
    return 0


def schedule_(args) -> int:
    from ..pipelines.scheduler import set_schedule

    spec = set_schedule(args.name, args.cron, args.timezone)
    print(f"{spec.name}: {spec.schedule} ({spec.timezone})")
    return 0


def export_(args) -> int:
    from ..pipelines.export import export_pipeline_to

    options = export_options(args.image, args.promote_model, args.promote_alias,
                             args.promote_require)
    for path in export_pipeline_to(args.name, args.to, out_dir=args.out_dir, **options):
        print(f"wrote {path}")
    return 0


def export_options(image: str | None, model: str | None, alias: str | None,
                   require: str | None) -> dict:
    """The keyword options of export_pipeline_to from command-line values."""
    options: dict = {"image": image} if image else {}
    if model or alias or require:
        options["promote"] = {"model": model, "alias": alias, "require": require}
    return options


def unschedule_(args) -> int:
    from ..pipelines.scheduler import set_schedule

    set_schedule(args.name, None)
    print(f"{args.name}: no schedule")
    return 0
