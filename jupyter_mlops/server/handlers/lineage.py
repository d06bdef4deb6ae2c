"""Lineage of any reference, and the change feed the sidebar follows."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from .base import MLOpsHandler, reads


def _lineage(ref: str, depth: int) -> dict[str, Any]:
    from ...lineage import lineage

    graph = lineage(ref, depth=depth)
    return {**graph.to_dict(), "figure": graph.figure()}


class LineageHandler(MLOpsHandler):
    DOC = {"get": "The graph around a reference (ref=RUN_ID | dataset:NAME@V | model:NAME@V), "
                  "with its plotly figure"}

    @reads
    async def get(self) -> None:
        ref = self.arg("ref")
        if not ref:
            raise MLOpsUsageError("give ref=…: a run id, NAME@VERSION, dataset:… or model:…")
        self.reply(await self.call(_lineage, ref, self.int_arg("depth", 4, 1, 10)))


class ChangesHandler(MLOpsHandler):
    DOC = {"get": "What changed after the cursor `since` (new runs, metric points, status "
                  "changes, versions, alias moves), and the cursor to ask with next"}

    @reads
    async def get(self) -> None:
        from ...store.changes import changes_since

        self.reply(await self.call(changes_since, self.int_arg("since", 0),
                                   self.int_arg("limit", 1000, 1, 10_000)))


ROUTES = [
    ("/lineage", LineageHandler),
    ("/changes", ChangesHandler),
]
