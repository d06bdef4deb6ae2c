"""What a run records without being asked: where its code came from (notebook, script, git),
who ran it where, and the environment (Python and the versions of imported packages).

Cheap on the hot path: git answers are cached for a second, the package map once a process.
"""

from __future__ import annotations

import ast
import getpass
import json
import os
import platform
import socket
import subprocess
import sys
import time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

_git_cache: dict[str, tuple[float, tuple]] = {}


def user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return os.environ.get("USER", "unknown")


def host() -> str:
    return socket.gethostname()


def git_info(root: str) -> tuple[str | None, bool | None, str | None]:
    """(commit, dirty, diff against HEAD when dirty) of the repository holding `root`;
    (None, None, None) outside git. Untracked files do not make a tree dirty."""
    now = time.monotonic()
    hit = _git_cache.get(root)
    if hit and now - hit[0] < 1.0:
        return hit[1]
    result: tuple = (None, None, None)
    try:
        commit = _git(root, "rev-parse", "HEAD")
        if commit:
            status = _git(root, "status", "--porcelain", "--untracked-files=no")
            dirty = bool(status)
            diff = _git(root, "diff", "HEAD", strip=False) if dirty else None
            result = (commit, dirty, diff)
    except (OSError, subprocess.SubprocessError):
        pass
    _git_cache[root] = (now, result)
    return result


def _git(root: str, *args: str, strip: bool = True) -> str | None:
    proc = subprocess.run(
        ["git", "-C", root, *args], capture_output=True, text=True, timeout=10,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() if strip else proc.stdout


@lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


@cache
def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


_env_cache: tuple[int, dict, str] | None = None


@cache
def _platform() -> dict[str, str]:
    return {"system": platform.system(), "release": platform.release(),
            "machine": platform.machine(), "platform": platform.platform(),
            "implementation": platform.python_implementation()}


def environment() -> str:
    """JSON of the Python version, the platform, {distribution: version} for every imported
    top-level package (`packages`), and every installed distribution with its version and,
    for editable or local installs, where it came from (`distributions`, see installed.py).
    Recomputed only when the set of loaded modules grew or an install changed sys.path."""
    from .installed import distributions

    global _env_cache
    installed = distributions()
    count = len(sys.modules)
    if _env_cache and _env_cache[0] == count and _env_cache[1] is installed:
        return _env_cache[2]
    dists = _distributions()
    packages: dict[str, str] = {}
    for name in list(sys.modules):
        if "." in name or name.startswith("_"):
            continue
        for dist in dists.get(name, ()):
            v = _version(dist)
            if v:
                packages[dist] = v
    text = json.dumps(
        {"python": platform.python_version(), "platform": _platform(),
         "packages": dict(sorted(packages.items())), "distributions": installed},
        sort_keys=True,
    )
    _env_cache = (count, installed, text)
    return text


def ipython():
    """The running IPython shell, or None (no import of IPython when it is not loaded)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def source_file(root: str) -> str | None:
    """The notebook (or script) that is running, relative to the project root when inside it.

    In JupyterLab the server tells the kernel (JPY_SESSION_NAME); under the papermill CLI the
    parent process's arguments name the input notebook; `MLOPS_NOTEBOOK` overrides both (the
    pipeline runner and the demo set it)."""
    path = os.environ.get("MLOPS_NOTEBOOK")
    ip = ipython()
    if not path and ip is not None:
        ns = getattr(ip, "user_ns", {})
        path = ns.get("__session__") or ns.get("__vsc_ipynb_file__") or os.environ.get(
            "JPY_SESSION_NAME"
        )
        if not path:
            path = papermill_invocation().get("input")
    if not path and ip is None and sys.argv and sys.argv[0] not in ("", "-c", "-"):
        path = sys.argv[0]
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    try:
        return p.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(p)


@lru_cache(maxsize=1)
def papermill_invocation() -> dict[str, Any]:
    """When this kernel was started by the papermill CLI: {"input": path, "params": {...}}
    read from the parent process's arguments (Linux /proc); else {}."""
    try:
        raw = Path(f"/proc/{os.getppid()}/cmdline").read_bytes()
    except OSError:
        return {}
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    idx = next((i for i, a in enumerate(args) if os.path.basename(a) == "papermill"), None)
    if idx is None:
        return {}
    rest = iter(args[idx + 1:])
    positional = []
    moved = False
    for arg in rest:
        if arg in _PM_TWO_VALUES:
            next(rest, None), next(rest, None)
        elif arg in _PM_ONE_VALUE:
            moved = moved or arg == "--cwd"
            next(rest, None)
        elif not arg.startswith("-"):
            positional.append(arg)
        moved = moved or arg.startswith("--cwd=")
    if not positional:
        return {"input": None}
    path = positional[0]
    if moved and "://" not in path and not os.path.isabs(path):
        # papermill chdirs into --cwd (and starts us there): the shell's PWD is where the
        # relative path was typed. Without --cwd our own working directory is papermill's.
        pwd = _environ(os.getppid()).get("PWD")
        if pwd:
            path = os.path.join(pwd, path)
    return {"input": path}


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


_PM_TWO_VALUES = {"-p", "--parameters", "-r", "--parameters_raw"}
_PM_ONE_VALUE = {
    "-f", "--parameters_file", "-y", "--parameters_yaml", "-b", "--parameters_base64", "-k",
    "--kernel", "-l", "--language", "--cwd", "--engine", "--execution-timeout",
    "--start-timeout", "--log-level",
}


def papermill_parameters() -> dict[str, Any] | None:
    """The parameters papermill injected into this kernel (its `# Parameters` cell), or None
    when this is not a papermill run."""
    ip = ipython()
    if ip is None:
        return None
    history = ip.user_ns.get("In") or []
    for source in reversed(history):
        if isinstance(source, str) and source.lstrip().startswith("# Parameters\n"):
            return _assignments(source)
    return {} if papermill_invocation() else None


def _assignments(source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
            node.targets[0], ast.Name
        ):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                out[node.targets[0].id] = ast.unparse(node.value)
    return out
