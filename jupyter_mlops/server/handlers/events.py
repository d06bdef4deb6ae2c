"""Registry events (all models, or one model's) with their deliveries, and the hooks they are
delivered to: listed, added and removed (on a team store the database lets only maintainers
change hooks: 403 for the others)."""

from __future__ import annotations

from ..operations import INT64, Operation, Param, path
from .base import MLOpsHandler, reads, writes

SINCE = Param("since", "only events with a larger id", int, low=0, high=INT64)
LIMIT = Param("limit", "the newest events to show", int, default=100, low=1, high=100_000)


class EventsHandler(MLOpsHandler):
    GET = Operation("Registry events of every model, newest first, with their deliveries",
                    "RegistryEvents", params=(SINCE, LIMIT))

    @reads
    async def get(self) -> None:
        from ...team.events import event_rows

        q = self.query()
        self.reply({"events": await self.call(event_rows, since=q["since"], limit=q["limit"])})


class ModelEventsHandler(MLOpsHandler):
    GET = Operation("One model's registry events, newest first, with their deliveries",
                    "ModelEvents", params=(path("name", "the model's name"), SINCE, LIMIT),
                    errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        from ...team.events import event_rows

        q = self.query()
        events = await self.call(event_rows, name, since=q["since"], limit=q["limit"])
        self.reply({"model": name, "events": events})


class HooksHandler(MLOpsHandler):
    GET = Operation("The active hooks registry events are delivered to (with model, those "
                    "its events go to)", "EventHooks",
                    params=(Param("model", "a model's name"),), errors=(400, 404))
    POST = Operation("Add a hook: deliver events of these kinds to a webhook and/or a "
                     "pipeline (maintainers only on a team store)", "EventHook",
                     body="HookCreate", status=201, errors=(400, 404))

    @reads
    async def get(self) -> None:
        from ...team.events import hook_list

        hooks = await self.call(hook_list, self.query()["model"])
        self.reply({"hooks": [h.to_dict() for h in hooks]})

    @writes
    async def post(self) -> None:
        from ...team.events import add_event_hook

        asked = self.body()
        hook = await self.call(add_event_hook, asked.kinds, webhook=asked.webhook,
                               pipeline=asked.pipeline, model=asked.model)
        self.reply(hook.to_dict(), status=201)


class HookHandler(MLOpsHandler):
    DELETE = Operation("Stop a hook (its deliveries stay; maintainers only on a team store)",
                       "HookRemoved",
                       params=(path("hook_id", "the hook's id", int, low=1, high=2**31 - 1,
                                    label="hook id"),),
                       errors=(400, 404))

    @writes
    async def delete(self, hook_id: str) -> None:
        from ...team.events import remove_event_hook

        number = self.path_value("hook_id", hook_id)
        await self.call(remove_event_hook, number)
        self.reply({"id": number, "removed": True})


ROUTES = [
    ("/events", EventsHandler),
    ("/models/{name}/events", ModelEventsHandler),
    ("/hooks", HooksHandler),
    ("/hooks/{hook_id}", HookHandler),
]
