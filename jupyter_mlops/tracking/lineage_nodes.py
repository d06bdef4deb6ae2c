"""Lineage of runs: their inputs and outputs, notebook, commit and parent run."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..lineage import Edge, Node
from ..refs import Ref
from ..store import get_store
from ..store.tables import run_links, runs


def run_node(run_id: str, name: str | None = None, status: str | None = None) -> Node:
    return Node(f"run:{run_id}", "run", f"run {name or run_id[:8]}",
                {"run_id": run_id, "status": status})


def maker_and_readers(kind: str, ref: str, maker_id: str | None) -> tuple[Node | None,
                                                                         list[tuple[Node, str]]]:
    """The run that made a versioned thing (`maker_id`), and the runs that read it with the
    role each read it in: the neighbours every versioned kind (dataset, model…) shares."""
    with get_store().read() as conn:
        readers = conn.execute(
            select(run_links.c.run_id, runs.c.name, runs.c.status, run_links.c.role)
            .join(runs, runs.c.id == run_links.c.run_id)
            .where(run_links.c.kind == kind, run_links.c.ref == ref,
                   run_links.c.direction == "input")).all()
        maker = conn.execute(select(runs.c.name, runs.c.status).where(runs.c.id == maker_id)) \
            .first() if maker_id else None
    made_by = run_node(maker_id, maker.name, maker.status) if maker is not None else None
    return made_by, [(run_node(r.run_id, r.name, r.status), r.role) for r in readers]


def resolve_run(ref: Ref) -> Node | None:
    if ref.kind != "run":
        return None
    from ..errors import NotFoundError
    from .fluent import get_run

    try:
        run = get_run(ref.name)
    except NotFoundError:  # perhaps a pipeline run: its provider says
        return None
    return run_node(run.id, run.name, run.status)


def run_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    run_id = node.data["run_id"]
    with get_store().read() as conn:
        row = conn.execute(select(runs.c.notebook, runs.c.git_commit, runs.c.parent_run_id)
                           .where(runs.c.id == run_id)).first()
        links = conn.execute(select(run_links.c.direction, run_links.c.kind, run_links.c.ref,
                                    run_links.c.role)
                             .where(run_links.c.run_id == run_id)
                             .order_by(run_links.c.id)).all()
        readers = conn.execute(  # runs that took this one as an input (its reproductions)
            select(run_links.c.run_id, runs.c.name, runs.c.status, run_links.c.role)
            .join(runs, runs.c.id == run_links.c.run_id)
            .where(run_links.c.kind == "run", run_links.c.ref == f"run:{run_id}",
                   run_links.c.direction == "input").order_by(run_links.c.id)).all()
    if row is None:
        return
    if row.notebook:
        nb = Node(f"notebook:{row.notebook}", "notebook", row.notebook)
        yield Edge(nb.id, node.id, "source"), nb
    if row.git_commit:
        commit = Node(f"commit:{row.git_commit}", "commit", f"commit {row.git_commit[:8]}")
        yield Edge(commit.id, node.id, "commit"), commit
    if row.parent_run_id:
        parent = run_node(row.parent_run_id)
        yield Edge(node.id, parent.id, "child of"), parent
    for reader, name, status, role in readers:
        yield Edge(node.id, f"run:{reader}", f"input ({role})" if role else "input"), \
            run_node(reader, name, status)
    for direction, kind, ref, role in links:
        other = run_node(ref.split(":", 1)[-1]) if kind == "run" else Node(
            ref, kind, ref.split(":", 1)[-1], {"ref": ref})
        relation = f"{direction} ({role})" if role else direction
        if direction == "input":
            yield Edge(other.id, node.id, relation), other
        else:
            yield Edge(node.id, other.id, relation), other


PROVIDERS = {"run": [run_neighbours]}
RESOLVERS = [resolve_run]
