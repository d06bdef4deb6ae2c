"""Recorded environments: the packages a run had (`run.environment["distributions"]`) rebuilt
with uv into a cached virtual environment of the same Python, with a kernelspec for it, so the
run's notebook can be replayed with the versions it ran with.

The cache (`~/.cache/jupyter-mlops/envs`, or MLOPS_ENV_CACHE) holds one folder per key, the
hash of the Python minor version and the lock (local sources by content digest). A folder is
built under a file lock on its key into a temporary folder that is renamed into place once
complete, so concurrent builders of one key wait for each other and a failed build leaves no
environment behind. uv's own download cache makes a rebuild of known packages take seconds."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EnvironmentBuildError, MLOpsUsageError
from ..tracking.installed import normalize
from . import sources
from .sources import PACKAGE, Requirement
from .uv import run_uv

if TYPE_CHECKING:
    from ..tracking.run import Run

PHASE = "building environment"
CACHE_VAR = "MLOPS_ENV_CACHE"
COMPLETE = "mlops-complete.json"  # written last, inside the folder renamed into place
LOCK = "mlops-lock.txt"
KERNELS = "mlops-jupyter"  # the folder to add to JUPYTER_PATH: kernels/mlops-<key>/kernel.json
TOOLING = ("pip", "setuptools", "wheel")  # uv makes environments without them
INSTALLED = re.compile(r"^\+ (\S+)==(\S+)")


@dataclass(frozen=True)
class RecordedEnv:
    """A built environment holding a run's recorded packages. `python` is its interpreter;
    `kernel_name` a kernelspec for it, found when `jupyter_path` is on JUPYTER_PATH; `key`
    names it in the cache; `lock` is what was installed; `notes` what differs from the run."""

    python: Path
    kernel_name: str
    jupyter_path: Path
    key: str
    reused: bool
    lock: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """What a run's environment needs (one requirement per package) and the key naming it."""

    key: str
    python: str
    requirements: tuple[Requirement, ...]
    notes: tuple[str, ...]


def cache_dir() -> Path:
    """Where built environments are kept: MLOPS_ENV_CACHE, else ~/.cache/jupyter-mlops/envs."""
    folder = os.environ.get(CACHE_VAR) or Path.home() / ".cache" / "jupyter-mlops" / "envs"
    return Path(folder).expanduser().absolute()


def recorded_python(run: Run | str, project_dir: Path | None = None,
                    progress: Callable[[str, str], None] | None = None) -> RecordedEnv:
    """Build (or reuse) an environment with the packages `run` recorded, on this Python (the
    same minor release as the run's). `project_dir`: the project folder as it was at the run
    (a checkout of its commit); the project's own package, when the run had it installed, is
    installed from there. `progress(phase, message)` receives uv's output line by line (a tqdm
    bar shows it otherwise). Raises MLOpsUsageError when the run cannot have one (another
    Python, nothing recorded) and EnvironmentBuildError when a package cannot be had."""
    if isinstance(run, str):
        from ..tracking.fluent import get_run

        run = get_run(run)
    planned = plan(run, project_dir)
    target = cache_dir() / planned.key
    reused = _complete(target)
    if not reused:
        from filelock import FileLock

        (target.parent / ".locks").mkdir(parents=True, exist_ok=True)
        with FileLock(target.parent / ".locks" / f"{planned.key}.lock"):
            reused = _complete(target)  # built by another process while this one waited
            if not reused:
                _build(planned, target, run.id, progress)
    if reused and progress is not None:
        progress(PHASE, f"reusing the environment {planned.key}")
    built = json.loads((target / COMPLETE).read_text())
    return RecordedEnv(
        python=_bin(target) / "python", kernel_name=f"mlops-{planned.key}",
        jupyter_path=target / KERNELS, key=planned.key, reused=reused,
        lock=(target / LOCK).read_text(), notes=[*planned.notes, *built["notes"]])


def plan(run: Run, project_dir: Path | None = None) -> Plan:
    """The requirements for `run`'s environment and its cache key, checked without building:
    the Python must match, local sources must still exist."""
    env = run.environment
    recorded = env.get("distributions")
    notes = check(run, env)
    minor = ".".join(platform.python_version().split(".")[:2])
    imported = {normalize(n) for n in env.get("packages") or {}}
    project = _Project(project_dir)
    reqs: list[Requirement] = []
    left_out = []
    for name, item in recorded.items():
        if name == PACKAGE:
            continue
        if name in TOOLING and name not in imported:
            left_out.append(f"{name} {item['version']}")
            continue
        reqs.append(project.requirement(name, item, notes))
    if left_out:
        notes.append(f"left out {', '.join(left_out)}: build tools the run did not import "
                     f"(uv makes environments without them)")
    reqs.append(_running_package(recorded.get(PACKAGE), notes))
    if "ipykernel" not in recorded:
        from importlib.metadata import version

        reqs.append(sources.registry("ipykernel", version("ipykernel")))
        notes.append(f"added ipykernel {version('ipykernel')}: the run had none, a kernel needs it")
    material = "\n".join([f"python {minor}", *sorted(r.ident for r in reqs)])
    key = hashlib.sha256(material.encode()).hexdigest()[:16]
    return Plan(key, minor, tuple(reqs), tuple(notes))


def check(run: Run, env: dict[str, Any] | None = None) -> list[str]:
    """Refuse (MLOpsUsageError) a run whose environment cannot be rebuilt here: no recorded
    packages, or another Python minor release or implementation. Returns notes (a different
    patch release). Cheap: callers check before they write anything."""
    env = run.environment if env is None else env
    if not env.get("distributions"):
        raise MLOpsUsageError(
            f"run {run.id[:8]} recorded no installed packages (it was made before jupyter-mlops "
            f"recorded them): it cannot be replayed in its own environment; use env='current'")
    return _check_python(run, env)


def _check_python(run: Run, env: dict[str, Any]) -> list[str]:
    recorded = env.get("python") or run.info.get("python_version")
    implementation = (env.get("platform") or {}).get("implementation") or "CPython"
    here, here_impl = platform.python_version(), platform.python_implementation()
    if not recorded:
        raise MLOpsUsageError(f"run {run.id[:8]} recorded no Python version: it cannot be "
                              f"replayed in its own environment; use env='current'")
    minor = ".".join(recorded.split(".")[:2])
    if minor != ".".join(here.split(".")[:2]) or implementation != here_impl:
        raise MLOpsUsageError(
            f"run {run.id[:8]} ran on {implementation} {recorded}, this is {here_impl} {here}: "
            f"its environment can only be rebuilt with {implementation} {minor} (uv makes it "
            f"from the running interpreter); run jupyter-mlops there, or use env='current'")
    if recorded != here:
        return [f"the run had Python {recorded}, the environment has {here} (same {minor} release)"]
    return []


class _Project:
    """The project's own package: the distribution installed from the project folder (or one
    below it), or the one named by `project_dir`'s pyproject.toml, is installed from
    `project_dir` (the run's commit); without one, from the folder as it is now."""

    def __init__(self, project_dir: Path | None):
        from .. import config

        self.root = Path(config.load().project_root).resolve()
        self.dir = project_dir
        self.name = sources.project_name(project_dir)

    def requirement(self, name: str, item: dict[str, Any], notes: list[str]) -> Requirement:
        version, info = item["version"], item.get("direct_url")
        if self.dir is not None and name == self.name:
            notes.append(f"{name}: installed from {self.dir}, the project at the run's commit")
            return sources.tree(name, self.dir)
        if not info:
            return sources.registry(name, version)
        path = sources.local_path(info.get("url", ""))
        if path is None or "dir_info" not in info:
            return sources.direct(name, version, info)
        folder = path.resolve() / info.get("subdirectory", "")
        editable = " (editable)" if info["dir_info"].get("editable") else ""
        if folder.is_relative_to(self.root) and self.dir is not None:
            at_commit = self.dir / folder.relative_to(self.root)
            if not any((at_commit / f).is_file() for f in ("pyproject.toml", "setup.py")):
                raise EnvironmentBuildError(
                    f"{name} {version} was installed from the project ({folder}), but the "
                    f"run's commit has no pyproject.toml or setup.py in {at_commit}")
            notes.append(f"{name}: installed from {at_commit}, the project at the run's commit "
                         f"(the run had it from {folder}{editable})")
            return sources.tree(name, at_commit)
        req = sources.direct(name, version, info)
        notes.append(f"{name}: installed from {folder} as it is now (the run had it from "
                     f"there{editable}, at version {version})")
        return req


def _running_package(recorded: dict[str, Any] | None, notes: list[str]) -> Requirement:
    req, version, origin = sources.running_package()
    if recorded is None:
        notes.append(f"added jupyter-mlops {version} (from {origin}): the run had none installed")
    elif recorded["version"] != version:
        notes.append(f"jupyter-mlops {version} (from {origin}) instead of the run's "
                     f"{recorded['version']}: it must speak this store's schema")
    return req


def _complete(target: Path) -> bool:
    return (target / COMPLETE).is_file()


def _bin(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


class _Report:
    """uv's output line by line: to the caller's progress(phase, message), else a tqdm bar."""

    def __init__(self, progress: Callable[[str, str], None] | None):
        self.progress = progress
        self.bar: Any = None

    def __call__(self, line: str) -> None:
        if self.progress is not None:
            self.progress(PHASE, line)
            return
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=PHASE, unit=" step", leave=False)
        self.bar.set_postfix_str(line[:60], refresh=False)
        self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _build(planned: Plan, target: Path, run_id: str,
           progress: Callable[[str, str], None] | None) -> None:
    """Build the environment in a temporary folder beside `target`, rename it into place when
    complete; on any failure remove it. The caller holds the key's file lock."""
    cache = target.parent
    for stale in cache.glob(f"{planned.key}.building-*"):  # a build killed midway
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():  # no completion marker: never finished
        shutil.rmtree(target)
    temp = cache / f"{planned.key}.building-{uuid.uuid4().hex[:8]}"
    report = _Report(progress)
    failure = f"could not build the recorded environment of run {run_id[:8]}"
    try:
        lines = [r.spec or f"{r.name} @ {sources.wheel(r, cache, report).as_uri()}"
                 for r in planned.requirements]
        run_uv(["venv", "--relocatable", "--python", sys.executable, str(temp)], report, failure,
               cwd=cache)
        (temp / LOCK).write_text("".join(f"{line}\n" for line in sorted(lines)))
        # compiled once here: where writing bytecode is off, each replay would compile
        # numpy, scipy, scikit-learn... again (seconds every time)
        out = run_uv(["pip", "install", "--compile-bytecode", "--python",
                      str(_bin(temp) / "python"), "-r", str(temp / LOCK)], report, failure,
                     cwd=cache)
        _kernelspec(temp, target, planned)
        (temp / COMPLETE).write_text(json.dumps(
            {"notes": _extras(out, planned), "python": platform.python_version(),
             "built_at": time.time()}))
        os.replace(temp, target)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        report.close()


def _extras(uv_output: list[str], planned: Plan) -> list[str]:
    """A note naming what uv installed beyond the lock (dependencies the run did not have)."""
    locked = {r.name for r in planned.requirements}
    extra = [f"{m[1]} {m[2]}" for line in uv_output if (m := INSTALLED.match(line.strip()))
             and normalize(m[1]) not in locked]
    if not extra:
        return []
    shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10 else "")
    return [f"also installed, needed by the recorded packages but not recorded by the run: {shown}"]


def _kernelspec(env: Path, final: Path, planned: Plan) -> None:
    """kernels/mlops-<key>/kernel.json under the environment's KERNELS folder, naming the
    interpreter at its final place. PYTHONPATH is emptied for the kernel: the environment's
    own packages, not whatever the caller's path holds."""
    folder = env / KERNELS / "kernels" / f"mlops-{planned.key}"
    folder.mkdir(parents=True)
    spec = {"argv": [str(_bin(final) / "python"), "-m", "ipykernel_launcher",
                     "-f", "{connection_file}"],
            "display_name": f"Python {planned.python} (recorded environment {planned.key})",
            "language": "python", "env": {"PYTHONPATH": ""}, "metadata": {"debugger": True}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
