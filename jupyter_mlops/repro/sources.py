"""Where each package of a recorded environment is installed from: a registry pin, a URL (VCS
or archive, PEP 610), a local archive, or a local source tree built into a wheel once per
content digest; and where the running jupyter-mlops itself can be installed from."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import EnvironmentBuildError
from ..tracking.installed import normalize
from .uv import run_uv

PACKAGE = "jupyter-mlops"
SKIPPED_DIRS = {"__pycache__", "node_modules", "build", "dist"}


@dataclass(frozen=True)
class Requirement:
    """One line of an environment's lock. `spec` is the line itself, unless the package comes
    from a local source tree (`tree`), whose wheel is built first. `ident` is what the cache
    key hashes: the spec, or the content digest of a local source (never a temporary path)."""

    name: str
    ident: str
    spec: str | None = None
    tree: Path | None = None
    digest: str | None = None  # of `tree`


def registry(name: str, version: str) -> Requirement:
    spec = f"{name}=={version}"
    return Requirement(name, spec, spec=spec)


def tree(name: str, path: Path) -> Requirement:
    """A package from a local source tree (installed as a copy: the tree may go away later)."""
    content = digest(path)
    return Requirement(name, f"{name} @ tree:{content}", tree=path, digest=content)


def local_path(url: str) -> Path | None:
    """The path of a file:// URL, else None."""
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def gone(name: str, version: str, where: Any) -> EnvironmentBuildError:
    return EnvironmentBuildError(
        f"{name} {version} was installed from {where}, which no longer exists: a recorded "
        f"environment cannot have it (put it back there, or reproduce with env='current')")


def direct(name: str, version: str, info: dict[str, Any]) -> Requirement:
    """The requirement for a PEP 610 install (`direct_url.json`): a VCS checkout at its commit,
    an archive by URL, or a local folder or archive that must still exist."""
    url = info.get("url", "")
    path = local_path(url)
    subdirectory = info.get("subdirectory")
    if "vcs_info" in info:
        if path is not None and not path.exists():
            raise gone(name, version, url)
        vcs = info["vcs_info"]
        rev = vcs.get("commit_id") or vcs.get("requested_revision")
        spec = f"{name} @ {vcs.get('vcs', 'git')}+{url}" + (f"@{rev}" if rev else "")
        if subdirectory:
            spec += f"#subdirectory={subdirectory}"
        return Requirement(name, spec, spec=spec)
    if path is None:  # an archive from a URL
        return Requirement(name, f"{name} @ {url}", spec=f"{name} @ {url}")
    if "dir_info" in info:
        folder = path / subdirectory if subdirectory else path
        if not folder.is_dir():
            raise gone(name, version, folder)
        return tree(name, folder)
    if not path.is_file():
        raise gone(name, version, path)
    return Requirement(name, f"{name} @ sha256:{_file_digest(path)}", spec=f"{name} @ {path.as_uri()}")


def digest(path: Path) -> str:
    """sha256 of a source tree's files as they are now (paths and contents): in a git tree the
    files git would take (tracked, and untracked but not ignored), elsewhere every file outside
    hidden, cache and build folders."""
    h = hashlib.sha256()
    for rel in sorted(_git_files(path) or _walk(path)):
        file = path / rel
        if file.is_file():
            h.update(rel.encode() + b"\0" + bytes.fromhex(_file_digest(file)))
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _git_files(path: Path) -> set[str] | None:
    try:
        proc = subprocess.run(["git", "-C", str(path), "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {p for p in proc.stdout.decode().split("\0") if p}


def _walk(path: Path) -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                   and not d.endswith(".egg-info")]
        found.update(os.path.relpath(os.path.join(folder, f), path) for f in files
                     if not f.endswith(".pyc"))
    return found


def wheel(req: Requirement, cache: Path, report: Callable[[str], None]) -> Path:
    """The wheel of a local source tree, built once per content digest under `cache`/wheels.
    Built with SKIP_JUPYTER_BUILDER set: a JupyterLab extension's npm build takes minutes and
    is of no use to a kernel."""
    from filelock import FileLock

    assert req.tree is not None and req.digest is not None
    folder = cache / "wheels" / f"{normalize(req.name)}-{req.digest[:16]}"
    built = _wheel_in(folder)
    if built:
        return built
    (cache / ".locks").mkdir(parents=True, exist_ok=True)
    with FileLock(cache / ".locks" / f"wheel-{folder.name}.lock"):
        built = _wheel_in(folder)
        if built:
            return built
        temp = folder.with_name(f"{folder.name}.building-{uuid.uuid4().hex[:8]}")
        try:
            report(f"building {req.name} from {req.tree}")
            run_uv(["build", "--wheel", "--out-dir", str(temp), "--python", sys.executable,
                    str(req.tree)], report, f"could not build {req.name} from {req.tree}",
                   cwd=cache, env={"SKIP_JUPYTER_BUILDER": "1"})
            if _wheel_in(temp) is None:
                raise EnvironmentBuildError(f"building {req.name} from {req.tree} made no wheel")
            os.replace(temp, folder)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    built = _wheel_in(folder)
    assert built is not None
    return built


def _wheel_in(folder: Path) -> Path | None:
    return next(iter(sorted(folder.glob("*.whl"))), None) if folder.is_dir() else None


def running_package() -> tuple[Requirement, str, str]:
    """How to install the jupyter-mlops running here (it must speak this store's schema), its
    version and where it comes from: its source tree when it runs from one (a checkout on the
    path, an editable install); else what its installed distribution came from (a folder or
    archive that still exists, a VCS commit, or the registry). Refuses when none is at hand."""
    import importlib.metadata as metadata

    import jupyter_mlops

    package = Path(jupyter_mlops.__file__).resolve().parent
    version = jupyter_mlops.__version__
    if names_package(package.parent, PACKAGE):
        return tree(PACKAGE, package.parent), version, f"its source tree {package.parent}"
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        dist = None
    if dist is None or Path(str(dist.locate_file("jupyter_mlops"))).resolve() != package:
        raise EnvironmentBuildError(
            f"the running jupyter-mlops ({package}) is neither in a source tree nor an installed "
            f"distribution: it cannot be installed into a recorded environment")
    info = json.loads(dist.read_text("direct_url.json") or "null")
    if info is None:
        return registry(PACKAGE, dist.version), dist.version, "the package registry"
    try:
        return direct(PACKAGE, dist.version, info), dist.version, info.get("url", "")
    except EnvironmentBuildError:
        raise EnvironmentBuildError(
            f"the running jupyter-mlops was installed from {info.get('url')}, which no longer "
            f"exists, and it does not run from a source tree: it cannot be installed into a "
            f"recorded environment (reinstall jupyter-mlops)") from None


def names_package(folder: Path, name: str) -> bool:
    """Whether `folder` holds a pyproject.toml naming the project `name`."""
    return project_name(folder) == normalize(name)


def project_name(folder: Path | None) -> str | None:
    """The normalized [project] name of `folder`'s pyproject.toml, if it has one."""
    import tomllib

    try:
        data = tomllib.loads((folder / "pyproject.toml").read_text()) if folder else {}
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name")
    return normalize(name) if isinstance(name, str) else None
