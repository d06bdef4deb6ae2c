"""Reproductions of runs: start one (in a process of its own: a replay takes a while), follow
it to its verdict, list a run's reproductions."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, path
from .base import MLOpsHandler, reads, writes
from .runs import RUN_ID


def _start(run_id: str, env: str, tolerance: float) -> dict[str, Any]:
    from ...repro.reproduce import start_reproduction

    return {"reproduction": start_reproduction(run_id, env, tolerance).to_dict()}


def _one(reproduction_id: str) -> dict[str, Any]:
    from ...repro.reproduce import get_reproduction

    return get_reproduction(reproduction_id).to_dict()


def _of(run_id: str) -> dict[str, Any]:
    from ...repro.reproduce import reproductions_of

    return {"reproductions": [r.to_dict() for r in reproductions_of(run_id)]}


class ReproduceHandler(MLOpsHandler):
    POST = Operation(
        "Reproduce a run: check it, record the reproduction (running) and replay the run's "
        "notebook snapshot in a process of its own", "ReproductionStarted",
        description="Follow it with GET /reproductions/{id} until its state is reproduced, "
                    "differs or failed. Refused (nothing recorded): a run without a notebook "
                    "snapshot, a running run, an AutoML search or trial, a dataset version "
                    "it read whose bytes are gone.",
        params=(RUN_ID,), body="ReproductionStart", status=202, errors=(400, 404))

    @writes
    async def post(self, run_id: str) -> None:
        body = self.body()
        self.reply(await self.call(_start, run_id, body.env, body.tolerance), status=202)


class ReproductionHandler(MLOpsHandler):
    GET = Operation("One reproduction as it stands: its phase and progress while it runs, "
                    "then its verdict, the metrics that differ and the diff of the two runs",
                    "Reproduction",
                    params=(path("reproduction_id", "a reproduction id, or a prefix of it "
                                                    "of at least 8 hex characters"),),
                    errors=(400, 404))

    @reads
    async def get(self, reproduction_id: str) -> None:
        self.reply(await self.call(_one, reproduction_id))


class RunReproductionsHandler(MLOpsHandler):
    GET = Operation("The reproductions of a run, newest first", "Reproductions",
                    params=(RUN_ID,), errors=(400, 404))

    @reads
    async def get(self, run_id: str) -> None:
        self.reply(await self.call(_of, run_id))


ROUTES = [
    ("/runs/{run_id}/reproduce", ReproduceHandler),
    ("/runs/{run_id}/reproductions", RunReproductionsHandler),
    ("/reproductions/{reproduction_id}", ReproductionHandler),
]
