"""Lineage of features: dataset versions → the feature view version materialized from them →
the runs whose training sets joined it."""

from __future__ import annotations

from collections.abc import Iterable

from ..lineage import Edge, Node
from ..refs import Ref
from ..tracking.lineage_nodes import maker_and_readers


def view_node(ref: str, digest: str | None = None) -> Node:
    """A view version's node; `digest` (its definition's) when known, as diff_runs compares."""
    data = {"ref": f"feature:{ref}"} | ({"digest": digest} if digest else {})
    return Node(f"feature:{ref}", "feature_view", f"feature view {ref}", data)


def resolve_view(ref: Ref) -> Node | None:
    if ref.kind != "feature":
        return None
    from .views import get_view

    view = get_view(str(Ref(ref.name, None, ref.version, ref.latest)))
    return view_node(view.ref, view.digest)


def view_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from .offline import latest_materialization
    from .views import get_view

    view = get_view(node.id.removeprefix("feature:"))
    done = latest_materialization(view)
    for ref in done.inputs if done else ():
        dataset = Node(ref, "dataset", ref.removeprefix("dataset:"), {"ref": ref})
        yield Edge(dataset.id, node.id, "materialized from"), dataset
    _, readers = maker_and_readers("feature_view", node.id, None)
    for run, role in readers:
        yield Edge(node.id, run.id, f"input ({role})" if role else "input"), run


PROVIDERS = {"feature_view": [view_neighbours]}
RESOLVERS = [resolve_view]
