"""Alias policies and promotion requests: on a team store a protected alias (`production`
unless a policy says otherwise, or any alias a policy protects) moves only when a maintainer
approves a request to move it, and, under the two-person rule (the default), a maintainer
other than the one who asked.

Who decides is the database's: requests are opened as rows only contributors and maintainers
may insert, and decided only by `mlops_decide` (a definer function, see `setup.py`), which
checks the caller's role, the request's state and the two-person rule from `session_user`
and moves the alias in the caller's transaction. The gate (the policy's expression over the
fields `promote --require` reads) is this library's: evaluated when a request is opened (its
values recorded with it) and again at approval, in the approval's transaction. A client that
skips the library can skip the gate, never the approval.

A store that is not a team store protects nothing: its policies and requests read empty, and
setting or deciding them is refused (`set_alias` and `promote` move every alias there)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import refs
from ..errors import AccessError, GateError, MLOpsUsageError, NotFoundError
from ..registry.aliases import (
    check_gate,
    gate_inputs,
    is_protected,
    parse_gate,
    sync_runs,
)
from ..store import get_store
from ..store.sql import upsert
from ..store.tables import alias_policies as policies_table
from ..store.tables import models
from ..store.tables import promotion_requests as requests_table
from .access import role_of
from .events import deliver_after_commit

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

STATES = ("open", "approved", "rejected", "all")
NEEDS_TEAM = ("alias policies and promotion requests need a team store (PostgreSQL made one "
              "by `jupyter mlops team init`); on this store nothing is protected: set_alias "
              "and promote move every alias, as before")
POLICY_COLUMNS = ["model", "alias", "protected", "gate", "two_person", "updated_by",
                  "updated_at"]
REQUEST_COLUMNS = ["id", "model", "version", "alias", "state", "requested_by", "requested_at",
                   "comment", "gate", "gate_values", "decided_by", "decided_at",
                   "decision_comment", "decision_gate_values"]


@dataclass(frozen=True)
class AliasPolicy:
    """How an alias of a model moves: `protected` (only by an approved request), the `gate`
    a request must pass when opened and when approved, and whether the approver must be
    another person than the requester (`two_person`). `updated_by` is None for the default
    policy of `production` (protected, two-person, no gate)."""

    model: str
    alias: str
    protected: bool
    gate: str | None
    two_person: bool
    updated_by: str | None
    updated_at: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        if not self.protected:
            return f"{self.model}@{self.alias}: not protected (set_alias and promote move it)"
        return (f"{self.model}@{self.alias}: protected, "
                + ("two-person" if self.two_person else "one person may ask and approve")
                + (f", gate {self.gate}" if self.gate else ", no gate"))


@dataclass(frozen=True)
class PromotionRequest:
    """A request to move `alias` of `model` to `version`: who asked and why, the gate and the
    values it compared then; once decided, by whom, why and (approved) what the gate compared
    at approval."""

    id: int
    model: str
    version: int
    alias: str
    state: str
    requested_by: str | None
    requested_at: float
    comment: str | None
    gate: str | None
    gate_values: dict[str, Any] | None
    decided_by: str | None
    decided_at: float | None
    decision_comment: str | None
    decision_gate_values: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        ref = f"{self.model}@{self.version}"
        if self.state == "open":
            return (f"request {self.id}: {ref} to become {self.alias}, opened by "
                    f"{self.requested_by}; it awaits a maintainer's approval")
        done = "became" if self.state == "approved" else "did not become"
        return f"request {self.id} {self.state} by {self.decided_by}: {ref} {done} {self.alias}"


def _team_store() -> Store:
    store = get_store()
    if not store.team:
        raise MLOpsUsageError(NEEDS_TEAM)
    return store


def _model_id(conn, name: str) -> int:
    model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        raise NotFoundError(f"no model named {name!r}")
    return model_id


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise MLOpsUsageError(f"{what} must be True or False, got {value!r}")
    return value


def _text(value: Any, what: str, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MLOpsUsageError(f"{what} must be text, got {type(value).__name__}")
    value = value.strip() if value else None
    if required and not value:
        raise MLOpsUsageError(f"give a {what}: it is kept with the decision")
    return value


def _request_id(value: Any) -> int:
    if isinstance(value, str) and refs.DIGITS.match(value.strip()):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= refs.MAX_VERSION:
        raise MLOpsUsageError(f"a promotion request id is a number from 1, got {value!r}")
    return value


def _policy_row(conn, model_id: int, alias: str) -> Any:
    return conn.execute(select(policies_table).where(
        policies_table.c.model_id == model_id, policies_table.c.alias == alias)).mappings().first()


def _maintainer(store: Store, what: str) -> None:
    """Refuse a decision to anyone but a maintainer before asking the database (which
    refuses it anyway), in words that name the role."""
    role = role_of(store)
    if role != "maintainer":
        raise AccessError(f"{store.actor} (role {role}) may not {what}: that needs the "
                          "maintainer role. Nothing was changed.")


def set_alias_policy(model: str, alias: str, protected: bool = True, gate: str | None = None,
                     two_person: bool = True) -> AliasPolicy:
    """Set how `alias` of `model` moves (maintainers only; it replaces the alias's policy
    whole): `protected` aliases move only by an approved promotion request; `gate` is an
    expression over the fields `promote --require` reads ("metrics.f1 >= production.metrics.f1")
    that a request must pass when opened and again when approved; `two_person` makes the
    approver another person than the requester."""
    name, alias = refs.check_name(model, "model name"), refs.check_alias(alias)
    protected, two_person = _flag(protected, "protected"), _flag(two_person, "two_person")
    gate = _text(gate, "gate")
    if gate and not protected:
        raise MLOpsUsageError("a gate is checked on promotion requests, which only protected "
                              "aliases take: give protected=True, or no gate")
    store = _team_store()
    with store.read() as conn:
        model_id = _model_id(conn, name)
        held, _ = gate_inputs(conn, model_id)
    parse_gate(gate, held, alias)  # the gate's syntax and fields, before anything is written
    with store.write("model", name, "policy") as conn:
        conn.execute(upsert(conn.dialect.name, policies_table, ["model_id", "alias"],
                            ["protected", "gate", "two_person", "updated_by", "updated_at"]),
                     {"model_id": model_id, "alias": alias, "protected": protected,
                      "gate": gate, "two_person": two_person, "updated_by": store.actor,
                      "updated_at": time.time()})
        row = _policy_row(conn, model_id, alias)
    return AliasPolicy(name, alias, row["protected"], row["gate"], row["two_person"],
                       row["updated_by"], row["updated_at"])


def alias_policies(model: str | None = None) -> pd.DataFrame:
    """The alias policies of every model (or of one): model, alias, protected, gate,
    two_person, updated_by, updated_at (UTC). On a team store a model whose `production` has
    no policy of its own shows the default one (protected, two-person, no gate; updated_by
    empty); elsewhere nothing is protected and the list is empty."""
    import pandas as pd

    name = refs.check_name(model, "model name") if model is not None else None
    store = get_store()
    p = policies_table.c
    with store.read() as conn:
        query = (select(models.c.name, p.alias, p.protected, p.gate, p.two_person,
                        p.updated_by, p.updated_at)
                 .join(models, models.c.id == p.model_id))
        names = select(models.c.name)
        if name is not None:
            _model_id(conn, name)
            query, names = query.where(models.c.name == name), names.where(models.c.name == name)
        rows = [tuple(r) for r in conn.execute(query).all()]
        if store.team:
            own = {(r[0], r[1]) for r in rows}
            rows += [(n, "production", True, None, True, None, None)
                     for n in conn.execute(names).scalars() if (n, "production") not in own]
    frame = pd.DataFrame(sorted(rows, key=lambda r: (r[0], r[1])), columns=POLICY_COLUMNS)
    frame["protected"] = frame["protected"].astype(bool)
    frame["two_person"] = frame["two_person"].astype(bool)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"].astype("float64"), unit="s",
                                         utc=True)
    return frame


def request_promotion(ref: str, alias: str, comment: str | None = None) -> PromotionRequest:
    """Ask for protected `alias` to move to the version `ref` names ("m@3", "m/3",
    "m@staging": the version it names now). The alias's gate is evaluated now: a version
    that does not pass it is refused (GateError, nothing recorded); else the request is
    recorded with the values the gate compared, for a maintainer to approve or reject."""
    from ..registry.versions import parse_model_ref, version_in

    parsed, alias = parse_model_ref(ref), refs.check_alias(alias)
    comment = _text(comment, "comment")
    store = _team_store()
    with store.read() as conn:
        candidate = version_in(conn, parsed)
        name, version = candidate.name, candidate.version
        model_id = _model_id(conn, name)
        if not is_protected(conn, model_id, alias):
            raise MLOpsUsageError(f"alias {alias!r} of model {name!r} is not protected: move it "
                                  "with set_alias or promote (requests are for protected "
                                  "aliases)")
        held, runs = gate_inputs(conn, model_id)
        if held.get(alias) == version:
            raise MLOpsUsageError(f"{name}@{version} is {alias} already")
        pending = conn.execute(select(requests_table.c.id).where(
            requests_table.c.model_id == model_id, requests_table.c.alias == alias,
            requests_table.c.version == version,
            requests_table.c.state == "open")).scalar()
        if pending is not None:
            raise MLOpsUsageError(f"request {pending} already asks for {name}@{version} to be "
                                  f"{alias}, and is open")
        policy = _policy_row(conn, model_id, alias)
    gate = policy["gate"] if policy is not None else None
    tree = parse_gate(gate, held, alias)
    sync_runs(runs, {version, *held.values()})
    with store.write("model", name, "requested") as conn:
        values = None
        if tree is not None:
            failed, values = check_gate(conn, model_id, version, tree, runs)
            if failed:
                raise GateError(f"{name}@{version} does not pass the gate of {alias}, so no "
                                f"request was opened: {'; '.join(failed)}")
        request_id = conn.execute(requests_table.insert().values(
            model_id=model_id, version=version, alias=alias, state="open", comment=comment,
            gate=gate, gate_values=json.dumps(values) if values is not None else None,
            requested_by=store.actor, requested_at=time.time())
            .returning(requests_table.c.id)).scalar_one()
    deliver_after_commit()  # the database wrote a "requested" event
    return get_request(request_id)


def _open_request(conn, request_id: int) -> PromotionRequest:
    found = _requests(conn, requests_table.c.id == request_id)
    if not found:
        raise NotFoundError(f"no promotion request {request_id}")
    request = found[0]
    if request.state != "open":
        raise MLOpsUsageError(f"promotion request {request_id} was {request.state} already "
                              f"(by {request.decided_by}): only an open request is decided")
    return request


def _decide(conn, store: Store, request_id: int, approve: bool, note: str | None,
            values: dict[str, Any] | None) -> None:
    """The database's decision (`mlops_decide`), in the caller's transaction; what it
    refuses said as our errors."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        conn.execute(text("SELECT mlops_decide(:r, :a, :n, :g)"),
                     {"r": request_id, "a": approve, "n": note,
                      "g": json.dumps(values) if values is not None else None})
    except DBAPIError as exc:
        from ..store import _reason
        from .access import refused

        code = getattr(exc.orig, "sqlstate", None)
        if code == "42501":
            raise refused(store, exc) from None
        if code == "P0002":
            raise NotFoundError(f"no promotion request {request_id}") from None
        if code == "55000":
            raise MLOpsUsageError(f"{_reason(exc)}: only an open request is decided") from None
        raise


def approve(request_id: int, comment: str | None = None) -> PromotionRequest:
    """Approve an open promotion request (maintainers; under the two-person rule not the one
    who asked): the alias's gate is evaluated again, and the alias moves only if it still
    holds (else GateError, nothing changed, the request stays open), in one transaction with
    the decision and its record in the alias history."""
    request_id, comment = _request_id(request_id), _text(comment, "comment")
    store = _team_store()
    _maintainer(store, "approve promotion requests")
    with store.read() as conn:
        request = _open_request(conn, request_id)
        model_id = _model_id(conn, request.model)
        policy = _policy_row(conn, model_id, request.alias)
        two_person = policy["two_person"] if policy is not None else True
        if two_person and request.requested_by == store.actor:
            raise AccessError(f"{store.actor} opened promotion request {request_id} and may not "
                              f"approve it: alias {request.alias!r} of model {request.model!r} "
                              "needs a second person (two_person); another maintainer approves "
                              "it. Nothing was changed.")
        gate = policy["gate"] if policy is not None else None
        if gate != request.gate:
            raise GateError(f"the gate of {request.alias} changed since request {request_id} was "
                            f"opened (then {request.gate or 'none'}, now {gate or 'none'}): "
                            "reject it and open a new request")
        held, runs = gate_inputs(conn, model_id)
    tree = parse_gate(gate, held, request.alias)
    sync_runs(runs, {request.version, *held.values()})
    with store.write("model", request.model, "approved") as conn:
        values = None
        if tree is not None:
            failed, values = check_gate(conn, model_id, request.version, tree, runs)
            if failed:
                raise GateError(f"request {request_id} was not approved: {request.model}@"
                                f"{request.version} no longer passes the gate of "
                                f"{request.alias}: {'; '.join(failed)}")
        _decide(conn, store, request_id, True, comment, values)
    deliver_after_commit()  # "approved" and "alias_moved" events
    return get_request(request_id)


def reject(request_id: int, comment: str) -> PromotionRequest:
    """Reject an open promotion request (maintainers, the requester too), saying why; the
    alias stays where it is."""
    request_id, comment = _request_id(request_id), _text(comment, "comment", required=True)
    store = _team_store()
    _maintainer(store, "reject promotion requests")
    with store.read() as conn:
        request = _open_request(conn, request_id)
    with store.write("model", request.model, "rejected") as conn:
        _decide(conn, store, request_id, False, comment, None)
    deliver_after_commit()  # a "rejected" event
    return get_request(request_id)


def _requests(conn, *where: Any) -> list[PromotionRequest]:
    r = requests_table.c
    rows = conn.execute(select(r.id, models.c.name, r.version, r.alias, r.state, r.requested_by,
                               r.requested_at, r.comment, r.gate, r.gate_values, r.decided_by,
                               r.decided_at, r.decision_comment, r.decision_gate_values)
                        .join(models, models.c.id == r.model_id).where(*where)
                        .order_by(r.id)).all()
    return [PromotionRequest(*row[:9], json.loads(row[9]) if row[9] else None, *row[10:13],
                             json.loads(row[13]) if row[13] else None) for row in rows]


def get_request(request_id: int) -> PromotionRequest:
    """One promotion request, in any state."""
    request_id = _request_id(request_id)
    with get_store().read() as conn:
        found = _requests(conn, requests_table.c.id == request_id)
    if not found:
        raise NotFoundError(f"no promotion request {request_id}")
    return found[0]


def promotion_requests(model: str | None = None, state: str | None = "open") -> pd.DataFrame:
    """Promotion requests, oldest first, of every model (or of one), in `state` (open,
    approved, rejected; None or "all" for every state): id, model, version, alias, state,
    requested_by, requested_at, comment, gate, gate_values, decided_by, decided_at,
    decision_comment, decision_gate_values. Empty on a store that is not a team store."""
    import pandas as pd

    name = refs.check_name(model, "model name") if model is not None else None
    if state is not None and state not in STATES:
        raise MLOpsUsageError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    where = []
    with get_store().read() as conn:
        if name is not None:
            where.append(requests_table.c.model_id == _model_id(conn, name))
        if state not in (None, "all"):
            where.append(requests_table.c.state == state)
        rows = [asdict(r) for r in _requests(conn, *where)]
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    for col in ("requested_at", "decided_at"):
        frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)
    for col in ("id", "version"):
        frame[col] = frame[col].astype("int64")
    return frame
