"""The REST API's bodies and responses as pydantic models, named in the handlers'
`Operation`s. Imported only to build the OpenAPI document (`server/openapi.py`) and to check a
request body, never by `import jupyter_mlops` or by loading the handlers.

A field typed `Any` is any JSON value (the `JsonValue` schema): user data such as params,
observed metrics or plotly attributes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ...errors import MLOpsUsageError
from . import (
    common,
    data,
    drift,
    events,
    features,
    identity,
    lineage,
    models,
    pipelines,
    promotions,
    repro,
    runs,
)

REF = "#/components/schemas/{model}"
JSON_VALUE = {
    "description": "any JSON value",
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
              {"type": "array", "items": {"$ref": REF.format(model="JsonValue")}},
              {"type": "object", "additionalProperties": {"$ref": REF.format(model="JsonValue")}}],
}


_ANY = "x-any-json"  # what `Any` becomes in pydantic's output, then a reference to JsonValue


class _Generator(GenerateJsonSchema):
    """pydantic's JSON schema, with `Any` marked (then JsonValue) instead of `{}`."""

    def any_schema(self, schema: Any) -> dict[str, Any]:
        return {_ANY: True}


_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "patternProperties")


def _tidy(schema: Any) -> Any:
    """A schema from pydantic made plain: `Any` (and an open object's extra keys) as
    JsonValue, no titles (the names say it), descriptions on one line."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {"$ref": REF.format(model="JsonValue")} if _ANY in schema else {}
    for key, value in schema.items():
        if key in (_ANY, "title"):
            continue
        if key in _SCHEMA_MAPS:
            value = {name: _tidy(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            value = [_tidy(sub) for sub in value]
        elif key in ("items", "not", "contains"):
            value = _tidy(value)
        elif key == "additionalProperties":
            value = {"$ref": REF.format(model="JsonValue")} if value is True else _tidy(value)
        elif key == "description":
            value = " ".join(value.split())
        out[key] = value
    return out


def named() -> dict[str, type[BaseModel]]:
    """Every model the operations may name, by name."""
    out: dict[str, type[BaseModel]] = {}
    for module in (common, runs, data, features, models, events, promotions, pipelines, drift,
                   lineage, identity, repro):
        for name in module.__all__:
            if name in out:
                raise ValueError(f"two schemas named {name}")
            out[name] = getattr(module, name)
    return out


def components() -> dict[str, Any]:
    """The JSON schema of every model (and JsonValue), as OpenAPI's components.schemas."""
    models_ = named()
    _, top = models_json_schema([(m, "validation") for m in models_.values()],
                                ref_template=REF, schema_generator=_Generator)
    schemas = {name: _tidy(schema) for name, schema in top.get("$defs", {}).items()}
    schemas["JsonValue"] = JSON_VALUE
    return dict(sorted(schemas.items()))


def parse_body(name: str | None, data: dict[str, Any]) -> Any:
    """A request body as its model; one error naming every field that is wrong."""
    if name is None:
        return data
    try:
        return named()[name].model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg'].lower()}"
            + ("" if e["type"] == "missing" else f", got {e['input']!r}")
            for e in exc.errors())
        raise MLOpsUsageError(f"bad body: {problems}") from None
