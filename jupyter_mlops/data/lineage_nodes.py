"""Lineage of dataset versions: the run that made each, and the runs that read it."""

from __future__ import annotations

from collections.abc import Iterable

from ..lineage import Edge, Node
from ..refs import Ref
from ..tracking.lineage_nodes import maker_and_readers


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
    maker, readers = maker_and_readers("dataset", ref, version.run_id)
    if maker is not None and not any(run.id == maker.id for run, _ in readers):
        yield Edge(maker.id, node.id, "output"), maker
    for run, role in readers:
        yield Edge(node.id, run.id, f"input ({role})" if role else "input"), run

PROVIDERS = {"dataset": [dataset_neighbours]}
RESOLVERS = [resolve_dataset]
