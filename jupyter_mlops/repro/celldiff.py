"""Two runs' code cell by cell, for a side-by-side view: cells aligned and diffed by nbdime
(the Jupyter project's notebook diff), each pair's source and outputs as aligned rows of lines.

Cells identical in source and outputs are paired first by an exact sequence match over their
hashes; nbdime aligns only the stretches between those, by source, where its approximate
matching earns its cost. It compares each cell of a stretch with each of the other, so a long
stretch (most of two notebooks differing) is aligned in windows of WINDOW cells: 200 changed
cells took nbdime 3 s at once (36 s with outputs in the comparison), about 0.5 s in windows."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..tracking.run import Run


WINDOW = 40  # cells a side that nbdime aligns at once (it compares each with each)


@dataclass(frozen=True)
class Cell:
    """One code cell as the diff sees it: its source, its outputs as text, where it ran."""

    source: str
    outputs: str
    execution_count: int | None = None
    run_cell: bool = False

    @property
    def key(self) -> str:
        return hashlib.blake2b(f"{self.source}\0{self.outputs}".encode(), digest_size=16).hexdigest()


def output_text(output: dict[str, Any]) -> str:
    """An output as the text a reader compares: a stream's text, a result's or display's
    text/plain (else the name of its richest type), an error's name and value."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return "".join(text) if isinstance(text, list) else text
    if kind == "error":
        return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    data = output.get("data") or {}
    if "text/plain" in data:
        text = data["text/plain"]
        return "".join(text) if isinstance(text, list) else text
    return f"[{next(iter(data), 'no data')}]"


def cells_of(run: Run) -> tuple[str | None, list[Cell]]:
    """Where a run's code comes from and its cells: the notebook snapshot (with outputs), else
    the recorded cells (sources only), else the %%track cell's source; (None, []) for none."""
    notebook = run.notebook()
    if notebook is not None:
        cells = []
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            text = "".join(output_text(o) for o in cell.get("outputs", []))
            mark = cell.get("metadata", {}).get("jupyter_mlops", {})
            cells.append(Cell(cell.source, text, cell.get("execution_count"),
                              bool(mark.get("run_cell"))))
        return "snapshot", cells
    frame = run.cells()
    if len(frame):
        return "cells", [Cell(row.source, "", _count(row.execution_count), True)
                         for row in frame.itertuples()]
    source = run.source
    if source:
        return "source", [Cell(source, "", None, True)]
    return None, []


def _count(value: Any) -> int | None:
    try:
        return None if value != value else int(value)  # NaN from pandas
    except (TypeError, ValueError):
        return None


def diff_cells(a: list[Cell], b: list[Cell]) -> dict[str, Any]:
    """{"summary": counts by change, "cells": one entry per aligned pair or lone cell}."""
    entries: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, [c.key for c in a], [c.key for c in b],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs = [(a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
        else:
            pairs = []
            for (x1, x2), (y1, y2) in _windows(i1, i2, j1, j2):
                pairs += [(a[x1 + i] if i is not None else None,
                           b[y1 + j] if j is not None else None)
                          for i, j in _align(a[x1:x2], b[y1:y2])]
        entries.extend(_entry(x, y) for x, y in pairs)
    summary = {k: 0 for k in ("modified", "added", "removed", "unchanged")}
    for entry in entries:
        summary[entry["change"]] += 1
    return {"summary": summary, "cells": entries}


def _windows(i1: int, i2: int, j1: int, j2: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """A changed stretch a[i1:i2] / b[j1:j2] cut into matching windows of at most WINDOW cells
    a side, in proportion, so nbdime's alignment (each cell against each) stays bounded when
    most of two notebooks differ; a cell moved across a window's edge then shows as removed
    and added rather than moved."""
    n, m = i2 - i1, j2 - j1
    count = max(1, -(-max(n, m) // WINDOW))
    cuts = [(i1 + n * k // count, j1 + m * k // count) for k in range(count + 1)]
    return [((x1, x2), (y1, y2)) for (x1, y1), (x2, y2) in zip(cuts, cuts[1:], strict=False)]


def _notebook(cells: list[Cell]) -> Any:
    """The cells as nbdime aligns them: by their sources (a cell is the same cell when its
    code is, whatever it printed)."""
    import nbformat

    return nbformat.from_dict({
        "cells": [{"cell_type": "code", "source": c.source, "metadata": {},
                   "execution_count": None, "outputs": []} for c in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 4})


def _align(a: list[Cell], b: list[Cell]) -> list[tuple[int | None, int | None]]:
    """nbdime's alignment of two stretches of cells: (index in a, index in b) for a cell and
    its changed (or equal) counterpart, None on the side that has no counterpart."""
    if not a or not b:
        return [(i, None) for i in range(len(a))] + [(None, j) for j in range(len(b))]
    from nbdime import diff_notebooks

    ops = next((op["diff"] for op in diff_notebooks(_notebook(a), _notebook(b))
                if op["key"] == "cells"), [])
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    for op in ops:
        while i < op["key"]:
            out.append((i, j))
            i, j = i + 1, j + 1
        if op["op"] == "addrange":
            for _ in op["valuelist"]:
                out.append((None, j))
                j += 1
        elif op["op"] == "removerange":
            for _ in range(op["length"]):
                out.append((i, None))
                i += 1
        else:  # patch: the same cell, changed
            out.append((i, j))
            i, j = i + 1, j + 1
    out.extend((k, j + n) for n, k in enumerate(range(i, len(a))))
    return out


def _entry(a: Cell | None, b: Cell | None) -> dict[str, Any]:
    def side(cell: Cell | None) -> dict[str, Any] | None:
        return None if cell is None else {"execution_count": cell.execution_count,
                                          "run_cell": cell.run_cell}

    source, outputs = (_rows(_lines(a, part), _lines(b, part)) for part in ("source", "outputs"))
    source_changed = any(r["kind"] != "same" for r in source)
    outputs_changed = any(r["kind"] != "same" for r in outputs)
    if a is None:
        change = "added"
    elif b is None:
        change = "removed"
    else:
        change = "modified" if source_changed or outputs_changed else "unchanged"
    return {"change": change, "a": side(a), "b": side(b), "source": source, "outputs": outputs,
            "source_changed": source_changed, "outputs_changed": outputs_changed}


def _lines(cell: Cell | None, part: str) -> list[str]:
    """A part's lines without their endings (a last line with or without one is the same)."""
    return [] if cell is None else getattr(cell, part).splitlines()


def _diff(a: list[str], b: list[str]) -> list[dict[str, Any]]:
    """nbdime's operations turning the lines a into b."""
    if a == b:
        return []
    if not a or not b:
        return ([{"op": "addrange", "key": 0, "valuelist": b}] if b else []) + (
            [{"op": "removerange", "key": 0, "length": len(a)}] if a else [])
    from nbdime import diff

    return diff(a, b)


def _rows(a: list[str], b: list[str]) -> list[dict[str, Any]]:
    """Aligned rows {"a", "b", "kind"} from nbdime's diff of the lines: lines removed and
    added at one place pair up as changed lines."""
    rows: list[dict[str, Any]] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        for x, y in zip_longest(removed, added):
            kind = "changed" if x is not None and y is not None else (
                "removed" if y is None else "added")
            rows.append({"a": x, "b": y, "kind": kind})
        removed.clear()
        added.clear()

    i = j = 0
    for op in _diff(a, b):
        if op["key"] > i:
            flush()
        while i < op["key"]:
            rows.append({"a": a[i], "b": b[j], "kind": "same"})
            i, j = i + 1, j + 1
        if op["op"] == "addrange":
            count = len(op["valuelist"])
            added.extend(b[j:j + count])
            j += count
        elif op["op"] == "removerange":
            removed.extend(a[i:i + op["length"]])
            i += op["length"]
        else:  # patch: the line changed within
            removed.append(a[i])
            added.append(b[j])
            i, j = i + 1, j + 1
    flush()
    for x, y in zip(a[i:], b[j:], strict=False):
        rows.append({"a": x, "b": y, "kind": "same"})
    return rows
