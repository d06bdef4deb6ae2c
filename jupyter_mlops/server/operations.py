"""What each REST operation takes and answers, declared beside its handler: its parameters
(which the handler parses through these same declarations, so the OpenAPI document and the
parsing cannot disagree), its request body and its responses. Response and body schemas are
named pydantic models in `server/schemas/`, imported only when the document is built or a body
is checked, so loading the handlers imports no pydantic."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import MLOpsUsageError

INT64 = 2**63 - 1  # the largest integer a store column or an OFFSET holds
_INTEGER = re.compile(r"-?[0-9]+\Z")


@dataclass(frozen=True)
class Param:
    """A query or path parameter. `kind` is str, int or bool; `many` is None, "repeat"
    (`?k=a&k=b`) or "csv" (`?k=a,b`); an empty value counts as absent. Integers are checked
    against [low, high]; `missing` is the message when a required parameter is absent, `label`
    what errors call the parameter (its name by default)."""

    name: str
    description: str
    kind: type = str
    default: Any = None
    low: int = 0
    high: int = INT64
    choices: tuple[str, ...] | None = None
    many: str | None = None
    min_items: int = 0
    required: bool = False
    missing: str | None = None
    label: str | None = None
    where: str = "query"

    def convert(self, text: str) -> Any:
        """One value from its text, or one clear error naming the parameter."""
        what = self.label or self.name
        if self.kind is int:
            bounds = f"between {self.low} and {self.high}"
            if not _INTEGER.match(text):
                raise MLOpsUsageError(f"{what} must be an integer {bounds}, got {text!r}")
            value = int(text)
            if not self.low <= value <= self.high:
                raise MLOpsUsageError(f"{what} must be {bounds}, got {value}")
            return value
        if self.kind is bool:
            if text not in ("true", "false"):
                raise MLOpsUsageError(f"{what} must be true or false, got {text!r}")
            return text == "true"
        if self.choices is not None and text not in self.choices:
            raise MLOpsUsageError(f"{what} must be one of {', '.join(self.choices)}, got {text!r}")
        return text

    def read(self, texts: Sequence[str]) -> Any:
        """The parameter's value from every text given for it (in order)."""
        if self.many == "csv":
            texts = [part for text in texts for part in text.split(",")]
        texts = [t.strip() for t in texts if t.strip()]
        if not texts:
            if self.required:
                raise MLOpsUsageError(self.missing or f"give {self.name}=…")
            return self.default
        if self.many is None:
            return self.convert(texts[-1])
        values = [self.convert(t) for t in texts]
        if len(values) < self.min_items:
            raise MLOpsUsageError(self.missing or
                                  f"give at least {self.min_items} values of {self.name}")
        return values

    def schema(self) -> dict[str, Any]:
        """The JSON schema of one value (of the array, for a parameter given many times)."""
        kind = {str: "string", int: "integer", bool: "boolean"}[self.kind]
        one: dict[str, Any] = {"type": kind}
        if self.kind is int:
            one.update(minimum=self.low, maximum=self.high)
        if self.choices is not None:
            one["enum"] = list(self.choices)
        if self.kind is str and (self.required or self.where == "path"):
            one["minLength"] = 1
        if self.many is None:
            return {**one, "default": self.default} if self.default is not None else one
        array: dict[str, Any] = {"type": "array", "items": one}
        if self.min_items:
            array["minItems"] = self.min_items
        return array

    def describe(self) -> dict[str, Any]:
        """This parameter as an OpenAPI parameter object."""
        out: dict[str, Any] = {"name": self.name, "in": self.where,
                               "required": self.required or self.where == "path",
                               "description": self.description, "schema": self.schema()}
        if self.many is not None:
            out.update(style="form", explode=self.many == "repeat")
        return out


def path(name: str, description: str, kind: type = str, **bounds: Any) -> Param:
    """A parameter that is a segment of the path (`{name:path}`: the rest of it)."""
    return Param(name, description, kind=kind, where="path", required=True, **bounds)


@dataclass(frozen=True)
class Operation:
    """One method of one route: a summary, its parameters, the name of its body's schema,
    and its answer: the schema of the success body (`response`, a name in server/schemas) in
    `media_type`, with `status`; the error statuses it may answer besides 403 (every route
    is behind Jupyter's authentication and authorization). A `response` of None is bytes of
    any media type (an artifact)."""

    summary: str
    response: str | None
    description: str = ""
    params: tuple[Param, ...] = ()
    body: str | None = None
    status: int = 200
    media_type: str = "application/json"
    errors: tuple[int, ...] = (400,)

    @property
    def query(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.where == "query")

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)
