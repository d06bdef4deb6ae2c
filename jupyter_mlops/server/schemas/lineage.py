"""Lineage graphs and the change feed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .common import Epoch, Figure, Strict

__all__ = ["Lineage", "Changes"]


class Node(BaseModel):
    """A node: its id (`kind:ref`), kind and label, then what its kind adds (digest, aliases,
    status, …)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Any]
    id: str
    kind: str
    label: str


class Edge(Strict):
    source: str
    target: str
    relation: str


class Lineage(Strict):
    root: str = Field(description="the id of the node asked about")
    nodes: list[Node]
    edges: list[Edge]
    figure: Figure


class Change(Strict):
    seq: int
    kind: str
    key: str
    action: str
    at: Epoch


class Changes(Strict):
    cursor: int = Field(description="ask with since=cursor next")
    latest: int
    changes: list[Change] = Field(description="oldest first")
