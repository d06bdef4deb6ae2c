"""`jupyter mlops scheduler`: start due pipeline runs and deliver registry events left
undelivered (see pipelines/scheduler.py)."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("scheduler", help="start pipelines when their cron schedule is due, and "
                                       "deliver registry events to their hooks")
    p.add_argument("--interval", type=float, default=30.0, help="seconds between looks")
    p.add_argument("--once", action="store_true", help="look once and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..pipelines.scheduler import run_scheduler

    run_scheduler(args.interval, once=args.once)
    return 0
