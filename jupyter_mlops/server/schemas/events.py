"""Registry events with their deliveries, and the hooks they are delivered to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Epoch, Strict

__all__ = ["RegistryEvents", "ModelEvents", "EventHooks", "EventHook", "HookCreate",
           "HookRemoved"]

Kind = Literal["registered", "requested", "approved", "rejected", "alias_moved"]


class Delivery(Strict):
    """What one hook did with the event (once: one delivery per event and hook)."""

    hook_id: int
    webhook: str | None = Field(description="the hook's webhook, shown as "
                                            "scheme://host[:port] only")
    pipeline: str | None
    pipeline_run_id: str | None = Field(description="the pipeline run the event queued")
    webhook_status: str | None = Field(description="the webhook's answer (its status code, "
                                                   "or why the post failed); null while posting")
    delivered_by: str | None
    delivered_at: Epoch


class RegistryEvent(Strict):
    id: int
    kind: Kind
    model: str
    version: int | None = Field(description="the version registered, requested or moved to; "
                                            "null when an alias was removed")
    alias: str | None
    request_id: int | None = Field(description="the promotion request it belongs to")
    actor: str | None
    at: Epoch
    deliveries: list[Delivery]


class RegistryEvents(Strict):
    events: list[RegistryEvent] = Field(description="newest first")


class ModelEvents(Strict):
    model: str
    events: list[RegistryEvent] = Field(description="newest first")


class EventHook(Strict):
    id: int
    model: str | None = Field(description="null: every model")
    kinds: list[Kind]
    webhook: str | None = Field(description="shown as scheme://host[:port] only (the path "
                                            "and query of a webhook are often its secret)")
    pipeline: str | None
    created_by: str | None
    created_at: Epoch


class EventHooks(Strict):
    hooks: list[EventHook] = Field(description="the active hooks, oldest first")


class HookCreate(Strict):
    """Deliver registry events of these kinds (of one model, or of every model) from now on:
    POST each to the webhook and/or queue a run of the pipeline. Maintainers only on a team
    store."""

    kinds: list[Kind] = Field(min_length=1, examples=[["registered", "approved"]])
    webhook: str | None = Field(default=None, description="an http(s) URL that receives "
                                                          "each event as a JSON POST")
    pipeline: str | None = Field(default=None, description="a pipeline of the project")
    model: str | None = Field(default=None, description="a model's name (default: every "
                                                        "model)")


class HookRemoved(Strict):
    id: int
    removed: bool
