"""`runs_chart`: one figure across many runs (parallel coordinates, a scatter of two fields,
bars of a metric's final value), for the runs named or those a filter finds; the same figure
in a notebook and in the Experiments view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MLOpsUsageError
from ..store import get_store
from . import columns as cols
from . import records

if TYPE_CHECKING:
    import plotly.graph_objects as go

KINDS = ("parallel", "scatter", "bars")
MAX_RUNS = 10_000


def runs_chart(kind: str, fields: str | list[str], experiment: str | list[str] | None = None,
               filter: str | None = None, run_ids: list[str] | None = None,
               color: str | None = None, limit: int = 1000) -> go.Figure:
    """A figure across runs: `kind` "parallel" (one axis per field, lines coloured by
    `color`, by default the last metric among the fields), "scatter" (`fields` = [x, y], a
    marker per run, coloured by `color` if given) or "bars" (`fields` = [a metric]: its
    final value, a bar per run).

    Fields are `params.<k>`, `metrics.<k>` (latest value), `tags.<k>` or run attributes
    (`duration`, `start_time`, …). The runs: `run_ids` (ids or 8+ character prefixes), else
    every run of `experiment` matching `filter`, nested ones included, newest first; at most
    `limit` (up to 10,000) either way."""
    if kind not in KINDS:
        raise MLOpsUsageError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    fields = [fields] if isinstance(fields, str) else list(fields)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS:
        raise MLOpsUsageError(f"limit must be an integer between 1 and {MAX_RUNS}, got {limit!r}")
    if run_ids is not None and (isinstance(run_ids, str) or not run_ids):
        raise MLOpsUsageError("run_ids is a list of run ids (or 8+ character prefixes)")
    given = [*fields, *([color] if color else [])]
    asked, malformed = cols.parse(given)
    if not malformed:  # each name as rows call it (`metrics.val/loss` for metrics.`val/loss`)
        fields, color = _canonical(fields), (_canonical([color])[0] if color else None)
        _check_shape(kind, fields)
    if color is None and kind == "parallel":
        color = next((f for f in reversed(fields) if f.startswith("metrics.")), None)
    names = None if experiment is None else (
        [experiment] if isinstance(experiment, str) else list(experiment))
    if run_ids is None:
        from .search import run_ids as matching

        ids = matching(names, filter, limit)
    with get_store().read() as conn:
        if run_ids is not None:
            ids = list(dict.fromkeys(records.resolve_run_id(conn, r) for r in run_ids))[:limit]
        scope = ids if run_ids is not None else None
        if malformed:
            cols.check(conn, asked, malformed, names, scope)
        data = cols.fetch(conn, ids, list(dict.fromkeys([cols.Column(None, "name"), *asked])))
        cols.check(conn, asked, [], names, scope, seen=data)
    from ..charts import runs as charts

    if kind == "parallel":
        return charts.parallel(ids, data["name"], data, fields, color)
    if kind == "scatter":
        return charts.scatter(ids, data["name"], data, fields[0], fields[1], color)
    return charts.bars(ids, data["name"], data[fields[0]], fields[0])


def _canonical(texts: list[str]) -> list[str]:
    return [cols.parse([text])[0][0].name for text in texts]


def _check_shape(kind: str, fields: list[str]) -> None:
    """Refuse fields a chart of this kind cannot draw (how many, and bars of a metric)."""
    wanted = {"parallel": "one or more fields", "scatter": "two fields, x and y",
              "bars": "one metric"}[kind]
    count = {"scatter": 2, "bars": 1}.get(kind)
    if not fields or (count is not None and len(fields) != count):
        raise MLOpsUsageError(f"a {kind} chart takes {wanted}, got {len(fields)}: "
                              f"{', '.join(fields) or 'none'}")
    if kind == "bars" and not fields[0].startswith("metrics."):
        raise MLOpsUsageError(f"bars show a metric's final value: give metrics.<key>, "
                              f"got {fields[0]!r}")
