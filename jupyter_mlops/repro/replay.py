"""Execute a run's notebook snapshot again with papermill, in a kernel of its own whose
environment says what it replays (marks.py): which run, which cells were the run's, which
dataset versions a bare `load_dataset(name)` means, and the project's store.

The snapshot is replayed as it is: the session's history in order, papermill's injected
parameters cell included (so the run gets the parameters it had); cells of the run that
raised then may raise again (tagged `raises-exception`), any other error stops the replay."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import marks

if TYPE_CHECKING:
    from nbformat import NotebookNode

# what the replay's kernel must not inherit from this process: a pipeline step's identity,
# JupyterLab's notebook name, another replay's settings
NOT_INHERITED = ("MLOPS_PIPELINE_RUN_ID", "MLOPS_STEP_ID", "JPY_SESSION_NAME",
                 "MLOPS_DATASET_PINS", marks.REPRODUCES, marks.REPRODUCTION, marks.CELLS)


@dataclass(frozen=True)
class Failure:
    """Why the replay stopped: the cell (its execution count in the replay, its first line,
    whether it was one of the run's own cells) and the error."""

    count: int | None
    line: str
    run_cell: bool
    error: str

    def __str__(self) -> str:
        where = "a cell of the run" if self.run_cell else "a cell before the run"
        cell = f"cell {self.count}" if self.count is not None else "a cell"
        return f"{cell} ({where}: `{self.line}`) raised {self.error}"


# a cell that starts a reproduction is not run again by one (it would start another)
STARTS_REPRODUCTION = re.compile(r"^\s*%track\s+reproduce\b|\breproduce_run\s*\(", re.MULTILINE)


def notebook(snapshot: NotebookNode) -> tuple[NotebookNode, list[str], int]:
    """The notebook to execute, the ids of the original run's cells in it, and how many cells
    that start a reproduction were turned into comments (still run, so the counts hold)."""
    import copy

    nb = copy.deepcopy(snapshot)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    run_cells = []
    count = commented = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.strip():
            continue  # papermill (nbclient) skips it: it gets no execution count
        count += 1
        if STARTS_REPRODUCTION.search(cell.source):
            cell.source = "# not replayed: it starts a reproduction\n" + "\n".join(
                f"# {line}" for line in cell.source.splitlines())
            commented += 1
        cell.id = f"cell-{count}"  # what the kernel calls it (cells.current_cell_id)
        mark = cell.metadata.get("jupyter_mlops", {})
        if mark.get("run_cell"):
            run_cells.append(cell.id)
            if mark.get("success") is False:  # it raised in the run too
                tags = cell.metadata.setdefault("tags", [])
                if "raises-exception" not in tags:
                    tags.append("raises-exception")
        cell.outputs = []
        cell.execution_count = None
    return nb, run_cells, commented


def kernel_env(original_id: str, reproduction_id: str, run_cells: list[str],
               pins: dict[str, str], settings: Any, notebook_path: str | None,
               experiment: str) -> dict[str, str]:
    """The variables the replay's kernel gets on top of this process's environment."""
    env = {marks.REPRODUCES: original_id, marks.REPRODUCTION: reproduction_id,
           marks.CELLS: ",".join(run_cells),
           "MLOPS_PROJECT_ROOT": str(settings.project_root),
           "MLOPS_STORE_URI": settings.store_uri, "MLOPS_ARTIFACT_URI": settings.artifact_uri,
           "MLOPS_EXPERIMENT": experiment}
    if pins:
        env["MLOPS_DATASET_PINS"] = json.dumps(pins, sort_keys=True)
    if notebook_path:  # the runs it makes name the notebook the original named
        path = Path(notebook_path)
        env["MLOPS_NOTEBOOK"] = str(path if path.is_absolute()
                                    else Path(settings.project_root) / path)
    return env


def _kernel_manager(extra_env: dict[str, str], kernel_dirs: list[str]) -> type:
    """A kernel manager starting its kernel with `extra_env` (nothing of this process's
    changes) and finding kernelspecs in `kernel_dirs` first."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets import default

    class ReplayKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            specs = KernelSpecManager(data_dir=self.data_dir)
            specs.kernel_dirs = [*kernel_dirs, *specs.kernel_dirs]
            return specs

        async def start_kernel(self, **kw: Any) -> None:
            env = {k: v for k, v in kw.pop("env", os.environ).items()
                   if k not in NOT_INHERITED}
            await super().start_kernel(env={**env, **extra_env}, **kw)

    return ReplayKernelManager


def execute(nb: NotebookNode, cwd: Path, extra_env: dict[str, str], kernel_name: str,
            kernel_dirs: list[str], run_cells: list[str], on_cell: Callable[[int, int], None],
            progress_bar: bool) -> Failure | None:
    """Execute `nb` in `cwd`; None when every cell ran (or raised where it did before), else
    the Failure. `on_cell(done, total)` follows the cells."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    total = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    done = [0]

    def executed(cell: Any = None, cell_index: int = 0, execute_reply: Any = None) -> None:
        done[0] += 1
        try:
            on_cell(done[0], total)
        except Exception:  # following progress must not stop the replay
            pass

    try:
        pm.execute_notebook(nb, None, kernel_name=kernel_name, progress_bar=progress_bar,
                            log_output=False, request_save_on_cell_execute=False,
                            start_timeout=120, kernel_manager_class=_kernel_manager(
                                extra_env, kernel_dirs),
                            resources={"metadata": {"path": str(cwd)}}, on_cell_executed=executed)
    except PapermillExecutionError as exc:
        cell = nb.cells[exc.cell_index] if 0 <= exc.cell_index < len(nb.cells) else None
        return Failure(exc.exec_count, _first_line(cell.source if cell else ""),
                       cell is not None and cell.id in run_cells, f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # the kernel died or did not start
        return Failure(None, "", False, f"{type(exc).__name__}: {exc}")
    return None


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:57] + "…"
