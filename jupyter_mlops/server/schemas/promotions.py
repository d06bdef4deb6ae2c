"""Alias policies and promotion requests (team stores): what the routes under
models/{name}/policies, models/{name}/requests and requests/{id} take and answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt

from .common import Epoch, ISOTime, Strict

__all__ = ["AliasPolicy", "AliasPolicies", "AliasPolicySet", "PromotionRequest",
           "PromotionRequests", "PromotionRequestNew", "Approval", "Rejection"]

GateValues = dict[str, Any] | None
GATE_VALUES = ("the values the gate compared, by field (metrics.f1, production.metrics.f1); "
               "null without a gate")


class AliasPolicy(Strict):
    """How an alias moves: only by an approved request when protected, the gate a request
    passes when opened and when approved, and whether its approver is another person."""

    model: str
    alias: str
    protected: bool
    gate: str | None
    two_person: bool
    updated_by: str | None = Field(description="null for production's default policy")
    updated_at: Epoch | None


class AliasPolicyRow(Strict):
    model: str
    alias: str
    protected: bool
    gate: str | None
    two_person: bool
    updated_by: str | None = Field(description="null for production's default policy")
    updated_at: ISOTime | None


class AliasPolicies(Strict):
    """The policies of a model's aliases (on a team store production's default is listed when
    it has none of its own); empty on a store that is not a team store."""

    policies: list[AliasPolicyRow]


class AliasPolicySet(Strict):
    """The whole policy of an alias (maintainers)."""

    protected: StrictBool = Field(default=True, description="moves only by an approved request")
    gate: str | None = Field(
        default=None, description="what a request must pass when opened and when approved, in "
                                  "the expression language over metrics.*, params.*, tags.*, "
                                  "version and ALIAS.*; only for a protected alias",
        examples=["metrics.f1 >= production.metrics.f1"])
    two_person: StrictBool = Field(default=True,
                                   description="the approver is not the requester")


class _Request(Strict):
    id: int
    model: str
    version: int
    alias: str
    state: str = Field(description="open, approved or rejected")
    requested_by: str | None
    comment: str | None
    gate: str | None = Field(description="the alias's gate when the request was opened")
    gate_values: GateValues = Field(description=f"when opened: {GATE_VALUES}")
    decided_by: str | None
    decision_comment: str | None
    decision_gate_values: GateValues = Field(description=f"at approval: {GATE_VALUES}")


class PromotionRequest(_Request):
    """One request, times as epoch seconds."""

    requested_at: Epoch
    decided_at: Epoch | None


class PromotionRequestRow(_Request):
    """One request of a list, times as ISO text (the frame's records)."""

    requested_at: ISOTime
    decided_at: ISOTime | None


class PromotionRequests(Strict):
    """Promotion requests, oldest first; empty on a store that is not a team store."""

    requests: list[PromotionRequestRow]


class PromotionRequestNew(Strict):
    """Ask for a version to become a protected alias; its gate must hold now."""

    version: StrictInt
    alias: str = Field(description="[a-z][a-z0-9_-]*, never latest", examples=["production"])
    comment: str | None = None


class Approval(Strict):
    comment: str | None = Field(default=None, description="kept in the alias history")


class Rejection(Strict):
    comment: str = Field(description="why, kept with the request")
