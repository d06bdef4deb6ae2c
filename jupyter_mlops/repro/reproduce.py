"""`reproduce_run`: run a run's notebook again and say whether it gives the same metrics.

The run is checked first (nothing is written for one that cannot be reproduced): it must have
a notebook snapshot, be neither running nor part of an AutoML search, and every dataset
version it read must still have its bytes. Then a `reproductions` row follows the work
(ledger.py): the code is checked out at the run's commit with its uncommitted changes, or
the snapshot alone is used (worktree.py); the snapshot is executed by papermill in a kernel
of the current environment or of the run's recorded one (replay.py, environments.py); the
new run's metrics are compared with the original's (verdict.py) and `diff_runs` says what
else differs (packages, code, inputs) that may explain it."""

from __future__ import annotations

import html
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsError, MLOpsUsageError
from . import ledger

if TYPE_CHECKING:
    import pandas as pd
    from nbformat import NotebookNode

    from ..store import Store
    from ..tracking.run import Run
    from .diff import RunDiff

ENVS = ("current", "recorded")
HEARTBEAT = 10.0  # seconds between heartbeats of a reproduction at work
Progress = Callable[[str, "float | None"], None]


@dataclass
class Reproduction:
    """One reproduction of a run: `.state` (running, reproduced, differs, failed), the
    `.original` run, the new `.run`, the metrics that `.differences` ({metric: (original,
    reproduced)}), `.diff` (what else differs), `.reason` (why it failed), `.source` (the
    code: "commit" or "snapshot") and `.notes` (what it found on the way)."""

    id: str
    original_run_id: str
    run_id: str | None
    env: str
    tolerance: float
    state: str
    phase: str
    progress: float | None
    message: str | None
    started_at: float
    ended_at: float | None
    started_by: str | None
    source: str | None = None
    notes: list[str] = field(default_factory=list)
    differences: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    reason: str | None = None
    diff_dict: dict[str, Any] | None = field(default=None, repr=False)
    _diff: Any = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Reproduction:
        result = json.loads(row["result"]) if row["result"] else {}
        return cls(
            id=row["id"], original_run_id=row["original_run_id"], run_id=row["run_id"],
            env=row["env"], tolerance=row["tolerance"], state=row["state"], phase=row["phase"],
            progress=row["progress"], message=row["message"], started_at=row["started_at"],
            ended_at=row["ended_at"], started_by=row["started_by"],
            source=result.get("source"), notes=list(result.get("notes", [])),
            differences={d["metric"]: (_number(d["original"]), _number(d["reproduced"]))
                         for d in result.get("differences", [])},
            reason=result.get("reason"), diff_dict=result.get("diff"))

    @property
    def original(self) -> Run:
        from ..tracking.fluent import get_run

        return get_run(self.original_run_id)

    @property
    def run(self) -> Run | None:
        if self.run_id is None:
            return None
        from ..tracking.fluent import get_run

        return get_run(self.run_id)

    @property
    def diff(self) -> RunDiff | None:
        """`diff_runs(original, new run)`, or None without a new run."""
        if self._diff is None and self.run_id is not None:
            from .diff import diff_runs

            self._diff = diff_runs(self.original_run_id, self.run_id)
        return self._diff

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the row, the verdict's details and the diff (as `RunDiff.to_dict()`); a
        metric that is NaN or infinite on one side is null there."""
        return {
            "id": self.id, "original_run_id": self.original_run_id, "run_id": self.run_id,
            "env": self.env, "tolerance": self.tolerance, "state": self.state,
            "phase": self.phase, "progress": self.progress, "message": self.message,
            "started_at": self.started_at, "ended_at": self.ended_at,
            "started_by": self.started_by, "source": self.source, "notes": list(self.notes),
            "differences": [{"metric": k, "original": _finite(a), "reproduced": _finite(b)}
                            for k, (a, b) in self.differences.items()],
            "reason": self.reason, "diff": self.diff_dict}

    def __repr__(self) -> str:
        return f"<Reproduction {self.id[:8]} of run {self.original_run_id[:8]}: {self.state}>"

    def _repr_html_(self) -> str:
        colour = {"reproduced": "#2e7d32", "differs": "#ef6c00", "failed": "#c62828"}.get(
            self.state, "#1565c0")
        new = f" as run <code>{self.run_id}</code>" if self.run_id else ""
        out = [f"<div class='mlops-reproduction'><b>reproduction</b> of run "
               f"<code>{self.original_run_id}</code>: <b style='color:{colour}'>{self.state}"
               f"</b>{new} · env {html.escape(self.env)} · tolerance {self.tolerance:g}"
               + (f" · code from the {html.escape(self.source)}" if self.source else "")]
        if self.reason:
            out.append(f"<div>{html.escape(self.reason)}</div>")
        if self.differences:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_shown(a)}</td>"
                           f"<td>{_shown(b)}</td></tr>" for k, (a, b) in self.differences.items())
            out.append(f"<table><tr><th>metric</th><th>original</th><th>reproduced</th></tr>"
                       f"{rows}</table>")
        if self.notes:
            out.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
                       + "</ul>")
        if self._diff is not None:
            try:
                shown = self._diff._repr_html_()
            except Exception as exc:  # the verdict still shows
                shown = f"<i>{html.escape(f'not shown: {type(exc).__name__}: {exc}')}</i>"
            out.append(f"<details><summary>what else differs between the runs</summary>"
                       f"{shown}</details>")
        return "".join(out) + "</div>"


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: null, as DataFrames' records say."""
    return value if value is None or math.isfinite(value) else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _shown(value: float | None) -> str:
    return "<i>none</i>" if value is None else html.escape(f"{value:.6g}")


# -- checks: before anything is written ---------------------------------------------------------

@dataclass
class _Plan:
    original: Run
    snapshot: NotebookNode
    env: str
    tolerance: float
    pins: dict[str, str]
    notes: list[str]


def _check_options(env: Any, tolerance: Any) -> float:
    if env not in ENVS:
        raise MLOpsUsageError(f"env must be current or recorded, got {env!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
            or not math.isfinite(tolerance) or tolerance < 0:
        raise MLOpsUsageError(f"tolerance must be a number >= 0, got {tolerance!r}")
    return float(tolerance)


def _plan(run_id: Any, env: Any, tolerance: Any) -> _Plan:
    """Everything checked; one clear error for a run that cannot be reproduced."""
    from ..tracking.fluent import get_run
    from ..tracking.run import AUTOML_TAG, Run
    from .inputs import dataset_pins

    tolerance = _check_options(env, tolerance)
    original = run_id if isinstance(run_id, Run) else get_run(run_id)
    info, tags = original.info, original.tags
    short = original.id[:8]
    if AUTOML_TAG in tags or f"{AUTOML_TAG}.trial" in tags:
        what = "search" if tags.get(AUTOML_TAG) == "search" else "trial"
        raise MLOpsUsageError(f"run {short} is an AutoML {what}: reproducing AutoML searches is "
                              "out of scope (reproduce a run that trains one model)")
    if info["status"] == "running":
        raise MLOpsUsageError(f"run {short} is still running: reproduce it once it has ended")
    snapshot = original.notebook()
    if snapshot is None:
        if info["parent_run_id"]:
            raise MLOpsUsageError(f"run {short} is nested in run {info['parent_run_id'][:8]}, "
                                  "whose notebook snapshot holds its cells: reproduce that run")
        if "mlops.reproduces" in tags:
            raise MLOpsUsageError(f"run {short} records a reproduction of run "
                                  f"{tags['mlops.reproduces'][:8]} that failed before its run "
                                  "began: it has no notebook snapshot; reproduce the original")
        kept = "neither a notebook snapshot nor a commit" if not info["git_commit"] else \
            "no notebook snapshot"
        raise MLOpsUsageError(f"run {short} has {kept} (a script's run, or cell recording was "
                              "off): reproduction replays a notebook run's snapshot")
    if env == "recorded":  # another Python, or no recorded packages: refused, nothing written
        from .environments import check

        check(original)
    pins, notes = dataset_pins(original)
    return _Plan(original, snapshot, env, tolerance, pins, notes)


# -- the API ------------------------------------------------------------------------------------

def reproduce_run(run_id: str | Run, env: str = "current", tolerance: float = 1e-9,
                  progress: bool | Progress | None = None) -> Reproduction:
    """Run `run_id`'s notebook snapshot again and compare: "reproduced" when every metric
    equals the original's within `tolerance` (|a - b| <= tolerance * max(1, |a|)), "differs"
    (`.differences` names them with both values), or "failed" (`.reason`). `env`: "current"
    (this environment's python3 kernel; `.diff` shows its package differences) or "recorded"
    (the run's recorded packages, built with uv). `progress`: None or True shows papermill's
    progress bar, False nothing, a function is called with (phase, fraction done or None)."""
    plan = _plan(run_id, env, tolerance)
    built = plan.env == "recorded" and _build_environment(plan, progress)
    rid = ledger.create(plan.original.store, plan.original.id, plan.env, plan.tolerance)
    return _carry_out(rid, plan, progress, built)


def _build_environment(plan: _Plan, progress: bool | Progress | None) -> bool:
    """Build (or find) the recorded environment before anything is written, so one that
    cannot be built from the registry is refused with uv's reason and leaves no trace; the
    replay then finds it in the cache. (A reproduction started over REST has its row first,
    to be followed: there such a failure ends the row as failed.) True when built just now."""
    from .. import config
    from . import worktree
    from .environments import recorded_python

    if callable(progress):
        def report(phase: str, line: str) -> None:
            progress(phase, None)
    else:
        report = None if progress is not False else (lambda phase, line: None)
    with worktree.checkout(plan.original, Path(config.load().project_root)) as code:
        return not recorded_python(plan.original, code.project, progress=report).reused


def start_reproduction(run_id: str, env: str = "current", tolerance: float = 1e-9) -> Reproduction:
    """Check, record, and reproduce in a process of its own (for the REST API): returns the
    reproduction as recorded, running; `get_reproduction` follows it."""
    plan = _plan(run_id, env, tolerance)
    store = plan.original.store
    rid = ledger.create(store, plan.original.id, plan.env, plan.tolerance)
    try:
        subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "runs", "reproduce",
                          plan.original.id, "--reproduction", rid, "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    except OSError as exc:
        ledger.finish(store, rid, "failed", None, {"reason": f"could not start: {exc}"},
                      f"failed: could not start: {exc}")
    return get_reproduction(rid)


def continue_reproduction(reproduction_id: str, progress: bool | Progress | None = False
                          ) -> Reproduction:
    """Do the work of a reproduction that `start_reproduction` recorded."""
    from ..store import get_store

    store = get_store()
    row = ledger.row(store, reproduction_id)
    if row["state"] != "running" or row["phase"] != "preparing":
        raise MLOpsUsageError(f"reproduction {row['id'][:8]} is {row['state']} "
                              f"({row['phase']}): only a new one can be carried out")
    try:
        plan = _plan(row["original_run_id"], row["env"], row["tolerance"])
    except MLOpsError as exc:
        ledger.finish(store, row["id"], "failed", None, {"reason": str(exc)}, f"failed: {exc}")
        return get_reproduction(row["id"])
    return _carry_out(row["id"], plan, progress)


def get_reproduction(reproduction_id: str) -> Reproduction:
    """A reproduction by id (or a prefix of 8+ hex characters), as it stands now."""
    from ..store import get_store

    return Reproduction.from_row(ledger.row(get_store(), reproduction_id))


def reproductions_of(run_id: str | None = None) -> list[Reproduction]:
    """The reproductions of a run (every one without `run_id`), newest first."""
    from ..store import get_store

    original = None
    if run_id is not None:
        from ..tracking.fluent import get_run

        original = get_run(run_id).id
    return [Reproduction.from_row(r) for r in ledger.rows_of(get_store(), original)]


def list_reproductions(run_id: str | None = None) -> pd.DataFrame:
    """The reproductions of a run (or all), newest first: id, original and new run, state,
    env, tolerance, times and the verdict's message."""
    import pandas as pd

    rows = [{k: r.to_dict()[k] for k in ("id", "original_run_id", "run_id", "state", "env",
                                         "tolerance", "started_at", "ended_at", "message")}
            for r in reproductions_of(run_id)]
    frame = pd.DataFrame(rows, columns=["id", "original_run_id", "run_id", "state", "env",
                                        "tolerance", "started_at", "ended_at", "message"])
    for col in ("started_at", "ended_at"):
        frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)
    return frame


# -- the work -----------------------------------------------------------------------------------

class _Follow:
    """Moves the row through the phases (and the caller's progress function), beats while
    the work runs."""

    def __init__(self, store: Store, rid: str, progress: bool | Progress | None):
        self.store, self.rid = store, rid
        self.callback = progress if callable(progress) else None
        self.bar = progress is None or progress is True
        self.said = 0.0

    def phase(self, name: str, fraction: float | None = None) -> None:
        ledger.advance(self.store, self.rid, name, fraction)
        if self.callback is not None:
            self.callback(name, fraction)

    def building(self, phase: str, line: str) -> None:
        """uv's output while the recorded environment builds: the row's message."""
        now = time.monotonic()
        if now - self.said < 0.5:
            return
        self.said = now
        ledger.advance(self.store, self.rid, message=line[:500])
        if self.callback is not None:
            self.callback(phase, None)

    def cells(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        ledger.advance(self.store, self.rid, progress=fraction)
        if self.callback is not None:
            self.callback("executing", fraction)

    @contextmanager
    def beating(self) -> Iterator[None]:
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT):
                try:
                    ledger.advance(self.store, self.rid)
                except Exception:  # the store is away for a moment: the next beat counts
                    pass

        thread = threading.Thread(target=beat, name="mlops-reproduce-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def _carry_out(rid: str, plan: _Plan, progress: bool | Progress | None,
               built: bool = False) -> Reproduction:
    """Replay, compare, record the verdict; every failure becomes state "failed"."""
    from .. import config
    from . import replay, replayed, worktree

    original, store = plan.original, plan.original.store
    follow = _Follow(store, rid, progress)
    notes = list(plan.notes)
    result: dict[str, Any] = {"source": None, "notes": notes, "differences": [],
                              "reason": None, "diff": None}
    state, new_id, failure, executed, diff = "failed", None, None, False, None
    try:
        with follow.beating():
            settings = config.load()
            with worktree.checkout(original, Path(settings.project_root)) as code:
                result["source"] = code.source
                notes.extend(code.notes)
                kernel_name, kernel_dirs = _kernel(plan, code.project, follow, notes, built)
                follow.phase("executing", 0.0)
                nb, run_cells, commented = replay.notebook(plan.snapshot)
                if commented:
                    notes.append(f"{commented} cell(s) of the session that start a "
                                 "reproduction were not run again (left as comments)")
                env = replay.kernel_env(original.id, rid, run_cells, plan.pins, settings,
                                        original.info["notebook"], original.experiment)
                executed = True
                failure = replay.execute(nb, code.cwd, env, kernel_name, kernel_dirs, run_cells,
                                         follow.cells, follow.bar)
            follow.phase("comparing")
            new_id, earlier = replayed.made(store, rid)
            note = replayed.archive(store, earlier)
            if note:
                notes.append(note)
            if failure is not None or new_id is None:
                reason = str(failure) if failure is not None else (
                    "the replay started no run in the cells of the original run (its code "
                    "no longer starts one there)")
                if new_id is None:
                    new_id = replayed.failed_run(original, rid, reason)
                else:
                    replayed.mark_failed(store, new_id, reason)
                result["reason"] = reason
            else:
                state, diff = _compare(original, new_id, plan, result, notes)
    except KeyboardInterrupt:
        result["reason"] = "interrupted"
        ledger.finish(store, rid, "failed", new_id, result, "failed: interrupted")
        raise
    except MLOpsError as exc:
        result["reason"] = str(exc)
    except Exception as exc:  # a failure of ours: said, never left running
        result["reason"] = f"{type(exc).__name__}: {exc}"
    if state == "failed" and executed and new_id is None and result["reason"]:
        try:  # the replay ran, and stopped on our side: its run says so too
            new_id = replayed.failed_run(original, rid, result["reason"])
        except Exception:
            pass
    ledger.finish(store, rid, state, new_id, result, _message(state, result, plan.tolerance))
    done = get_reproduction(rid)
    done._diff = diff
    if follow.callback is not None:
        follow.callback("done", 1.0)
    return done


def _kernel(plan: _Plan, project: Path, follow: _Follow, notes: list[str], built: bool
            ) -> tuple[str, list[str]]:
    """(kernelspec name, folders to find it in) for the replay's environment."""
    if plan.env == "current":
        return "python3", []
    from .environments import recorded_python

    follow.phase("building environment")
    recorded = recorded_python(plan.original, project,
                               progress=None if follow.bar else follow.building)
    notes.extend(recorded.notes)
    reused = recorded.reused and not built  # `built`: just now, before the row was written
    notes.append(f"ran in the recorded environment ({'reused' if reused else 'built'}: "
                 f"{recorded.python})")
    return recorded.kernel_name, [str(Path(recorded.jupyter_path) / "kernels")]


def _compare(original: Run, new_id: str, plan: _Plan, result: dict[str, Any],
             notes: list[str]) -> tuple[str, Any]:
    """The verdict on the metrics, and the diff that may explain a difference."""
    from ..tracking.run import Run
    from .verdict import metric_differences, timings

    new = Run(original.store, new_id)
    before, after = original.metrics, new.metrics
    differences = metric_differences(before, after, plan.tolerance)
    skipped = timings(before, after)
    if skipped:
        notes.append(f"not compared, wall-clock timings: {', '.join(skipped)}")
    result["differences"] = [{"metric": k, "original": a, "reproduced": b}
                             for k, (a, b) in differences.items()]
    diff = None
    try:
        from .diff import diff_runs

        diff = diff_runs(original, new)
        result["diff"] = diff.to_dict()
    except Exception as exc:  # the verdict stands without it
        notes.append(f"what else differs could not be computed: {type(exc).__name__}: {exc}")
    packages = (result["diff"] or {}).get("packages") or {}
    changed = {k: len(v) for k, v in packages.items() if v}
    if plan.env == "current" and changed:
        notes.append("this environment's packages differ from the run's: "
                     + ", ".join(f"{n} {k}" for k, n in changed.items()) + " (see .diff)")
    return ("differs" if differences else "reproduced"), diff


def _message(state: str, result: dict[str, Any], tolerance: float) -> str:
    if state == "failed":
        return f"failed: {result['reason']}"
    if state == "differs":
        shown = "; ".join(f"{d['metric']} {d['original']} → {d['reproduced']}"
                          for d in result["differences"][:5])
        more = len(result["differences"]) - 5
        return f"differs: {shown}" + (f" (and {more} more)" if more > 0 else "")
    return f"reproduced: every metric within tolerance {tolerance:g}"
