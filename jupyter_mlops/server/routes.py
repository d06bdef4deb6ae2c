"""The route table: every REST endpoint, as (path template, handler), mounted under
{base_url}mlops/api. Templates name their parameters (`{run_id}`; `{name:path}` may hold
slashes); the OpenAPI document is built from this same table."""

from __future__ import annotations

import re

from .handlers import (
    datasets,
    drift,
    events,
    features,
    identity,
    lineage,
    models,
    openapi,
    pipelines,
    reproduce,
    runs,
)

PREFIX = "/mlops/api"
ROUTES = [*runs.ROUTES, *reproduce.ROUTES, *datasets.ROUTES, *features.ROUTES, *models.ROUTES, *events.ROUTES,
          *pipelines.ROUTES, *drift.ROUTES, *lineage.ROUTES, *identity.ROUTES, *openapi.ROUTES]


def pattern(template: str) -> str:
    """A tornado URL pattern for a template: {x} one path segment, {x:path} the rest."""
    def group(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2)
        return f"(?P<{name}>.+)" if kind == "path" else f"(?P<{name}>[^/]+)"

    return re.sub(r"\{(\w+)(?::(path))?\}", group, template) + "/?"


def handlers() -> list[tuple[str, type]]:
    """(URL pattern below the base URL, handler) for every route."""
    return [(PREFIX + pattern(t), h) for t, h in ROUTES]
