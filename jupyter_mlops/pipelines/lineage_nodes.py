"""Lineage of pipelines: pipeline → pipeline run → step → executed notebook and the tracked
runs made inside it (and through them datasets and models)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..lineage import Edge, Node
from ..refs import Ref
from ..store import get_store
from ..store.tables import pipeline_runs
from ..tracking.lineage_nodes import run_node


def run_of_pipeline(run_id: str, pipeline: str, status: str) -> Node:
    return Node(f"pipeline_run:{run_id}", "pipeline_run", f"{pipeline} run {run_id[:8]}",
                {"pipeline_run_id": run_id, "status": status})


def resolve_pipeline(ref: Ref) -> Node | None:
    """`pipeline:NAME` is the pipeline; a run id that is a pipeline run is that run."""
    if ref.kind == "pipeline":
        return Node(f"pipeline:{ref.name}", "pipeline", f"pipeline {ref.name}",
                    {"pipeline": ref.name})
    if ref.kind == "run":
        with get_store().read() as conn:
            row = conn.execute(select(pipeline_runs.c.id, pipeline_runs.c.pipeline,
                                      pipeline_runs.c.status)
                               .where(pipeline_runs.c.id.like(ref.name + "%")).limit(2)).all()
        if len(row) == 1:
            return run_of_pipeline(*row[0])
    return None


def pipeline_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    with get_store().read() as conn:
        rows = conn.execute(select(pipeline_runs.c.id, pipeline_runs.c.pipeline,
                                   pipeline_runs.c.status)
                            .where(pipeline_runs.c.pipeline == node.data["pipeline"])
                            .order_by(pipeline_runs.c.started_at.desc()).limit(20)).all()
    for row in rows:
        run = run_of_pipeline(*row)
        yield Edge(node.id, run.id, "run"), run


def pipeline_run_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from .status import get_pipeline_run

    run = get_pipeline_run(node.data["pipeline_run_id"])
    pipeline = Node(f"pipeline:{run.pipeline}", "pipeline", f"pipeline {run.pipeline}",
                    {"pipeline": run.pipeline})
    yield Edge(pipeline.id, node.id, "run"), pipeline
    for name, step in run.latest.items():
        step_node = Node(f"step:{step.id}", "step", f"{name} ({step.status})",
                         {"status": step.status, "attempt": step.attempt})
        yield Edge(node.id, step_node.id, "step"), step_node


def step_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from ..store.tables import step_runs, tags

    step_id = node.id.split(":", 1)[1]
    with get_store().read() as conn:
        row = conn.execute(select(step_runs.c.pipeline_run_id, step_runs.c.notebook_digest)
                           .where(step_runs.c.id == step_id)).first()
        tracked = conn.execute(select(tags.c.run_id).where(
            tags.c.key == "mlops.step_run", tags.c.value == step_id)).scalars().all()
    if row is None:
        return
    if row.notebook_digest:
        executed = Node(f"executed:{row.notebook_digest[:16]}", "executed_notebook",
                        "executed notebook", {"digest": row.notebook_digest})
        yield Edge(node.id, executed.id, "executed"), executed
    for run_id in tracked:
        run = run_node(run_id)
        yield Edge(node.id, run.id, "tracked"), run


PROVIDERS = {"pipeline": [pipeline_neighbours], "pipeline_run": [pipeline_run_neighbours],
             "step": [step_neighbours]}
RESOLVERS = [resolve_pipeline]
