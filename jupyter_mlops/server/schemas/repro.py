"""Reproducibility: two runs' deep diff (values, inputs, packages, code cell by cell)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import Strict

__all__ = ["RunDiff"]


class DiffRun(Strict):
    id: str
    name: str
    experiment: str
    status: str


class ValueChange(Strict):
    """A key whose value differs; null on the side without it (or for a NaN metric)."""

    key: str
    a: Any
    b: Any


class InputChange(Strict):
    """An input (dataset, feature view, model) by kind and name whose version differs."""

    kind: str
    name: str
    change: Literal["added", "removed", "changed"]
    a: str | None = Field(description="the ref (name@version) run a used, null if none")
    b: str | None
    a_digest: str | None
    b_digest: str | None


class PythonChange(Strict):
    a: str | None
    b: str | None


class Package(Strict):
    name: str
    version: str


class PackageChange(Strict):
    name: str
    a: str
    b: str


class Packages(Strict):
    """Installed distributions: added in b, removed from a, at another version or source."""

    added: list[Package]
    removed: list[Package]
    changed: list[PackageChange]


class CellSide(Strict):
    execution_count: int | None
    run_cell: bool = Field(description="the cell ran while the run was active")


class LineRow(Strict):
    """One row of the side-by-side view: a line of a and its counterpart in b."""

    a: str | None
    b: str | None
    kind: Literal["same", "changed", "added", "removed"]


class CellChange(Strict):
    change: Literal["unchanged", "modified", "added", "removed"]
    a: CellSide | None
    b: CellSide | None
    source: list[LineRow]
    outputs: list[LineRow] = Field(description="the outputs as text, line by line")
    source_changed: bool
    outputs_changed: bool


class CellSummary(Strict):
    modified: int
    added: int
    removed: int
    unchanged: int


class CodeDiff(Strict):
    """Each side's code (its notebook snapshot, else its recorded cells, else its %%track
    cell's source) aligned cell by cell by nbdime."""

    a: Literal["snapshot", "cells", "source"] | None
    b: Literal["snapshot", "cells", "source"] | None
    summary: CellSummary
    cells: list[CellChange]


class RunDiff(Strict):
    """What differs in run b from run a."""

    a: DiffRun
    b: DiffRun
    same: bool
    params: list[ValueChange]
    metrics: list[ValueChange]
    tags: list[ValueChange]
    inputs: list[InputChange]
    python: PythonChange | None
    packages: Packages
    code: CodeDiff
