"""The MLflow store an import reads, through MLflow's own client only (never its database
schema), so SQLite, PostgreSQL, an `./mlruns` folder and an MLflow server share one path.

Opening checks the source before MLflow touches it: MLflow would create a database, a folder
or MLflow's tables where none exist, and its HTTP client retries an unreachable server for
minutes. Each failure is one MLOpsUsageError naming the source, and nothing is written.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..config import redact
from ..errors import MLOpsUsageError

PAGE = 1000  # rows per search page (an MLflow server's own cap for runs is 50,000)
BATCH = 500  # runs whose metric histories are read together, at most
BATCH_POINTS = 250_000  # metric points a batch holds, about (each run's last step tells)
POOL_MIN = 1000  # from this many runs on, worker processes read the histories
READERS = 2  # those worker processes

History = dict[str, list[tuple[float, int, int]]]  # key: [(value, step, timestamp ms)]


class Source:
    """An MLflow tracking and registry store, read with `MlflowClient`."""

    def __init__(self, uri: str, display: str, file_store: bool):
        from mlflow import MlflowClient

        self.uri = uri
        self.display = display
        self.file_store = file_store
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    # -- experiments and runs ----------------------------------------------------------------

    def experiments(self, names: list[str] | None = None) -> list[Any]:
        """Every experiment (deleted ones too), or those named; an unknown name is an error."""
        from mlflow.entities import ViewType

        found = _pages(lambda token: self.client.search_experiments(
            view_type=ViewType.ALL, max_results=PAGE, page_token=token))
        if names is None:
            return found
        by_name = {e.name: e for e in found}
        missing = [n for n in names if n not in by_name]
        if missing:
            known = ", ".join(sorted(by_name)[:20]) or "none"
            raise MLOpsUsageError(
                f"no experiment {', '.join(map(repr, missing))} in the MLflow store at "
                f"{self.display} (it has: {known})")
        return [by_name[n] for n in dict.fromkeys(names)]

    def runs(self, experiment_ids: list[str]) -> list[Any]:
        """Every run of the experiments (deleted ones too), each parent before its children."""
        from mlflow.entities import ViewType

        if not experiment_ids:
            return []
        found = _pages(lambda token: self.client.search_runs(
            experiment_ids, run_view_type=ViewType.ALL, max_results=PAGE, page_token=token))
        return parents_first(found)

    def histories(self, runs: list[tuple[str, list[str]]]) -> dict[str, History]:
        """Every point of the metrics of `runs` ((run id, keys) pairs): {run id: {key:
        [(value, step, timestamp ms)]}}, in MLflow's order (timestamp, step, value). A SQL
        store answers one query per key for the whole batch (its `get_metric_history_bulk`,
        what MLflow's UI calls: asked per run and key, SQLite scans every run's points of
        the key each time); other stores are asked per run and key (`get_metric_history`)."""
        out: dict[str, History] = {run_id: {} for run_id, _ in runs}
        bulk = getattr(self.client._tracking_client.store, "get_metric_history_bulk", None)
        if bulk is None:
            for run_id, keys in runs:
                for key in keys:
                    out[run_id][key] = [(m.value, m.step, m.timestamp)
                                        for m in self.client.get_metric_history(run_id, key)]
            return out
        by_key: dict[str, list[str]] = {}
        for run_id, keys in runs:
            for key in keys:
                by_key.setdefault(key, []).append(run_id)
        for key, ids in by_key.items():
            for m in bulk(ids, key, sys.maxsize):
                out[m.run_id].setdefault(key, []).append((m.value, m.step, m.timestamp))
        return out

    def prefetch(self, runs: list[Any]) -> Iterator[tuple[list[Any], dict[str, History]]]:
        """`runs` in batches, each with its metric histories. Reading them is most of an
        import's time (MLflow builds an object per point), so for many runs reader processes
        read the next batches while the caller writes this one."""
        batches = _batches(runs)
        wanted = [[(r.info.run_id, list(r.data.metrics)) for r in batch] for batch in batches]
        if len(runs) < POOL_MIN or READERS < 1:
            for batch, keys in zip(batches, wanted, strict=True):
                yield batch, self.histories(keys)
            return
        readers = [_Reader(self.uri, self.file_store) for _ in range(READERS)]
        try:
            for i, keys in enumerate(wanted[:READERS]):
                readers[i].ask(keys)
            for i, batch in enumerate(batches):
                reader = readers[i % READERS]
                answer = reader.answer()
                if i + READERS < len(batches):  # each reader has one question at a time
                    reader.ask(wanted[i + READERS])
                yield batch, answer
        finally:
            for reader in readers:
                reader.close()

    def _repository(self, run: Any):
        """The artifact repository at the run's artifact URI (what MLflow's client asks the
        tracking store for, one query per run, when given only the run id)."""
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return get_artifact_repository(run.info.artifact_uri, tracking_uri=self.uri)

    def artifacts(self, run: Any, dest: str) -> list[tuple[str, Path]]:
        """The run's artifacts downloaded below `dest`: (name relative to the run, path)."""
        repo = self._repository(run)
        if not repo.list_artifacts():
            return []
        return _files(Path(repo.download_artifacts("", dst_path=dest)))

    def artifact_listing(self, run: Any) -> list[tuple[str, int]]:
        """(name, size) of every artifact file of a run, listed without downloading."""
        repo, out, folders = self._repository(run), [], [None]
        while folders:
            for info in repo.list_artifacts(folders.pop()):
                if info.is_dir:
                    folders.append(info.path)
                else:
                    out.append((info.path, int(info.file_size or 0)))
        return out

    def download(self, artifact_uri: str, dest: str) -> list[tuple[str, Path]]:
        """The files under an artifact URI (a logged model's, a model version's)."""
        import mlflow.artifacts

        root = Path(mlflow.artifacts.download_artifacts(
            artifact_uri=artifact_uri, dst_path=dest, tracking_uri=self.uri))
        return _files(root) if root.is_dir() else [(root.name, root)]

    # -- logged models and the registry ------------------------------------------------------

    def logged_models(self, experiment_ids: list[str]) -> list[Any]:
        if not experiment_ids:
            return []
        return _pages(lambda token: self.client.search_logged_models(
            experiment_ids, max_results=100, page_token=token))

    def registered_models(self) -> list[Any]:
        return _pages(lambda token: self.client.search_registered_models(
            max_results=PAGE, page_token=token))

    def versions(self, name: str) -> list[Any]:
        escaped = name.replace("\\", "\\\\").replace("'", "\\'")
        found = _pages(lambda token: self.client.search_model_versions(
            f"name = '{escaped}'", max_results=PAGE, page_token=token))
        return sorted(found, key=lambda v: int(v.version))

    def version_uri(self, name: str, version: str) -> str:
        return self.client.get_model_version_download_uri(name, version)


class _Reader:
    """A process that reads metric histories with its own MLflow client: each question (a
    batch's run ids and keys) and answer pickled over its pipes, one question at a time (so
    neither side can block the other on a full pipe). A reader whose parent dies sees its
    input end and exits."""

    def __init__(self, uri: str, file_store: bool):
        import pickle
        import subprocess

        package = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (package, os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from jupyter_mlops.mlflow.import_source import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        pickle.dump((uri, file_store), self.proc.stdin)

    def ask(self, runs: list[tuple[str, list[str]]]) -> None:
        import pickle

        pickle.dump(runs, self.proc.stdin)
        self.proc.stdin.flush()

    def answer(self) -> dict[str, History]:
        import pickle

        from ..errors import MLOpsError

        try:
            ok, payload = pickle.load(self.proc.stdout)
        except EOFError:
            raise MLOpsError("a reader of the MLflow store stopped (exit code "
                             f"{self.proc.wait()})") from None
        if not ok:
            raise MLOpsError(f"reading the MLflow store failed: {payload}")
        return payload

    def close(self) -> None:
        import subprocess

        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def serve() -> None:
    """A reader process's loop (see _Reader): the source, then questions until input ends."""
    import pickle

    questions, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever MLflow prints stays off the answers' pipe
    uri, file_store = pickle.load(questions)
    settings = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    if file_store:
        settings["MLFLOW_ALLOW_FILE_STORE"] = "true"
    with _environment(settings):
        source = Source(uri, uri, file_store)
        while True:
            try:
                runs = pickle.load(questions)
            except EOFError:
                return
            try:
                answer = (True, source.histories(runs))
            except Exception as exc:  # told to the importer, which stops with it
                answer = (False, _first_line(exc))
            try:
                pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
                answers.flush()
            except BrokenPipeError:  # the importer is gone
                return


def _batches(runs: list[Any]) -> list[list[Any]]:
    """`runs` in batches of at most BATCH runs and about BATCH_POINTS metric points, each
    run's points guessed from its metrics' last steps. Big batches matter on SQLite: MLflow's
    metrics table leads its index with the key, so each bulk query scans that key's points
    of every run in the store, whatever the batch."""
    out: list[list[Any]] = []
    points = 0
    for run in runs:
        # the latest point of each metric (all MLflow's run entity keeps) has its last step
        guess = sum(max(1, (m.step or 0) + 1) for m in getattr(run.data, "_metric_objs", []))
        if not out or len(out[-1]) >= BATCH or points + guess > BATCH_POINTS:
            out.append([])
            points = 0
        out[-1].append(run)
        points += guess
    return out


def _pages(call) -> list[Any]:
    out, token = [], None
    while True:
        page = call(token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _files(root: Path) -> list[tuple[str, Path]]:
    return [(p.relative_to(root).as_posix(), p)
            for p in sorted(root.rglob("*")) if p.is_file()]


def parents_first(runs: list[Any]) -> list[Any]:
    """`runs` ordered so a run comes after its parent (by the `mlflow.parentRunId` tag) when
    the parent is among them; otherwise by start time."""
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    parent = {r.info.run_id: r.data.tags.get(MLFLOW_PARENT_RUN_ID) for r in runs}
    depth: dict[str, int] = {}

    def depth_of(run_id: str) -> int:
        seen, chain = set(), []
        while run_id in parent and run_id not in depth and run_id not in seen:
            seen.add(run_id)
            chain.append(run_id)
            run_id = parent[run_id]
        base = depth.get(run_id, -1) if run_id in parent else -1
        for i, rid in enumerate(reversed(chain)):
            depth[rid] = base + 1 + i
        return depth[chain[0]] if chain else depth[run_id]

    return sorted(runs, key=lambda r: (depth_of(r.info.run_id), r.info.start_time or 0,
                                       r.info.run_id))


@contextmanager
def open_source(uri: str) -> Iterator[Source]:
    """The MLflow store at `uri`, checked to exist and answer. For the import's duration
    MLflow's per-download progress bars are off (the import has its own), and a `./mlruns`
    folder is opened with MLflow's file store, which MLflow 3 refuses unless
    MLFLOW_ALLOW_FILE_STORE is set (the import reads the folder, never writes it)."""
    if not isinstance(uri, str) or not uri.strip():
        raise MLOpsUsageError("the MLflow source is empty: give sqlite:///PATH, a ./mlruns "
                              "folder, postgresql://… or an MLflow server's http(s):// address")
    uri = uri.strip()
    display = redact(uri)
    resolved, file_store = _check(uri, display)
    settings = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    if file_store:
        settings["MLFLOW_ALLOW_FILE_STORE"] = "true"
    with _environment(settings):
        try:
            source = Source(resolved, display, file_store)
            source.client.search_experiments(max_results=1)
        except MLOpsUsageError:
            raise
        except Exception as exc:  # MLflow's own: unknown scheme, old schema, refused login
            raise MLOpsUsageError(
                f"cannot read the MLflow store at {display}: {_first_line(exc)}") from None
        yield source


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _check(uri: str, display: str) -> tuple[str, bool]:
    """(the URI to give MLflow, whether it is a file store), or one clear error."""
    from .uri import is_mlops_uri

    if is_mlops_uri(uri):
        raise MLOpsUsageError(f"{display} is already a jupyter-mlops store: import_mlflow reads "
                              "MLflow stores (sqlite:///…, ./mlruns, postgresql://…, http(s)://…)")
    scheme = urlparse(uri).scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        return _check_folder(uri, display), True
    if scheme == "sqlite":
        _check_sqlite(uri, display)
        return uri, False
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        return _check_postgres(uri, display), False
    if scheme in ("http", "https"):
        _check_server(uri, display)
        return uri.rstrip("/"), False
    if scheme in ("mysql", "mssql", "databricks") or scheme.startswith(("mysql+", "mssql+")):
        return uri, False  # MLflow's own check below (not tested here)
    raise MLOpsUsageError(
        f"{display} is not an MLflow store URI: use sqlite:///PATH/mlflow.db, a ./mlruns "
        "folder (or file:///…), postgresql://… or an MLflow server's http(s):// address")


def _check_folder(uri: str, display: str) -> str:
    path = Path(unquote(urlparse(uri).path) if uri.startswith("file:") else uri).expanduser()
    if not path.is_dir():
        raise MLOpsUsageError(f"no MLflow folder at {display}: expected an ./mlruns folder "
                              "(MLflow's file store), sqlite:///…, postgresql://… or http(s)://…")
    if not any(path.glob("*/meta.yaml")):
        raise MLOpsUsageError(f"{display} is not an MLflow file store (no experiment folder "
                              "with a meta.yaml in it)")
    return str(path.resolve())


def _check_sqlite(uri: str, display: str) -> None:
    import sqlite3

    raw = uri.split("://", 1)[1] if "://" in uri else ""
    path = Path(unquote(raw[1:] if raw.startswith("/") else raw).split("?", 1)[0])
    if not raw or not path.is_file():
        raise MLOpsUsageError(f"no MLflow database at {display}: the file does not exist")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise MLOpsUsageError(f"cannot read {display}: {exc}") from None
    if not {"experiments", "runs", "alembic_version"} <= tables:
        raise MLOpsUsageError(f"{display} is not an MLflow database (no MLflow tables in it)")


def _check_postgres(uri: str, display: str) -> str:
    """The URI with the psycopg (3) driver when psycopg2 is missing, checked to be an
    MLflow database (MLflow would create its tables in any other)."""
    import importlib.util

    import psycopg

    scheme, rest = uri.split("://", 1)
    if scheme in ("postgresql", "postgres") and importlib.util.find_spec("psycopg2") is None:
        uri = "postgresql+psycopg://" + rest
    try:
        with psycopg.connect("postgresql://" + rest, connect_timeout=10) as conn:
            found = conn.execute("SELECT to_regclass('experiments') IS NOT NULL AND "
                                 "to_regclass('alembic_version') IS NOT NULL").fetchone()[0]
    except psycopg.Error as exc:
        raise MLOpsUsageError(f"cannot reach the MLflow database at {display}: "
                              f"{redact(_first_line(exc))}") from None
    if not found:
        raise MLOpsUsageError(f"{display} is not an MLflow database (no MLflow tables in it)")
    return uri


def _check_server(uri: str, display: str) -> None:
    """The server answers HTTP at all (any status: a login it wants is MLflow's to ask)."""
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10).close()
    except urllib.error.HTTPError:
        return
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MLOpsUsageError(f"cannot reach the MLflow server at {display}: {reason}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
