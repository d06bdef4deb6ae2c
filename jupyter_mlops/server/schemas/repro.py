"""Reproducibility: two runs' deep diff (values, inputs, packages, code cell by cell), and
reproductions of a run (starting one, its record)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import Epoch, Strict

__all__ = ["RunDiff", "ReproductionStart", "ReproductionStarted", "Reproduction",
           "Reproductions"]


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


class ReproductionStart(Strict):
    """Reproduce a run in an environment, comparing metrics within a tolerance."""

    env: Literal["current", "recorded"] = Field(
        default="current", description="current: this server's environment (its python3 "
                                       "kernel); recorded: the run's recorded packages, "
                                       "built with uv")
    tolerance: float = Field(default=1e-9, ge=0, allow_inf_nan=False, description=(
        "metrics are equal when |original - reproduced| <= tolerance * max(1, |original|)"))


class MetricDifference(Strict):
    metric: str
    original: float | None = Field(description="null: the original run lacks it (or NaN)")
    reproduced: float | None = Field(description="null: the reproduction lacks it (or NaN)")


class Reproduction(Strict):
    """One reproduction, as it stands."""

    id: str
    original_run_id: str
    run_id: str | None = Field(description="the reproduction run, once there is one")
    env: Literal["current", "recorded"]
    tolerance: float
    state: Literal["running", "reproduced", "differs", "failed"]
    phase: Literal["preparing", "building environment", "executing", "comparing", "done"]
    progress: float | None = Field(description="0 to 1 within the phase (the cells executed), "
                                               "null where unknown")
    message: str | None = Field(description="the verdict in one line")
    started_at: Epoch
    ended_at: Epoch | None
    started_by: str | None
    source: Literal["commit", "snapshot"] | None = Field(
        description="commit: the code at the run's commit with its recorded uncommitted "
                    "changes; snapshot: the notebook snapshot alone (a note says why)")
    notes: list[str] = Field(description="what it found on the way")
    differences: list[MetricDifference]
    reason: str | None = Field(description="why it failed")
    diff: RunDiff | None = Field(description="diff_runs(original, reproduction run), once "
                                             "there is one to compare")


class ReproductionStarted(Strict):
    reproduction: Reproduction


class Reproductions(Strict):
    reproductions: list[Reproduction]
