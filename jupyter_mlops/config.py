"""Settings in force: environment variables win, then `[tool.jupyter-mlops]` in the project's
pyproject.toml, then defaults. Each value remembers where it came from, for `jupyter mlops config`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MLOpsUsageError

# scikit-learn's own compiled types (and numpy.dtype) that skops does not trust by default
# although common estimators hold them (forests, gradient boosting, neighbors, encoders):
# skops builds them from numbers and arrays, calling no function the file names. The default
# of `trusted_types`; a project that sets the setting replaces this list (`[]` trusts skops's
# defaults alone).
SKLEARN_TYPES = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.ChebyshevDistance64",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
)

# name -> (environment variable, type, default, help). Defaults that depend on the project root
# are filled in by `load()`.
SETTINGS: dict[str, tuple[str, type, Any, str]] = {
    "project_root": ("MLOPS_PROJECT_ROOT", str, None, "folder whose .mlops/ holds the store"),
    "store_uri": ("MLOPS_STORE_URI", str, None, "metadata store (sqlite:///… or postgresql://…)"),
    "artifact_uri": ("MLOPS_ARTIFACT_URI", str, None, "artifact store (a folder, s3://…, gs://…)"),
    "online_store": ("MLOPS_ONLINE_STORE", str, None,
                     "online features (sqlite:///… file or redis://…)"),
    "experiment": ("MLOPS_EXPERIMENT", str, "Default", "experiment for runs that name none"),
    "executor": ("MLOPS_EXECUTOR", str, "local",
                 "where automl, pipeline steps and large-data statistics run: local or a Dask "
                 "scheduler (dask://host:8786)"),
    "automl_storage": ("MLOPS_AUTOML_STORAGE", str, None,
                       "where AutoML studies live: Optuna's journal under .mlops/ by default, or "
                       "redis://… or postgresql://… that every Dask worker reaches"),
    "flush_interval": ("MLOPS_FLUSH_INTERVAL", float, 0.5, "seconds between background flushes"),
    "heartbeat_interval": ("MLOPS_HEARTBEAT_INTERVAL", float, 10.0, "seconds between heartbeats"),
    "heartbeat_timeout": (
        "MLOPS_HEARTBEAT_TIMEOUT", float, 60.0, "a running run silent this long shows as killed"
    ),
    "busy_timeout": ("MLOPS_BUSY_TIMEOUT", float, 30.0, "seconds SQLite waits for a lock"),
    "sqlite_synchronous": (
        "MLOPS_SQLITE_SYNCHRONOUS", str, "normal",
        "SQLite store's synchronous level: normal (a commit survives a process crash) or full "
        "(it also survives a power loss: an fsync per commit)",
    ),
    "gc_grace": ("MLOPS_GC_GRACE", float, 3600.0, "gc keeps unreferenced blobs younger than this"),
    "autolog": ("MLOPS_AUTOLOG", bool, True, "sklearn autolog inside %%track cells"),
    "record_cells": ("MLOPS_RECORD_CELLS", bool, True,
                     "record executed cells and their outputs (the run's snapshot) while a run is active"),
    # What this project trusts from its store: never read from the store itself.
    "allow_pickle": ("MLOPS_ALLOW_PICKLE", bool, False,
                     "load pickle (joblib) models, which can run code when loaded"),
    "trusted_types": ("MLOPS_TRUSTED_TYPES", tuple, SKLEARN_TYPES,
                      "types skops may build besides its own defaults (module.Name, "
                      "comma-separated); the default lists scikit-learn's compiled types"),
    "run_feature_sources": ("MLOPS_RUN_FEATURE_SOURCES", tuple, (),
                            "feature view digests whose stored source may run here, or 'all'"),
}
DIGEST = re.compile(r"[0-9a-f]{64}")

# settings that take one of a few words (compared lower-cased)
CHOICES: dict[str, tuple[str, ...]] = {"sqlite_synchronous": ("normal", "full")}

_SECRET_IN_URI = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@]*):(?P<pw>[^@/]*)@")
_SECRET_QUERY = re.compile(r"(?i)((?:password|token|secret|key)=)[^&\s]+")


def redact(text: str) -> str:
    """Hide passwords in URIs and token-like query values in anything printed or stored."""
    text = _SECRET_IN_URI.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _SECRET_QUERY.sub(r"\1***", text)


@dataclass(frozen=True)
class Settings:
    """Resolved settings, with the source of each value (`env`, `pyproject.toml`, `default`)."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def mlops_dir(self) -> Path:
        return Path(self.values["project_root"]) / ".mlops"

    def rows(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for display, secrets redacted."""
        return [(k, redact((", ".join(v) or "[]") if isinstance(v, tuple) else str(v)),
                 self.sources[k]) for k, v in self.values.items()]


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` holding `.mlops/`, else `.git/` or
    `pyproject.toml`, else `start` itself."""
    start = (start or Path.cwd()).resolve()
    chain = [start, *start.parents]
    for folder in chain:
        if (folder / ".mlops").is_dir():
            return folder
    for folder in chain:
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return start


def _names(name: str, raw: Any, source: str) -> tuple[str, ...]:
    """A list setting: a TOML list of strings, or one comma-separated string (the
    environment's form). Each item is a name without spaces; digests are checked as such."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise MLOpsUsageError(f"{name} from {source} must be a list of names (or one "
                              f"comma-separated string), got {raw!r}")
    items = tuple(i.strip() for i in items if i.strip())
    bad = [i for i in items if any(c.isspace() for c in i)]
    if name == "run_feature_sources":
        bad = [i for i in items if i != "all" and not DIGEST.fullmatch(i)]
        if bad:
            raise MLOpsUsageError(f"{name} from {source} lists feature view digests (64 "
                                  f"lowercase hex characters, as an error names them) or "
                                  f"'all'; not {', '.join(map(repr, bad))}")
    if bad:
        raise MLOpsUsageError(f"{name} from {source}: {', '.join(map(repr, bad))} is not a "
                              "name (no spaces; separate names with commas)")
    return items


def _coerce(name: str, kind: type, raw: Any, source: str) -> Any:
    if name in CHOICES:
        word = str(raw).strip().lower()
        if word not in CHOICES[name]:
            raise MLOpsUsageError(f"{name} from {source} must be one of "
                                  f"{', '.join(CHOICES[name])}, got {raw!r}")
        return word
    if kind is tuple:
        return _names(name, raw, source)
    if kind is bool and isinstance(raw, str):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise MLOpsUsageError(f"{name} from {source} must be true or false, got {raw!r}")
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise MLOpsUsageError(
            f"{name} from {source} must be a {kind.__name__}, got {raw!r}"
        ) from None
    if kind is float and value < 0:
        raise MLOpsUsageError(f"{name} from {source} must not be negative, got {raw!r}")
    return value


def _pyproject_table(root: Path) -> dict[str, Any]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    import tomllib

    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MLOpsUsageError(f"cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("jupyter-mlops", {})
    return {k.replace("-", "_"): v for k, v in table.items()}


# per project (None: the one in force), the settings and what they were read under
_cache: dict[Path | None, tuple[tuple, Settings]] = {}
# where a project keeps its store: a project named explicitly (`load(root)`) keeps its own,
# whatever the environment says for the current one
_LOCATION = ("project_root", "store_uri", "artifact_uri", "online_store")


def load(root: str | Path | None = None) -> Settings:
    """The settings in force now (cached until the environment or working directory changes).
    With `root`, the settings of the project in that folder: its own store location (from its
    pyproject.toml, else its `.mlops/`), the environment's other settings."""
    project = None if root is None else Path(root).resolve()
    env_key = (os.getcwd() if project is None else None,
               *(os.environ.get(env) for env, *_ in SETTINGS.values()))
    hit = _cache.get(project)
    if hit is not None and hit[0][0] == env_key and hit[0][1] == _mtime(hit[1]):
        return hit[1]
    settings = _load(project)
    _cache[project] = ((env_key, _mtime(settings)), settings)
    return settings


def _load(project: Path | None) -> Settings:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    env_root = os.environ.get("MLOPS_PROJECT_ROOT")
    root = project or (Path(env_root).resolve() if env_root else find_project_root())
    table = _pyproject_table(root)
    unknown = sorted(set(table) - set(SETTINGS))
    if unknown:
        raise MLOpsUsageError(
            f"unknown setting(s) in [tool.jupyter-mlops] of {root / 'pyproject.toml'}: "
            f"{', '.join(unknown)}; known: {', '.join(SETTINGS)}"
        )
    for name, (env, kind, default, _help) in SETTINGS.items():
        if os.environ.get(env) not in (None, "") and not (project and name in _LOCATION):
            values[name] = _coerce(name, kind, os.environ[env], env)
            sources[name] = f"env {env}"
        elif name in table:
            values[name] = _coerce(name, kind, table[name], "pyproject.toml")
            sources[name] = "pyproject.toml [tool.jupyter-mlops]"
        else:
            values[name] = default
            sources[name] = "default"
    values["project_root"] = str(root)
    if sources["project_root"] == "default":
        sources["project_root"] = "discovered"
    mlops_dir = root / ".mlops"
    if values["store_uri"] is None:
        values["store_uri"] = f"sqlite:///{mlops_dir / 'mlops.db'}"
    if values["artifact_uri"] is None:
        values["artifact_uri"] = str(mlops_dir / "artifacts")
    if values["online_store"] is None:
        values["online_store"] = f"sqlite:///{mlops_dir / 'online.db'}"
    return Settings(values, sources)


def _mtime(settings: Settings) -> float | None:
    """When the project's pyproject.toml last changed (edits take effect without a restart)."""
    try:
        return (Path(settings.values["project_root"]) / "pyproject.toml").stat().st_mtime
    except OSError:
        return None
