"""Lineage of any reference, and the change feed the sidebar follows."""

from __future__ import annotations

from typing import Any

from ..operations import INT64, Operation, Param
from .base import MLOpsHandler, reads


def _lineage(ref: str, depth: int) -> dict[str, Any]:
    from ...lineage import lineage

    graph = lineage(ref, depth=depth)
    return {**graph.to_dict(), "figure": graph.figure()}


class LineageHandler(MLOpsHandler):
    GET = Operation(
        "The graph around a reference, with its plotly figure", "Lineage",
        params=(Param("ref", "a run id, NAME@VERSION, or with a kind: dataset:NAME@V, "
                             "model:NAME@V, feature:…, pipeline:…", required=True,
                      missing="give ref=…: a run id, NAME@VERSION, dataset:… or model:…"),
                Param("depth", "how many links away from the reference", int, default=4,
                      low=1, high=10)),
        errors=(400, 404))

    @reads
    async def get(self) -> None:
        q = self.query()
        self.reply(await self.call(_lineage, q["ref"], q["depth"]))


class ChangesHandler(MLOpsHandler):
    GET = Operation(
        "What changed after a cursor (new runs, metric points, status changes, versions, "
        "alias moves), and the cursor to ask with next", "Changes",
        params=(Param("since", "the cursor: changes after it", int, default=0, high=INT64),
                Param("limit", "at most this many changes", int, default=1000, low=1,
                      high=10_000)))

    @reads
    async def get(self) -> None:
        from ...store.changes import changes_since

        q = self.query()
        self.reply(await self.call(changes_since, q["since"], q["limit"]))


ROUTES = [
    ("/lineage", LineageHandler),
    ("/changes", ChangesHandler),
]
