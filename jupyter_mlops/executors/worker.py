"""What runs on a Dask worker before the work: the client's project settings put in force
for the length of a task, and the probe that proves the worker reaches the store."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_turn = threading.Condition()
_env: dict[str, str] | None = None
_saved: dict[str, str | None] = {}
_holders = 0


@contextlib.contextmanager
def in_project(env: dict[str, str]) -> Iterator[None]:
    """Put `env` (MLOPS_* settings) in force while the block runs. Settings are the process's
    environment, so tasks of the same settings run side by side on a worker's threads and a
    task of other settings waits for them."""
    global _env, _holders
    with _turn:
        while _holders and _env != env:
            _turn.wait()
        if not _holders:
            _saved.clear()
            stale = {k for k in os.environ if k.startswith("MLOPS_")} - set(env)
            for key in set(env) | stale:
                _saved[key] = os.environ.get(key)
            for key in stale:
                del os.environ[key]
            os.environ.update(env)
            _env = dict(env)
        _holders += 1
    try:
        yield
    finally:
        with _turn:
            _holders -= 1
            if not _holders:
                for key, value in _saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                _env = None
                _turn.notify_all()


def probe(env: dict[str, str]) -> str | None:
    """None when this worker reaches the store `env` names (its database answers a query and
    its artifact location exists), else why not. An embedded store is never created here: a
    worker that does not see the client's `.mlops/` is on another host."""
    store_uri = env["MLOPS_STORE_URI"]
    artifacts = env["MLOPS_ARTIFACT_URI"]
    if store_uri.startswith("sqlite:"):
        path = Path(store_uri.split(":///", 1)[-1])
        if not path.is_file():
            return (f"the embedded store {path} is not on this worker's host (a worker on "
                    "another host needs a shared store)")
    if "://" not in artifacts and not Path(artifacts).is_dir():
        return f"the artifact folder {artifacts} is not on this worker's host"
    try:
        with in_project(env):
            from sqlalchemy import text

            from .. import config
            from ..store import open_store

            store = open_store(config.load())
            with store.read() as conn:
                conn.execute(text("SELECT 1"))
            if "://" in artifacts and not store.artifacts.fs.exists(store.artifacts.root):
                return f"the artifact location {artifacts} does not answer"
    except Exception as exc:  # what the worker saw, for the client's one error
        from .. import config

        return f"{type(exc).__name__}: {config.redact(str(exc)).splitlines()[0][:300]}"
    return None
