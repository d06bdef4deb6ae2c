"""Lineage of model versions: the run that made each (and through it the datasets, notebook
and commit), the training data, and the runs that loaded it."""

from __future__ import annotations

from collections.abc import Iterable

from ..lineage import Edge, Node
from ..refs import Ref
from ..tracking.lineage_nodes import maker_and_readers


def model_node(version) -> Node:
    return Node(f"model:{version.ref}", "model", version.ref,
                {"ref": f"model:{version.ref}", "digest": version.digest,
                 "aliases": list(version.aliases)})


def resolve_model(ref: Ref) -> Node | None:
    if ref.kind not in (None, "model"):
        return None
    from ..errors import NotFoundError
    from .versions import get_model_version

    if ref.kind is None and ref.version is None and not ref.latest and not ref.alias \
            and not ref.digest:
        return None  # a bare name is not a version
    try:
        version = get_model_version(str(ref).removeprefix("model:"))
    except NotFoundError:
        if ref.kind == "model":
            raise
        return None
    return model_node(version)


def model_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from .versions import get_model_version

    version = get_model_version(node.data.get("ref", node.id).removeprefix("model:"))
    ref = f"model:{version.ref}"
    maker, readers = maker_and_readers("model", ref, version.run_id)
    if maker is not None:
        yield Edge(maker.id, node.id, "output"), maker
    if version.training_data:
        data = Node(version.training_data, "dataset", version.training_data.split(":", 1)[-1],
                    {"ref": version.training_data})
        yield Edge(data.id, node.id, "training data"), data
    for run, _ in readers:
        yield Edge(node.id, run.id, "input"), run

PROVIDERS = {"model": [model_neighbours]}
RESOLVERS = [resolve_model]
