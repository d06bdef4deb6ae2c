"""The cells behind a run: while a run is active in IPython, every executed cell is recorded
(execution count, source stored once by hash, start and end, success or the error), and the
outputs the kernel shows are kept for the run's notebook snapshot (outputs.py, snapshot.py).

Hooks (IPython events, the output wrappers) are installed only while a run is active. Any
failure inside them is reported once and switches recording (or output capture) off; it never
becomes an error in the user's cell."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import capture
from .outputs import OutputCapture

if TYPE_CHECKING:
    from .run import Run


class CellRecorder:
    """Records the cells of one run through pre_run_cell/post_run_cell."""

    def __init__(self, ip: Any, run: Run, notebook: str | None):
        from .writer import writer_for

        self.ip = ip
        self.run = run
        self.cells = writer_for(run.store).cells
        self.notebook = notebook
        self.ordinal = 0
        self.started: float | None = None
        self._order: dict[str, int] = {}
        self._order_mtime: float | None = None
        self.marked: dict[int, dict] = {}  # execution count -> the run-cell metadata
        self.failures: list[str] = []  # what switched recording or capture off
        self.off = False
        self.capture = OutputCapture(ip, self._capture_failed)

    def register(self) -> None:
        self.ip.events.register("pre_run_cell", self.pre)
        self.ip.events.register("post_run_cell", self.post)
        self.capture.install()

    def unregister(self) -> None:
        self.capture.remove()
        for event, fn in (("pre_run_cell", self.pre), ("post_run_cell", self.post)):
            try:
                self.ip.events.unregister(event, fn)
            except ValueError:
                pass

    def pre(self, info: Any = None) -> None:
        try:
            self.started = time.time()
            self.capture.silent = bool(getattr(info, "silent", False))
        except Exception as exc:  # pragma: no cover - defensive, see _fail
            self._fail(exc)
        self._streams(self.capture.install_streams)

    def post(self, result: Any = None) -> None:
        self._streams(self.capture.remove_streams)
        try:
            info = getattr(result, "info", None)
            self.capture.silent = False
            if info is None or getattr(info, "silent", False):
                return
            error = result.error_in_exec or result.error_before_exec
            self.record(
                source=info.raw_cell or "",
                execution_count=result.execution_count,
                cell_id=getattr(info, "cell_id", None),
                started=self.started or time.time(),
                ended=time.time(),
                error=error,
            )
        except Exception as exc:
            self._fail(exc)

    def _streams(self, step) -> None:
        """Put the stream tee on or take it off (see OutputCapture.install_streams)."""
        try:
            step()
        except Exception as exc:  # pragma: no cover - defensive, see _capture_failed
            self._capture_failed(exc)

    def record(self, source: str, execution_count: int | None, cell_id: str | None,
               started: float, ended: float, error: BaseException | None) -> None:
        """Buffer one cell for the writer; mark it (and its error) for the snapshot."""
        from ..store.artifacts import digest_bytes

        if self.off:
            return

        self.cells.append({
            "run_id": self.run.id,
            "ordinal": self.ordinal,
            "execution_count": execution_count,
            "cell_id": cell_id,
            "notebook_index": self._index(cell_id),
            "source_digest": digest_bytes(source.encode()),
            "source": source,
            "started": started,
            "ended": ended,
            "success": error is None,
            "error": None if error is None else f"{type(error).__name__}: {error}"[:2000],
        })
        if execution_count is not None:
            self.marked[execution_count] = {
                "run_cell": True, "run_id": self.run.id, "ordinal": self.ordinal,
                "success": error is None, **({"cell_id": cell_id} if cell_id else {})}
            if error is not None and self.capture.active:
                try:
                    self.capture.error(execution_count, error)
                except Exception as exc:
                    self._capture_failed(exc)
        self.ordinal += 1

    def _index(self, cell_id: str | None) -> int | None:
        """Position of the cell in the saved notebook (re-read when the file changed)."""
        if not cell_id or not self.notebook or not self.notebook.endswith(".ipynb"):
            return None
        if cell_id not in self._order:
            path = Path(self.notebook)
            try:
                mtime = path.stat().st_mtime
                if mtime != self._order_mtime:
                    cells = json.loads(path.read_text()).get("cells", [])
                    self._order = {c.get("id"): i for i, c in enumerate(cells) if c.get("id")}
                    self._order_mtime = mtime
            except (OSError, ValueError):
                return None
        return self._order.get(cell_id)

    def _fail(self, exc: BaseException) -> None:
        self.unregister()
        self.off = True
        self._report("cell recording", exc)

    def _capture_failed(self, exc: BaseException) -> None:
        self.capture.remove()
        self._report("output capture", exc)

    def _report(self, what: str, exc: BaseException) -> None:
        message = f"{what} switched off: {type(exc).__name__}: {exc}"
        self.failures.append(message)
        print(f"jupyter-mlops: {message} (run {self.run.id[:8]})", file=sys.stderr)


_recorders: dict[str, CellRecorder] = {}


def start(run: Run) -> CellRecorder | None:
    """Begin recording the cells of `run` when running inside IPython."""
    ip = capture.ipython()
    if ip is None or not hasattr(ip, "events"):
        return None
    from .. import config

    root = config.load().project_root
    rel = capture.source_file(root)
    notebook = None if rel is None else rel if os.path.isabs(rel) else os.path.join(root, rel)
    recorder = CellRecorder(ip, run, notebook)
    recorder.register()
    _recorders[run.id] = recorder
    return recorder


def stop(run: Run) -> CellRecorder | None:
    """Remove the run's hooks; returns its recorder (for the snapshot), or None."""
    recorder = _recorders.pop(run.id, None)
    if recorder is not None:
        recorder.unregister()
    return recorder


def current_cell_id() -> str | None:
    """The id a replay gives the cell executing now: `cell-<N>`, N its place in IPython's input
    history (stored before the cell runs). A replay (repro/replay.py) runs a snapshot's cells
    in order in a fresh kernel and names the original run's cells so, whatever their ids in
    the snapshot."""
    ip = capture.ipython()
    history = getattr(getattr(ip, "history_manager", None), "input_hist_raw", None)
    return f"cell-{len(history) - 1}" if history else None


def recorder_for(run: Run) -> CellRecorder | None:
    recorder = _recorders.get(run.id)
    return None if recorder is None or recorder.off else recorder
