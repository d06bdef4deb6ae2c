"""Registry events and their delivery to hooks.

The database writes an event for every version registered, promotion request opened,
approved or rejected, and alias moved (triggers of migration 0011; nothing here inserts one).
A hook, which only maintainers may add on a team store, names the kinds it wants, a model (or
every model) and what to do: POST the event to a webhook (stored whole, shown only as
`scheme://host[:port]`, see `jupyter_mlops.webhooks`) and/or queue a run of a pipeline.

Delivery happens once per event and hook: `deliver_events` claims each pair by inserting its
delivery row (a unique key, so of two processes delivering at once one gets nothing), queues
the pipeline run in that same transaction, and posts the webhook after the commit, recording
its answer on the delivery. The process that caused an event delivers it as soon as its own
transaction committed, and the scheduler delivers on every tick whatever is left (events
whose process died first, or that needed a pipeline that process did not have)."""

from __future__ import annotations

import json
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, literal, or_, select, update

from .. import refs
from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import event_deliveries, models
from ..store.tables import event_hooks as hooks_table
from ..store.tables import registry_events as events_table
from ..webhooks import check_webhook, post_json, shown_webhook

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

KINDS = ("registered", "requested", "approved", "rejected", "alias_moved")
TRIGGER = "event"  # the trigger of the pipeline runs a hook queues
BATCH = 1000  # pairs looked at per call; the next call (or tick) takes the rest
INT32, INT64 = 2**31 - 1, 2**63 - 1  # the largest hook id and event id the store holds
EVENT_COLUMNS = ["id", "kind", "model", "version", "alias", "request_id", "actor", "at",
                 "deliveries"]
HOOK_COLUMNS = ["id", "model", "kinds", "webhook", "pipeline", "created_by", "created_at"]


@dataclass(frozen=True)
class EventHook:
    """A hook: `.id`, `.model` (None: every model), `.kinds`, `.webhook` (shown as
    `scheme://host[:port]`: the full URL stays in the store, used only to post), `.pipeline`."""

    id: int
    model: str | None
    kinds: tuple[str, ...]
    webhook: str | None
    pipeline: str | None
    created_by: str | None
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, "kinds": list(self.kinds),
                "webhook": self.webhook, "pipeline": self.pipeline,
                "created_by": self.created_by, "created_at": self.created_at}


class _Skip(Exception):
    """This (event, hook) pair is not delivered now: taken by another process, or its hook
    was removed meanwhile."""


class _NotHere(Exception):
    """This process cannot queue the hook's pipeline (its spec is not in this project): the
    pair waits for a process that can."""


def _kinds(kinds: Any) -> list[str]:
    """Event kinds from a list of names or one comma-separated string, in KINDS' order."""
    if isinstance(kinds, str):
        kinds = kinds.split(",")
    if not isinstance(kinds, (list, tuple, set, frozenset)) or \
            not all(isinstance(k, str) for k in kinds):
        raise MLOpsUsageError(f"kinds is a list of event kinds ({', '.join(KINDS)}), got "
                              f"{kinds!r}")
    given = {k.strip() for k in kinds if k.strip()}
    unknown = sorted(given - set(KINDS))
    if unknown:
        raise MLOpsUsageError(f"unknown event kind {', '.join(map(repr, unknown))}: the kinds "
                              f"are {', '.join(KINDS)}")
    if not given:
        raise MLOpsUsageError(f"give at least one event kind: {', '.join(KINDS)}")
    return [k for k in KINDS if k in given]


def _model_id(conn: Any, model: str) -> int:
    name = refs.check_name(model, "model name")
    model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        raise NotFoundError(f"no model named {name!r}")
    return model_id


def add_event_hook(kinds: Any, webhook: str | None = None, pipeline: str | None = None,
                   model: str | None = None) -> EventHook:
    """Deliver the registry events of `kinds` (registered, requested, approved, rejected,
    alias_moved) of `model` (None: every model) from now on: POST each as JSON to `webhook`
    and/or queue one run of `pipeline` (trigger "event"). On a team store only maintainers
    may add hooks."""
    wanted = _kinds(kinds)
    if webhook is None and pipeline is None:
        raise MLOpsUsageError("a hook needs a webhook, a pipeline or both: what should an "
                              "event do?")
    if webhook is not None:
        check_webhook(webhook)
    if pipeline is not None:
        from ..pipelines.spec import load_spec

        load_spec(refs.check_name(pipeline, "pipeline name"))
    store = get_store()
    if model is not None:
        with store.read() as conn:
            _model_id(conn, model)  # one clear error before the write
    now = time.time()
    with store.write("event_hook", model or "", "added") as conn:
        model_id = _model_id(conn, model) if model is not None else None
        hook_id = conn.execute(hooks_table.insert().values(
            model_id=model_id, kinds=json.dumps(wanted), webhook=webhook, pipeline=pipeline,
            active=True, created_by=store.actor, created_at=now)).inserted_primary_key[0]
    return EventHook(hook_id, model, tuple(wanted), shown_webhook(webhook), pipeline,
                     store.actor, now)


def describe_hook(hook: EventHook) -> str:
    """One line for the magic and the CLI: `registered, approved of m → https://host and
    pipeline p`."""
    targets = [t for t in (hook.webhook, hook.pipeline and f"pipeline {hook.pipeline}") if t]
    return f"{', '.join(hook.kinds)} of {hook.model or 'every model'} → {' and '.join(targets)}"


def hook_list(model: str | None = None) -> list[EventHook]:
    """The active hooks (of `model`'s events: its own and those of every model), oldest
    first, their webhooks shown as scheme://host[:port]."""
    with get_store().read() as conn:
        query = (select(hooks_table, models.c.name)
                 .outerjoin(models, models.c.id == hooks_table.c.model_id)
                 .where(hooks_table.c.active.is_(True)).order_by(hooks_table.c.id))
        if model is not None:
            model_id = _model_id(conn, model)
            query = query.where(or_(hooks_table.c.model_id.is_(None),
                                    hooks_table.c.model_id == model_id))
        rows = conn.execute(query).mappings().all()
    return [EventHook(r["id"], r["name"], tuple(json.loads(r["kinds"])),
                      shown_webhook(r["webhook"]), r["pipeline"], r["created_by"],
                      r["created_at"]) for r in rows]


def event_hooks(model: str | None = None) -> pd.DataFrame:
    """The active hooks (with `model`, those its events go to: its own and those of every
    model): id, model (None: every model), kinds, webhook (scheme://host[:port] only),
    pipeline, created_by, created_at (UTC)."""
    import pandas as pd

    frame = pd.DataFrame([h.to_dict() for h in hook_list(model)], columns=HOOK_COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"].astype("float64"), unit="s",
                                         utc=True)
    return frame


def remove_event_hook(hook_id: int) -> None:
    """Stop a hook (what it delivered stays). On a team store only maintainers may."""
    if isinstance(hook_id, bool) or not isinstance(hook_id, int):
        raise MLOpsUsageError(f"an event hook id is a number, got {hook_id!r}")
    if not 0 < hook_id <= INT32:
        raise NotFoundError(f"no active event hook {hook_id} (event_hooks() lists them)")
    with get_store().write("event_hook", str(hook_id), "removed") as conn:
        done = conn.execute(update(hooks_table).where(
            hooks_table.c.id == hook_id, hooks_table.c.active.is_(True)).values(active=False))
        if not done.rowcount:
            raise NotFoundError(f"no active event hook {hook_id} (event_hooks() lists them)")


def event_rows(model: str | None = None, since: int | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` events (of `model`; with an id above `since`), newest first, each
    with its deliveries (webhooks shown as scheme://host[:port]); times in epoch seconds."""
    if since is not None and (isinstance(since, bool) or not isinstance(since, int)
                              or not 0 <= since <= INT64):
        raise MLOpsUsageError(f"since is an event id (0 or more), got {since!r}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= INT64:
        raise MLOpsUsageError(f"limit is a positive number, got {limit!r}")
    e, d, h = events_table, event_deliveries, hooks_table
    with get_store().read() as conn:
        query = (select(e.c.id, e.c.kind, models.c.name.label("model"), e.c.version,
                        e.c.alias, e.c.request_id, e.c.actor, e.c.at)
                 .join(models, models.c.id == e.c.model_id)
                 .order_by(e.c.id.desc()).limit(limit))
        if model is not None:
            query = query.where(e.c.model_id == _model_id(conn, model))
        if since is not None:
            query = query.where(e.c.id > since)
        events = [dict(r) for r in conn.execute(query).mappings()]
        found: dict[int, list[dict[str, Any]]] = {}
        if events:
            rows = conn.execute(
                select(d.c.event_id, d.c.hook_id, h.c.webhook, h.c.pipeline,
                       d.c.pipeline_run_id, d.c.webhook_status, d.c.delivered_by,
                       d.c.delivered_at)
                .join(h, h.c.id == d.c.hook_id)
                .where(d.c.event_id.in_([ev["id"] for ev in events]))
                .order_by(d.c.id)).mappings()
            for r in rows:
                found.setdefault(r["event_id"], []).append(
                    {"hook_id": r["hook_id"], "webhook": shown_webhook(r["webhook"]),
                     "pipeline": r["pipeline"], "pipeline_run_id": r["pipeline_run_id"],
                     "webhook_status": r["webhook_status"],
                     "delivered_by": r["delivered_by"], "delivered_at": r["delivered_at"]})
    for ev in events:
        ev["deliveries"] = found.get(ev["id"], [])
    return events


def registry_events(model: str | None = None, since: int | None = None,
                    limit: int = 100) -> pd.DataFrame:
    """The newest `limit` registry events (of `model`; with an id above `since`), newest
    first: id, kind (registered, requested, approved, rejected, alias_moved), model,
    version, alias, request_id, actor, at (UTC), and deliveries (a list per event: hook_id,
    webhook shown as scheme://host[:port], pipeline, pipeline_run_id, webhook_status,
    delivered_by, delivered_at)."""
    import pandas as pd

    frame = pd.DataFrame(event_rows(model, since, limit), columns=EVENT_COLUMNS)
    for column in ("version", "request_id"):
        frame[column] = frame[column].astype("Int64")
    frame["at"] = pd.to_datetime(frame["at"].astype("float64"), unit="s", utc=True)
    return frame


def _pending(conn: Any) -> list[dict[str, Any]]:
    """Every (event, active hook) pair not delivered yet, where the hook wants the event's
    kind and model and existed when the event happened; oldest event first. Each with the
    hook's full webhook URL (for posting only)."""
    e, h, d = events_table, hooks_table, event_deliveries
    wanted = h.c.kinds.like(literal('%"').concat(e.c.kind).concat(literal('"%')))
    query = (select(e.c.id.label("event_id"), e.c.kind, models.c.name.label("model"),
                    e.c.version, e.c.alias, e.c.request_id, e.c.actor, e.c.at,
                    h.c.id.label("hook_id"), h.c.webhook, h.c.pipeline)
             .select_from(h)
             .join(e, and_(h.c.active.is_(True), e.c.at >= h.c.created_at, wanted,
                           or_(h.c.model_id.is_(None), h.c.model_id == e.c.model_id)))
             .join(models, models.c.id == e.c.model_id)
             .where(~exists().where(d.c.event_id == e.c.id, d.c.hook_id == h.c.id))
             .order_by(e.c.id, h.c.id).limit(BATCH))
    return [dict(r) for r in conn.execute(query).mappings()]


def _claim(store: Store, pair: dict[str, Any]) -> str | None:
    """Deliver one pair's part inside one transaction: its delivery row (the claim: a second
    claimer inserts nothing and rolls back) and its pipeline's queued run. The run's id."""
    from ..pipelines.runner import queue_pipeline
    from ..store.sql import insert_ignore

    with store.write("registry_event", str(pair["event_id"]), "delivered") as conn:
        if not conn.execute(select(hooks_table.c.active).where(
                hooks_table.c.id == pair["hook_id"])).scalar():
            raise _Skip
        run_id = None
        if pair["pipeline"]:
            try:
                run_id = queue_pipeline(conn, pair["pipeline"], TRIGGER)
            except MLOpsUsageError as exc:  # its spec is missing or broken in this project
                raise _NotHere(str(exc)) from None
        claimed = conn.execute(
            insert_ignore(store.dialect, event_deliveries, ["event_id", "hook_id"]).values(
                event_id=pair["event_id"], hook_id=pair["hook_id"], pipeline_run_id=run_id,
                delivered_by=store.actor, delivered_at=time.time())
            .returning(event_deliveries.c.id)).first()  # (rowcount says -1 on PostgreSQL)
        if claimed is None:
            raise _Skip  # rolls the queued run back with it
    return run_id


def _post(store: Store, delivery: dict[str, Any], url: str) -> None:
    """POST the event to the hook's webhook and record the answer on its delivery."""
    body = {k: v for k, v in delivery.items() if k not in ("webhook", "webhook_status")}
    status = post_json(url, body)
    delivery["webhook_status"] = status
    try:
        with store.write() as conn:
            conn.execute(update(event_deliveries).where(
                event_deliveries.c.event_id == delivery["event_id"],
                event_deliveries.c.hook_id == delivery["hook_id"]).values(webhook_status=status))
    except Exception as exc:  # noqa: BLE001 - the post was made: say the record failed
        warnings.warn(f"event {delivery['event_id']} was posted to hook {delivery['hook_id']}'s "
                      f"webhook ({status}), but its answer was not recorded: {exc}",
                      UserWarning, stacklevel=1)


def deliver_events(wait: bool = True) -> list[dict[str, Any]]:
    """Deliver every registry event not yet delivered to each active hook that wants it and
    existed when it happened: one delivery per event and hook, whichever process delivers
    (the one that caused the event, the scheduler, this call). Returns the deliveries made:
    the event's fields, hook_id, pipeline, pipeline_run_id, webhook (scheme://host[:port])
    and webhook_status (with `wait=False` the posts go on in the background: None). A pair
    whose pipeline is not in this project waits for a process that has it (one warning)."""
    from ..pipelines.runner import start_queued

    store = get_store()
    with store.read() as conn:
        pairs = _pending(conn)
    made: list[dict[str, Any]] = []
    waiting: dict[tuple[int, str], list[int]] = {}
    threads = []
    for pair in pairs:  # each claimed pair is acted on at once: a later refusal loses none
        try:
            run_id = _claim(store, pair)
        except _Skip:
            continue
        except _NotHere as exc:
            waiting.setdefault((pair["hook_id"], str(exc)), []).append(pair["event_id"])
            continue
        url = pair.pop("webhook")
        delivery = {**pair, "pipeline_run_id": run_id, "webhook": shown_webhook(url),
                    "webhook_status": None}
        made.append(delivery)
        if run_id:
            start_queued(pair["pipeline"], run_id)
        if url:
            threads.append(threading.Thread(target=_post, args=(store, delivery, url),
                                            name="mlops-event-webhook"))
            threads[-1].start()
    if wait:
        for thread in threads:
            thread.join()
    if waiting:
        warnings.warn("registry events wait for a process that can queue their hook's "
                      "pipeline: " + "; ".join(
                          f"hook {hook} (events {', '.join(map(str, ids))}): {why}"
                          for (hook, why), ids in waiting.items()), UserWarning, stacklevel=2)
    return made


def deliver_after_commit() -> None:
    """What a process does right after its transaction wrote registry events: deliver them
    (webhook posts go on in the background). A failure here never undoes what caused the
    events: one warning, and the scheduler delivers them later."""
    try:
        deliver_events(wait=False)
    except Exception as exc:  # noqa: BLE001 - the registration or move stands
        warnings.warn(f"registry events were not delivered now ({exc}); `jupyter mlops "
                      "scheduler` delivers them", UserWarning, stacklevel=3)
