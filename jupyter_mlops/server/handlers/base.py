"""What every REST handler shares: Jupyter's authentication and authorization, JSON in and
out, one map from our errors to HTTP statuses, and store calls off the event loop."""

from __future__ import annotations

import asyncio
import functools
import json
import math
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ...errors import (
    AccessError,
    EnvironmentBuildError,
    GateError,
    MLOpsError,
    MLOpsUsageError,
    NotFoundError,
    SchemaError,
    StoreError,
)
from ..operations import Operation

METHODS = ("get", "post", "put", "patch", "delete")

RESOURCE = "mlops"


def reads(method: Callable) -> Callable:
    """An authenticated request that needs the `read` permission on `mlops`."""
    return web.authenticated(authorized("read", resource=RESOURCE)(method))


def writes(method: Callable) -> Callable:
    """An authenticated request that needs `write` on `mlops` (XSRF is checked too)."""
    return web.authenticated(authorized("write", resource=RESOURCE)(method))


def status_of(exc: MLOpsError) -> int:
    from ...registry.signature import SignatureError

    if isinstance(exc, AccessError):  # what a team store's database refused to the user's role
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AccessError):  # a team store's database refused it to the user's role
        return 403
    if isinstance(exc, (SignatureError, EnvironmentBuildError)):
        return 422
    if isinstance(exc, GateError):
        return 409
    if isinstance(exc, MLOpsUsageError):
        return 400
    if isinstance(exc, SchemaError):
        return 409
    if isinstance(exc, StoreError):
        return 503
    return 500


def to_json(value: Any) -> Any:
    """JSON-ready values: DataFrames as records (NaN as null, times in ISO), figures as
    their plotly JSON, numpy scalars as numbers, NaN and infinities as null."""
    if hasattr(value, "to_plotly_json"):
        return json.loads(value.to_json())
    if hasattr(value, "to_json") and hasattr(value, "columns"):
        return json.loads(value.to_json(orient="records", date_format="iso"))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity (DataFrames' records say null too)
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        return to_json(item())
    return value


class MLOpsHandler(ExtensionHandlerMixin, APIHandler):
    """Subclasses describe each method they answer with an `Operation` in the class
    attribute of its name (GET, POST, DELETE), decorate the method with `reads` or `writes`,
    parse (`self.query()`, `self.path_value()`, `self.body()`: by that description),
    `await self.call(...)` the Python API and `self.reply(...)`."""

    auth_resource = RESOURCE

    @classmethod
    def operations(cls) -> dict[str, Operation]:
        """Each method this handler answers ("get", "post", ...) and its description."""
        found = {m: getattr(cls, m.upper(), None) for m in METHODS}
        return {m: op for m, op in found.items() if isinstance(op, Operation)}

    def operation(self) -> Operation:
        return self.operations()[self.request.method.lower()]

    def query(self) -> dict[str, Any]:
        """This request's query parameters, parsed and checked as its operation declares
        them (parameters it does not declare, such as `token`, are left alone)."""
        return {p.name: p.read(self.get_query_arguments(p.name)) for p in self.operation().query}

    def path_value(self, name: str, text: str) -> Any:
        """A path parameter converted and checked as declared."""
        return self.operation().param(name).convert(text)

    async def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` on a worker thread, so a slow query never blocks the server."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def reply(self, data: Any, status: int = 200) -> None:
        """Answer `data` as JSON (APIHandler.finish sets the content type)."""
        self.set_status(status)
        self.finish(json.dumps(to_json(data), allow_nan=False, default=str))

    @property
    def actor(self) -> str | None:
        """Who is asking, as Jupyter knows them (on JupyterHub the OS user says nothing); None
        on a team store, whose database records its session user (the server connects with
        its user's own database role)."""
        from ...store import get_store

        if get_store().team:
            return None
        user = self.current_user
        return getattr(user, "username", None) or getattr(user, "name", None) or str(user)

    def body(self) -> Any:
        """The JSON body checked against its operation's schema (a pydantic model in
        server/schemas): the model, or one error naming each field that is wrong."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise MLOpsUsageError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MLOpsUsageError("the body must be a JSON object")
        from ..schemas import parse_body

        return parse_body(self.operation().body, data)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, MLOpsError):  # the user's mistake, answered in the response
            self.log.debug("jupyter-mlops: %s", value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as JSON: ours with their message, anything else without a traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MLOpsError):
            self.set_status(status_of(exc))
            detail = getattr(exc, "detail", None)
            self.finish(json.dumps({"error": str(exc), "detail": to_json(detail)}, default=str))
            return
        message = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.finish(json.dumps({"error": message, "detail": None}))
