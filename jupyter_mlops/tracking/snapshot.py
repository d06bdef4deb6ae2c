"""A run's notebook snapshot: the kernel's execution history up to the run's end (IPython's
raw In[], in execution order), the run's own cells marked in `metadata.jupyter_mlops`, with
the outputs the kernel showed while the run was active (outputs.py, which caps their size).

Built once when the run ends (from the cell recorder) and stored as the run's artifact
`snapshot.ipynb`: a blob in the artifact store and a row in `artifacts`, as every artifact, so
SQLite, PostgreSQL and team stores keep it alike. Runs outside IPython have none."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from typing import TYPE_CHECKING, Any

from . import outputs as _outputs

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from .cells import CellRecorder
    from .run import Run

SNAPSHOT = "snapshot.ipynb"  # the artifact name (reserved: written last, at the run's end)
IPYNB = "application/x-ipynb+json"


def build(recorder: CellRecorder) -> dict[str, Any]:
    """The snapshot as nbformat v4.5 JSON (a dict)."""
    ip = recorder.ip
    history = list(getattr(ip.history_manager, "input_hist_raw", None) or [""])
    marked = dict(recorder.marked)
    last = len(history) - 1
    if last > 0 and last not in marked:
        # the run ended inside a cell still running (`%track end`, a `with start_run()` cell)
        marked[last] = {"run_cell": True, "run_id": recorder.run.id,
                        "ordinal": recorder.ordinal, "ended_run": True}
    capture = recorder.capture
    failures = list(recorder.failures)
    try:
        outputs = {count: capture.cell_outputs(count) for count in range(1, len(history))}
    except Exception as exc:  # the capture broke (and said so): the sources still count
        outputs = {}
        failures.append(f"outputs left out: {type(exc).__name__}: {exc}")
    cells = []
    for count, source in enumerate(history[1:], start=1):
        metadata: dict[str, Any] = {}
        if count in marked:
            metadata["jupyter_mlops"] = marked[count]
        if source.startswith("# Parameters\n"):  # papermill's injected cell
            metadata["tags"] = ["injected-parameters"]
        # ids unique to the run: nbdime (nbdiff) pairs cells with equal ids first, so ids
        # shared by two snapshots (cell-1, cell-2...) would pair unrelated cells
        cells.append({"cell_type": "code", "id": f"{recorder.run.id[:8]}-{count}",
                      "execution_count": count,
                      "metadata": metadata, "outputs": outputs.get(count, []),
                      "source": source})
    from .. import config
    from .capture import source_file

    about: dict[str, Any] = {
        "run_id": recorder.run.id, "notebook": source_file(config.load().project_root),
        "created": time.time(),
        "limits": {"output_chars": _outputs.MAX_OUTPUT_CHARS,
                   "notebook_chars": _outputs.MAX_NOTEBOOK_CHARS},
        "truncated_outputs": capture.truncated, "dropped_outputs": sum(capture.dropped.values()),
    }
    if failures:
        about["failures"] = failures
    if os.environ.get("MLOPS_STEP_ID"):
        about["step_run"] = os.environ["MLOPS_STEP_ID"]
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                           "language": "python"},
            "language_info": {"name": "python", "version": platform.python_version()},
            "jupyter_mlops": about,
        },
        "nbformat": 4, "nbformat_minor": 5,
    }


def save(run: Run, recorder: CellRecorder) -> None:
    """Build and store the snapshot; a failure is reported on stderr, never raised (the run
    still ends)."""
    from .fluent import _record_artifacts

    try:
        data = (json.dumps(build(recorder), ensure_ascii=False, indent=1) + "\n").encode()
        blobs = run.store.artifacts
        digest, size = blobs.put_bytes(data)
        _record_artifacts(run, [(SNAPSHOT, digest, size, IPYNB)])
        if not blobs.exists(digest):  # gc removed it between the put and the row
            blobs.put_bytes(data)
    except Exception as exc:
        print(f"jupyter-mlops: run {run.id[:8]} keeps no notebook snapshot: "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)


def load(run: Run, executed: bool = False) -> NotebookNode | None:
    """The run's snapshot, or with `executed` the notebook papermill wrote for the pipeline
    step that made the run (kept by the runner, see pipelines/step.py); None when absent."""
    import nbformat

    if executed:
        from sqlalchemy import select

        from ..store.tables import step_runs

        step = run.tags.get("mlops.step_run")
        if not step:
            return None
        with run.store.read() as conn:
            digest = conn.execute(select(step_runs.c.notebook_digest)
                                  .where(step_runs.c.id == step)).scalar()
    else:
        info = run.artifacts.get(SNAPSHOT)
        digest = None if info is None else info.digest
    if digest is None:
        return None
    return nbformat.reads(run.store.artifacts.get_bytes(digest).decode(), as_version=4)
