"""The scheduler: `jupyter mlops scheduler` starts due pipeline runs, and delivers the
registry events that are left undelivered (team/events.py).

The cron lives in each pipeline's YAML (`pipeline schedule` edits it); the store keeps, per
pipeline, when it last fired and when it fires next (`schedules`). Policy for runs missed
while the scheduler was down: one run on start, however many were missed (coalesced). A due
pipeline already running max_active_runs times (its spec's) is not started again; the runner
decides for good, counting and starting in one locked transaction. Runs that
an alert queued are started by their own detached runner; the scheduler starts any such run
still waiting after QUEUE_GRACE seconds."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from ..errors import MLOpsError, MLOpsUsageError
from ..store import get_store
from ..store.sql import upsert
from ..store.tables import pipeline_runs, schedules
from .runner import ALIVE
from .spec import PipelineSpec, list_pipelines, load_spec, parse, save_spec, spec_path

QUEUE_GRACE = 30.0  # seconds a queued run waits for its own runner before the scheduler starts it


def next_fire(cron: str, zone: str, after: float) -> float:
    """The first time after `after` (epoch seconds) that `cron` fires, read in time zone `zone`."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, ZoneInfo(zone))
    return croniter(cron, start).get_next(datetime).timestamp()


def set_schedule(name: str, cron: str | None, timezone: str | None = None) -> PipelineSpec:
    """Write the schedule into `pipelines/<name>.yaml` (None removes it)."""
    spec = load_spec(name)
    data = spec.model_dump()
    data["schedule"] = cron
    if timezone is not None:
        data["timezone"] = timezone
    updated = parse(data, spec_path(name))
    save_spec(updated)
    return updated


def tick(now: float | None = None, start: Callable[[str], Any] | None = None,
         start_queued: Callable[[str, str], Any] | None = None) -> list[str]:
    """One look at every schedule: starts what is due (with `start(name)`, by default a
    `jupyter mlops pipeline run` process) and the queued runs (an alert's retraining) that
    no runner took within QUEUE_GRACE seconds; returns the names started."""
    now = time.time() if now is None else now
    start = start or _start
    start_queued = start_queued or _start_queued
    store = get_store()
    specs = {s.name: s for s in list_pipelines() if s.schedule}
    started = []
    with store.read() as conn:
        state = {r.pipeline: r for r in conn.execute(select(schedules)).all()}
        running = dict(conn.execute(select(pipeline_runs.c.pipeline, func.count()).where(
            pipeline_runs.c.status == "running",
            pipeline_runs.c.heartbeat > now - ALIVE).group_by(pipeline_runs.c.pipeline)).all())

    def room(name: str) -> bool:
        spec = specs.get(name)
        return running.get(name, 0) < (spec.max_active_runs if spec is not None else 1)

    with store.write() as conn:
        for gone in set(state) - set(specs):
            conn.execute(delete(schedules).where(schedules.c.pipeline == gone))
        for name, spec in specs.items():
            row = state.get(name)
            fresh = row is None or row.cron != spec.schedule or row.timezone != spec.timezone
            due = not fresh and row.next_fire is not None and row.next_fire <= now
            last = row.last_fire if row is not None and not fresh else None
            if due and room(name):
                started.append(name)
                last = now
            conn.execute(upsert(store.dialect, schedules, ["pipeline"],
                                ["cron", "timezone", "last_fire", "next_fire", "updated_at",
                                 "updated_by"]),
                         {"pipeline": name, "cron": spec.schedule, "timezone": spec.timezone,
                          "last_fire": last,
                          "next_fire": (next_fire(spec.schedule, spec.timezone, now)
                                        if fresh or due else row.next_fire),
                          "updated_at": now, "updated_by": store.actor})
    for name in started:
        start(name)
    with store.read() as conn:
        waiting = conn.execute(select(pipeline_runs.c.id, pipeline_runs.c.pipeline).where(
            pipeline_runs.c.status == "queued", pipeline_runs.c.heartbeat <= now - QUEUE_GRACE,
        ).order_by(pipeline_runs.c.started_at)).all()
    for run_id, name in waiting:
        if room(name):
            running[name] = running.get(name, 0) + 1
            start_queued(name, run_id)
            started.append(name)
    return started


def _start_queued(name: str, run_id: str) -> None:
    from .runner import start_pipeline

    start_pipeline(name, queued=run_id)


def _start(name: str) -> None:
    from .runner import start_pipeline

    start_pipeline(name, trigger="schedule")


def run_scheduler(interval: float = 30.0, once: bool = False) -> None:
    """Every `interval` seconds until interrupted: start what the schedules say is due, and
    deliver the registry events left undelivered (their process died first, or lacked the
    hook's pipeline)."""
    from ..team.events import deliver_events

    if interval <= 0:
        raise MLOpsUsageError("the interval must be positive")
    while True:
        try:
            for name in tick():
                print(f"{datetime.now().isoformat(timespec='seconds')} started {name}", flush=True)
        except MLOpsError as exc:  # a bad spec must not stop the others from running
            print(f"jupyter mlops scheduler: {exc}", file=sys.stderr, flush=True)
        try:
            for done in deliver_events():
                print(f"{datetime.now().isoformat(timespec='seconds')} delivered event "
                      f"{done['event_id']} ({done['kind']} {done['model']}) to hook "
                      f"{done['hook_id']}", flush=True)
        except MLOpsError as exc:  # nor may a refused delivery stop the schedules
            print(f"jupyter mlops scheduler: {exc}", file=sys.stderr, flush=True)
        if once:
            return
        time.sleep(interval)


def schedule_table() -> list[dict[str, Any]]:
    """Every pipeline with its schedule, time zone and next fire time (for `pipeline list`)."""
    with get_store().read() as conn:
        state = {r.pipeline: r for r in conn.execute(select(schedules)).all()}
    out = []
    for spec in list_pipelines():
        row = state.get(spec.name)
        nxt = row.next_fire if row is not None and row.cron == spec.schedule else (
            next_fire(spec.schedule, spec.timezone, time.time()) if spec.schedule else None)
        out.append({"pipeline": spec.name, "steps": len(spec.steps), "schedule": spec.schedule,
                    "timezone": spec.timezone if spec.schedule else None,
                    "next_run": (datetime.fromtimestamp(nxt, ZoneInfo(spec.timezone))
                                 .isoformat(timespec="minutes") if nxt else None),
                    "last_run": (datetime.fromtimestamp(row.last_fire, ZoneInfo(spec.timezone))
                                 .isoformat(timespec="minutes")
                                 if row is not None and row.last_fire else None)})
    return out
