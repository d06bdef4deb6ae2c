"""The tracking API: a stack of active runs per process and module-level functions over it,
the semantics MLflow users know (logging without a run starts one; leaving a `with` block
ends the run, failed on an exception). Metric points are buffered (see writer.py)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import config
from ..errors import MLOpsUsageError
from ..store import get_store
from ..values import parse_number
from . import capture, records
from .run import Run
from .writer import StoreUnavailableWarning, flush_all, writer_for

_stack: list[Run] = []
_now = time.time
_lock = threading.RLock()
_experiment: str | None = None
_uncaught: str | None = None
# what this process read outside any run (datasets loaded in a cell before `%%track`), by
# store: a top-level run started later has them as inputs too, as its notebook snapshot holds
# the cells that read them (so lineage, diff_runs and reproduce_run see that data)
_session_inputs: dict[str, dict[tuple[str, str, str | None], None]] = {}


def remember_input(store_uri: str, kind: str, ref: str, role: str | None) -> None:
    """Note a read made with no active run, for the runs this process starts later."""
    _session_inputs.setdefault(store_uri, {})[(kind, ref, role)] = None


def set_experiment(name: str) -> None:
    """Make `name` the experiment of runs started from now on in this process."""
    global _experiment
    _experiment = records.check_name("experiment", name)


def active_run() -> Run | None:
    """The innermost active run of this process, or None."""
    return _stack[-1] if _stack else None


@contextlib.contextmanager
def attached(run_id: str) -> Iterator[Run]:
    """Make run `run_id`, active in another process (an AutoML search's parent, while its
    trials run on Dask workers), the run that `start_run(nested=True)` nests under here while
    the block runs. It is neither started nor ended here."""
    run = Run(get_store(), run_id)
    with _lock:
        _stack.append(run)
    try:
        yield run
    finally:
        with _lock:
            if run in _stack:
                _stack.remove(run)


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    nested: bool = False,
    source: str | None = None,
) -> Run:
    """Start a run and make it active. Use as `with start_run(...) as run:` to end it when the
    block ends. `nested=True` starts a child of the active run; `source` is the code that makes
    the run (the %%track cell), stored once by hash. Notebook path, git commit and dirty flag
    (with the diff as the artifact `git.diff`), user, host and package versions are captured."""
    settings = config.load()
    store = get_store()
    if params is not None and not isinstance(params, dict):
        raise MLOpsUsageError(f"params must be a dict, got {type(params).__name__}")
    if tags is not None and not isinstance(tags, dict):
        raise MLOpsUsageError(f"tags must be a dict, got {type(tags).__name__}")
    with _lock:
        parent = active_run()
        if parent is not None and not nested:
            raise MLOpsUsageError(
                f"run {parent.id[:8]} is active: end it first (end_run() or %track end), "
                "or pass nested=True to start a child run"
            )
        if nested and parent is None:
            raise MLOpsUsageError("nested=True needs an active run to nest under")
        exp_name = records.check_name(
            "experiment",
            experiment or (parent.experiment if parent else None) or _experiment
            or settings.experiment,
        )
        run_id = uuid.uuid4().hex
        root = settings.project_root
        source_path = capture.source_file(root)
        if name is None:
            stem = Path(source_path).stem if source_path else "run"
            name = f"{stem}-{run_id[:6]}"
        name = records.check_name("run", name)
        params = dict(params or {})
        tags = {str(k): v for k, v in (tags or {}).items()}
        if parent is None:
            injected = capture.papermill_parameters()
            if injected is not None:
                for k, v in injected.items():
                    params.setdefault(k, v)
                tags.setdefault("mlops.papermill", "true")
        for key, env in (("mlops.pipeline_run", "MLOPS_PIPELINE_RUN_ID"),
                         ("mlops.step_run", "MLOPS_STEP_ID")):  # set by the pipeline runner
            if os.environ.get(env):
                tags.setdefault(key, os.environ[env])
        replay = None
        if os.environ.get("MLOPS_REPRODUCES"):  # a replay of a run's snapshot (repro/)
            from ..repro import marks

            replay = marks.for_new_run(parent.id if parent else None)
            tags.update(replay.tags)
        commit, dirty, diff = capture.git_info(root)
        now = time.time()
        with store.write("run", run_id, "started") as conn:
            exp_id = records.experiment_id(conn, exp_name, create=True, dialect=store.dialect,
                                           actor=store.actor)
            from ..store.tables import runs

            conn.execute(runs.insert().values(
                id=run_id, experiment_id=exp_id, name=name, status="running",
                parent_run_id=parent.id if parent else None, start_time=now, heartbeat=now,
                user=store.actor, host=capture.host(), notebook=source_path,
                source_digest=records.put_text(conn, source, store.dialect) if source else None,
                git_commit=commit, git_dirty=dirty, python_version=sys.version.split()[0],
                environment_digest=records.put_text(conn, capture.environment(), store.dialect),
                lifecycle="active",
            ))
            records.write_params(conn, run_id, params)
            records.write_tags(conn, run_id, tags, store.dialect)
            links = [{"kind": kind, "ref": ref, "role": role}
                     for kind, ref, role in (_session_inputs.get(store.uri) if parent is None
                                             else None) or ()]
            if replay is not None and replay.link is not None:
                links.append({"kind": "run", "ref": replay.link, "role": marks.ROLE})
            if links:
                from ..store.tables import run_links

                conn.execute(run_links.insert(), [
                    {**link, "run_id": run_id, "direction": "input", "created_at": now}
                    for link in links])
        if replay is not None:
            marks.started(run_id, replay)
        run = Run(store, run_id)
        _stack.append(run)
        writer = writer_for(store)
        writer.beating.add(run_id)
        _install_excepthook()
    if diff:
        log_artifact(diff.encode(), name="git.diff", run=run)
    if settings.record_cells and parent is None:
        from . import cells

        cells.start(run)
    return run


def end_run(status: str = "finished", run: Run | None = None, error: str | None = None) -> Run | None:
    """End the active run (or `run`, and any runs nested inside it) with `status`: finished,
    failed or killed. Buffered points are written first; if the store refuses them, a warning
    says how many are still buffered (they are retried). Returns the ended run, or None."""
    if status not in ("finished", "failed", "killed"):
        raise MLOpsUsageError(f"status must be finished, failed or killed, got {status!r}")
    with _lock:
        if run is None:
            run = active_run()
            if run is None:
                return None
        if run not in _stack:
            return run  # already ended
        while _stack:
            top = _stack.pop()
            _finish(top, status, error if top == run else None)
            if top == run:
                break
    return run


def _finish(run: Run, status: str, error: str | None) -> None:
    from . import cells

    recorder = cells.stop(run)
    if recorder is not None:
        from . import snapshot

        snapshot.save(run, recorder)
    writer = writer_for(run.store)
    writer.beating.discard(run.id)
    writer.ends.append({"run_id": run.id, "status": status, "end_time": time.time(),
                        "error": error})
    reason = writer.flush()
    if reason:
        warnings.warn(
            f"jupyter-mlops: run {run.id[:8]} ended, but the store refused the last write "
            f"({reason}): {writer.pending(run.id)} metric point(s) and its end status are still "
            "buffered and will be retried by flush() and at exit",
            StoreUnavailableWarning,
            stacklevel=3,
        )


def _current(run: Run | None = None) -> Run:
    if run is not None:
        return run
    return active_run() or start_run()


def log_param(key: str, value: Any) -> None:
    """Log one param; it keeps its type (stored as JSON). Changing it later is an error."""
    log_params({key: value})


def log_params(values: dict[str, Any], run: Run | None = None) -> None:
    if not isinstance(values, dict):
        raise MLOpsUsageError(f"params must be a dict, got {type(values).__name__}")
    run = _current(run)
    with run.store.write("run", run.id, "params") as conn:
        records.write_params(conn, run.id, values)


def set_tag(key: str, value: Any) -> None:
    set_tags({key: value})


def set_tags(values: dict[str, Any], run: Run | None = None) -> None:
    if not isinstance(values, dict):
        raise MLOpsUsageError(f"tags must be a dict, got {type(values).__name__}")
    run = _current(run)
    with run.store.write("run", run.id, "tags") as conn:
        records.write_tags(conn, run.id, values, run.store.dialect)


def log_metric(key: str, value: float, step: int | None = None,
               timestamp: float | None = None) -> None:
    """Buffer one point (microseconds); `step` defaults to the key's previous step + 1."""
    run = _stack[-1] if _stack else _current()
    if type(key) is not str or not key or len(key) > records.MAX_KEY:
        records.check_key("metric", key)
    if type(value) is not float:
        value = parse_number(key, value)
    steps = run._steps
    if step is None:
        step = steps.get(key, -1) + 1
    elif type(step) is not int:
        if isinstance(step, bool) or not hasattr(step, "__index__"):
            raise MLOpsUsageError(f"step must be an integer, got {step!r}")
        step = int(step)
    if step > steps.get(key, -1):
        steps[key] = step
    (run.store.writer or writer_for(run.store)).points.append(
        (run.id, key, value, step, _now() if timestamp is None else float(timestamp))
    )


def log_metrics(values: dict[str, float], step: int | None = None,
                timestamp: float | None = None) -> None:
    if not isinstance(values, dict):
        raise MLOpsUsageError(f"metrics must be a dict, got {type(values).__name__}")
    for key, value in values.items():  # validate all before buffering any
        records.check_key("metric", key)
        parse_number(key, value)
    for key, value in values.items():
        log_metric(key, value, step, timestamp)


def log_artifact(path_or_object: Any, name: str | None = None, run: Run | None = None) -> str:
    """Store a file, a folder (each file under `name/`), or an object (DataFrame → parquet,
    plotly figure → JSON, dict → JSON, matplotlib figure → PNG, bytes) with the run; the same
    bytes are stored once. Returns the artifact name."""
    from .objects import encode, media_type_of

    if name is not None and (not isinstance(name, str) or not _safe_name(name)):
        raise MLOpsUsageError(f"artifact name {name!r} must be a relative path inside the run")
    if isinstance(path_or_object, (str, os.PathLike)):
        path = Path(path_or_object)
        if not path.exists():
            raise MLOpsUsageError(f"no file or folder at {path}")
        run = _current(run)
        store = run.store.artifacts
        if path.is_dir():
            base = name or path.resolve().name  # "." and ".." name the folder they mean
            if not base:
                raise MLOpsUsageError(f"give the folder {path} a name to store it under")
            files = sorted(p for p in path.rglob("*") if p.is_file())
            sources = [(f"{base}/{p.relative_to(path).as_posix()}", p) for p in files]
        else:
            base = name or path.name
            sources = [(base, path)]
        entries = [(n, *store.put_file(p), media_type_of(p.name))
                   for n, p in _progress(sources, "artifacts")]
    else:
        data, media_type, default = encode(path_or_object)
        run = _current(run)
        base = name or default
        sources = [(base, data)]
        entries = [(base, *run.store.artifacts.put_bytes(data), media_type)]
    _record_artifacts(run, entries)
    # gc may have removed a blob between its put and the artifact row that now protects it
    for (_, source), (_, digest, *_rest) in zip(sources, entries, strict=True):
        if not run.store.artifacts.exists(digest):
            if isinstance(source, Path):
                run.store.artifacts.put_file(source)
            else:
                run.store.artifacts.put_bytes(source)
    return base


def log_figure(fig: Any, name: str) -> str:
    """Store a plotly figure (as JSON) or a matplotlib figure (as PNG) under `name`."""
    return log_artifact(fig, name=name)


def _record_artifacts(run: Run, entries: list[tuple[str, str, int, str]]) -> None:
    from ..store.sql import upsert
    from ..store.tables import artifacts

    if not entries:  # an empty folder: nothing to record
        return
    now = time.time()
    stmt = upsert(run.store.dialect, artifacts, ["run_id", "name"],
                  ["digest", "size", "media_type", "created_at"])
    with run.store.write("run", run.id, "artifacts") as conn:
        conn.execute(stmt, [
            {"run_id": run.id, "name": n, "digest": d, "size": s, "media_type": m,
             "created_at": now} for n, d, s, m in entries
        ])


def _safe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return bool(name) and not name.startswith("/") and ".." not in parts and all(parts)


def _progress(items: list, what: str):
    if len(items) < 50:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=f"storing {what}", unit="file")


def flush() -> None:
    """Write every buffered point now; raises StoreError if the store refuses."""
    flush_all(raise_errors=True)


def get_run(run_id: str) -> Run:
    """The run with this id (or an unambiguous prefix of at least 8 characters)."""
    store = get_store()
    with store.read() as conn:
        return Run(store, records.resolve_run_id(conn, run_id))


def _install_excepthook() -> None:
    """Scripts: an uncaught exception ends the open runs as failed (at exit)."""
    if capture.ipython() is not None or getattr(sys.excepthook, "_mlops", False):
        return
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        global _uncaught
        _uncaught = f"{exc_type.__name__}: {exc}"
        previous(exc_type, exc, tb)

    hook._mlops = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _end_all_at_exit() -> None:
    if _stack:
        end_run("failed" if _uncaught else "finished", run=_stack[0], error=_uncaught)
