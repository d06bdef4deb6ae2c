"""Lineage of dataset versions: the run that made each, and the runs that read it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..lineage import Edge, Node
from ..refs import Ref
from ..store import get_store
from ..store.tables import run_links, runs
from ..tracking.lineage_nodes import run_node


def resolve_dataset(ref: Ref) -> Node | None:
    if ref.kind not in (None, "dataset") or (ref.version is None and not ref.latest
                                             and ref.digest is None):
        return None
    from ..errors import NotFoundError
    from .versions import get_version

    try:
        version = get_version(str(ref))
    except NotFoundError:
        if ref.kind == "dataset":
            raise
        return None
    return Node(f"dataset:{version.ref}", "dataset", version.ref,
                {"ref": f"dataset:{version.ref}", "digest": version.digest})


def dataset_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from .versions import get_version

    ref = node.data.get("ref", node.id)
    version = get_version(ref)
    with get_store().read() as conn:
        readers = conn.execute(
            select(run_links.c.run_id, runs.c.name, runs.c.status, run_links.c.role)
            .join(runs, runs.c.id == run_links.c.run_id)
            .where(run_links.c.kind == "dataset", run_links.c.ref == ref,
                   run_links.c.direction == "input")).all()
        maker = conn.execute(select(runs.c.name, runs.c.status)
                             .where(runs.c.id == version.run_id)).first() if version.run_id \
            else None
    if maker is not None and not any(r.run_id == version.run_id for r in readers):
        run = run_node(version.run_id, maker.name, maker.status)
        yield Edge(run.id, node.id, "output"), run
    for run_id, name, status, role in readers:
        run = run_node(run_id, name, status)
        yield Edge(node.id, run.id, f"input ({role})" if role else "input"), run


PROVIDERS = {"dataset": [dataset_neighbours]}
RESOLVERS = [resolve_dataset]
