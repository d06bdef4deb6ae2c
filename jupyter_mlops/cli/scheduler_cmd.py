"""`jupyter mlops scheduler`: start due pipeline runs (see pipelines/scheduler.py)."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("scheduler", help="start pipelines when their cron schedule is due")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between looks")
    p.add_argument("--once", action="store_true", help="look once and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..pipelines.scheduler import run_scheduler

    run_scheduler(args.interval, once=args.once)
    return 0
