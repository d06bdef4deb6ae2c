"""Pipeline runs as the store records them: `PipelineRun` (its steps, their attempts, the
executed notebooks, the tracked runs made inside), `get_pipeline_run`, `list_pipeline_runs`."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import refs
from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import pipeline_runs, step_runs, tags

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


@dataclass(frozen=True)
class StepRun:
    """One attempt of one step."""

    id: str
    step: str
    attempt: int
    status: str
    started_at: float
    ended_at: float | None
    params: dict[str, Any]
    notebook_digest: str | None
    error: str | None
    failed_cell: int | None
    runs: tuple[str, ...] = ()
    output: str | None = field(default=None, repr=False)
    worker: str | None = None  # the Dask worker it ran on (None: the local runner)

    @property
    def seconds(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def notebook(self) -> Any:
        """The executed notebook (nbformat), as papermill wrote it."""
        import nbformat

        if self.notebook_digest is None:
            raise NotFoundError(f"step {self.step} attempt {self.attempt} kept no notebook")
        data = get_store().artifacts.get_bytes(self.notebook_digest)
        return nbformat.reads(data.decode(), as_version=4)


@dataclass(frozen=True)
class PipelineRun:
    """One run of a pipeline: `.id`, `.pipeline`, `.status`, `.params`, `.steps` (every
    attempt), `.latest` (the last attempt of each step), `.to_frame()`, `.figure()`."""

    id: str
    pipeline: str
    status: str
    trigger: str
    params: dict[str, Any]
    started_at: float
    ended_at: float | None
    error: str | None
    spec: str = field(repr=False)
    steps: tuple[StepRun, ...] = field(repr=False, default=())

    @property
    def latest(self) -> dict[str, StepRun]:
        out: dict[str, StepRun] = {}
        for attempt in self.steps:
            out[attempt.step] = attempt
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per attempt: step, attempt, status, seconds, error, tracked runs, and the
        Dask worker it ran on."""
        import pandas as pd

        return pd.DataFrame([{"step": s.step, "attempt": s.attempt, "status": s.status,
                              "seconds": s.seconds, "error": s.error,
                              "failed_cell": s.failed_cell, "runs": ", ".join(r[:8] for r in s.runs),
                              "worker": s.worker}
                             for s in self.steps],
                            columns=["step", "attempt", "status", "seconds", "error",
                                     "failed_cell", "runs", "worker"])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "pipeline": self.pipeline, "status": self.status,
                "trigger": self.trigger, "params": self.params, "started_at": self.started_at,
                "ended_at": self.ended_at, "error": self.error,
                "steps": [{**s.__dict__, "runs": list(s.runs)} for s in self.steps]}

    def figure(self) -> go.Figure:
        """The DAG, each step coloured by its last attempt's status."""
        import yaml

        from .spec import PipelineSpec

        spec = PipelineSpec.model_validate(yaml.safe_load(self.spec))
        return spec.figure({name: s.status for name, s in self.latest.items()})

    def summary(self) -> str:
        took = "" if self.ended_at is None else f" in {self.ended_at - self.started_at:.1f} s"
        lines = [f"pipeline {self.pipeline} run {self.id[:8]}: {self.status}{took}"]
        for name, s in self.latest.items():
            extra = f" (attempt {s.attempt})" if s.attempt > 1 else ""
            where = f" on {s.worker}" if s.worker else ""
            why = f": {s.error}" if s.error else ""
            lines.append(f"  {name}: {s.status}{extra}{where}{why}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{html.escape(s.status)}</td>"
                       f"<td>{s.attempt}</td><td>{'' if s.seconds is None else f'{s.seconds:.1f} s'}"
                       f"</td><td>{html.escape(s.worker or '')}</td>"
                       f"<td>{html.escape(s.error or '')}</td></tr>"
                       for n, s in self.latest.items())
        return (f"<div><b>pipeline {html.escape(self.pipeline)}</b> run <code>{self.id[:8]}</code>"
                f" · {html.escape(self.status)}<table><tr><th>step</th><th>status</th>"
                f"<th>attempt</th><th>time</th><th>worker</th><th>error</th></tr>{rows}"
                "</table></div>")


def _resolve(conn, ref: str) -> str:
    text = ref.strip().lower()
    if not refs.HEX.match(text):
        raise MLOpsUsageError(f"{ref!r} is not a pipeline run id (8 to 32 hex characters)")
    ids = conn.execute(select(pipeline_runs.c.id).where(pipeline_runs.c.id.like(text + "%"))
                       .limit(2)).scalars().all()
    if not ids:
        raise NotFoundError(f"no pipeline run {ref!r}")
    if len(ids) > 1:
        raise MLOpsUsageError(f"{ref!r} matches several pipeline runs: give more characters")
    return ids[0]


def get_pipeline_run(ref: str) -> PipelineRun:
    """A pipeline run by id (or an unambiguous prefix of 8 or more characters)."""
    with get_store().read() as conn:
        run_id = _resolve(conn, ref)
        row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.id == run_id)).mappings().one()
        attempts = conn.execute(select(step_runs).where(step_runs.c.pipeline_run_id == run_id)
                                .order_by(step_runs.c.started_at, step_runs.c.attempt)).mappings().all()
        tracked = conn.execute(select(tags.c.value, tags.c.run_id).where(
            tags.c.key == "mlops.step_run",
            tags.c.value.in_([a["id"] for a in attempts]))).all() if attempts else []
    by_step: dict[str, list[str]] = {}
    for step_id, tracked_run in tracked:
        by_step.setdefault(step_id, []).append(tracked_run)
    steps = tuple(StepRun(
        id=a["id"], step=a["step"], attempt=a["attempt"], status=a["status"],
        started_at=a["started_at"], ended_at=a["ended_at"], params=json.loads(a["params"]),
        notebook_digest=a["notebook_digest"], error=a["error"], failed_cell=a["failed_cell"],
        runs=tuple(by_step.get(a["id"], ())), output=a["output"], worker=a["worker"])
        for a in attempts)
    return PipelineRun(id=row["id"], pipeline=row["pipeline"], status=row["status"],
                       trigger=row["trigger"], params=json.loads(row["params"]),
                       started_at=row["started_at"], ended_at=row["ended_at"],
                       error=row["error"], spec=row["spec"], steps=steps)


def list_pipeline_runs(name: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Recent pipeline runs, newest first: id, pipeline, status, trigger, started, seconds."""
    import pandas as pd

    query = select(pipeline_runs.c.id, pipeline_runs.c.pipeline, pipeline_runs.c.status,
                   pipeline_runs.c.trigger, pipeline_runs.c.started_at, pipeline_runs.c.ended_at,
                   pipeline_runs.c.error)
    if name is not None:
        query = query.where(pipeline_runs.c.pipeline == refs.check_name(name, "pipeline name"))
    with get_store().read() as conn:
        rows = conn.execute(query.order_by(pipeline_runs.c.started_at.desc()).limit(limit)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[
        "run_id", "pipeline", "status", "trigger", "started", "ended", "error"])
    frame["seconds"] = frame["ended"].astype("float64") - frame["started"].astype("float64")
    frame["started"] = pd.to_datetime(frame["started"].astype("float64"), unit="s", utc=True)
    return frame.drop(columns=["ended"])
