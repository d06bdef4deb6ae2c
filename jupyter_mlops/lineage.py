"""`lineage(ref)`: the one graph across every capability.

Nodes are typed: `run`, `notebook`, `commit` (tracking), `dataset` (data), `model`
(registry), `feature_view` (features), `pipeline`, `pipeline_run`, `step`,
`executed_notebook` (pipelines), `monitoring_batch`, `alert` (drift). Each capability
registers, under the entry-point group
`jupyter_mlops.lineage`, a module whose `PROVIDERS` maps a node kind to functions that list
that node's neighbours; this module walks them. Adding a capability adds an entry point and
never edits this file."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import refs
from .errors import MLOpsUsageError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


@dataclass(frozen=True)
class Node:
    """`id` is `prefix:key` (run:…, dataset:wine@3, model:wine@2, feature:customer@1,
    pipeline_run:…, notebook:path, commit:sha); `kind` is one of the kinds above."""

    id: str
    kind: str
    label: str
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Edge:
    """Data flows from `source` to `target`; `relation` says how (input, output, source…)."""

    source: str
    target: str
    relation: str


Provider = Callable[[Node], Iterable[tuple[Edge, Node]]]
_providers: dict[str, list[Provider]] | None = None
_resolvers: list[Callable[[refs.Ref], Node | None]] = []


def providers() -> dict[str, list[Provider]]:
    """Node kind -> neighbour functions, gathered once from the entry points."""
    global _providers
    if _providers is None:
        from importlib.metadata import entry_points

        found: dict[str, list[Provider]] = {}
        for ep in entry_points(group="jupyter_mlops.lineage"):
            module = ep.load()
            for kind, fns in module.PROVIDERS.items():
                found.setdefault(kind, []).extend(fns)
            _resolvers.extend(getattr(module, "RESOLVERS", ()))
        _providers = found
    return _providers


@dataclass
class Lineage:
    """The graph around one reference: `.nodes`, `.edges`, `.to_frame()`, `.to_dict()`,
    `.figure()`, and a notebook display."""

    root: Node
    nodes: dict[str, Node]
    edges: list[Edge]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([(e.source, e.relation, e.target) for e in self.edges],
                            columns=["source", "relation", "target"])

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root.id,
                "nodes": [{"id": n.id, "kind": n.kind, "label": n.label, **n.data}
                          for n in self.nodes.values()],
                "edges": [{"source": e.source, "target": e.target, "relation": e.relation}
                          for e in self.edges]}

    def figure(self) -> go.Figure:
        from .charts.lineage import graph

        return graph(self)

    def upstream(self, node_id: str | None = None) -> list[Node]:
        """Every node the given one (the root by default) was made from."""
        todo, seen = [node_id or self.root.id], set()
        while todo:
            current = todo.pop()
            for e in self.edges:
                if e.target == current and e.source not in seen:
                    seen.add(e.source)
                    todo.append(e.source)
        return [self.nodes[n] for n in seen]

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(self.nodes[e.source].label)}</td>"
                       f"<td>{html.escape(e.relation)}</td>"
                       f"<td>{html.escape(self.nodes[e.target].label)}</td></tr>"
                       for e in self.edges)
        return (f"<div><b>lineage of {html.escape(self.root.label)}</b>: {len(self.nodes)} "
                f"nodes<table>{rows}</table></div>")


def resolve(ref: str) -> Node:
    """The node a reference names (a run id, name@version of a dataset, kind-prefixed…)."""
    providers()
    parsed = refs.parse(ref)
    found = [n for n in (r(parsed) for r in _resolvers) if n is not None]
    if not found:
        raise NotFoundError(f"nothing named {ref!r} to trace (a run id, dataset:NAME@V, "
                            "model:NAME@V, pipeline:NAME…)")
    if len({n.kind for n in found}) > 1:
        kinds = " or ".join(f"{n.kind}:{ref}" for n in found)
        raise MLOpsUsageError(f"{ref!r} names more than one thing: say {kinds}")
    return found[0]


def lineage(ref: str, depth: int = 4) -> Lineage:
    """Walk `depth` steps out from the node `ref` names, through every registered provider."""
    root = resolve(ref)
    nodes = {root.id: root}
    edges: dict[Edge, None] = {}
    frontier = [root]
    table = providers()
    for _ in range(depth):
        nxt = []
        for node in frontier:
            for fn in table.get(node.kind, ()):
                for edge, other in fn(node):
                    edges[edge] = None
                    if other.id not in nodes:
                        nodes[other.id] = other
                        nxt.append(other)
        frontier = nxt
    return Lineage(root, nodes, list(edges))
