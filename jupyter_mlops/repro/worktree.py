"""Where a replay runs: the project's files as they were at the run's commit, with the
uncommitted changes it recorded (its `git.diff` artifact) applied, in a git worktree of the
project's repository that is removed afterwards, also on failure. When that cannot be (no
commit recorded, not a git repository, the commit is gone, the changes do not apply), the
replay runs in the project itself from the snapshot alone, and a note says exactly why."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..tracking.run import Run

GIT_TIMEOUT = 300  # seconds: a checkout of a large repository takes a while


@dataclass
class Code:
    """The folder the notebook runs in, the project folder holding it, and where they came
    from: "commit" (a worktree at the run's commit) or "snapshot" (the project as it is)."""

    cwd: Path
    project: Path
    source: str
    notes: list[str] = field(default_factory=list)


class _GitFailed(Exception):
    pass


def _git(*args: str, cwd: Path, stdin: bytes | None = None) -> str:
    """Run git (hooks off: a checkout here is the library's, not the user's); its stdout, or
    _GitFailed with git's first line of complaint."""
    proc = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd,
                          input=stdin, capture_output=True, timeout=GIT_TIMEOUT,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise _GitFailed(lines[0] if lines else f"git {args[0]} exited {proc.returncode}")
    return proc.stdout.decode(errors="replace").strip()


def _notebook_folder(base: Path, notebook: str | None) -> Path:
    """The folder of the run's notebook (a path relative to the project) inside `base`."""
    if notebook and not os.path.isabs(notebook):
        folder = base / Path(notebook).parent
        if folder.is_dir():
            return folder
    return base


@contextmanager
def checkout(run: Run, project: Path) -> Iterator[Code]:
    """The code to replay `run` in (see the module docstring); the worktree is gone after."""
    info = run.info
    commit = info.get("git_commit")
    reason = None
    top = None
    if not commit:
        reason = "no commit recorded"
    elif shutil.which("git") is None:
        reason = "git is not installed here"
    else:
        try:
            top = Path(_git("rev-parse", "--show-toplevel", cwd=project))
        except (_GitFailed, OSError):
            reason = f"the project at {project} is not in a git repository"
        else:
            try:
                _git("cat-file", "-e", f"{commit}^{{commit}}", cwd=top)
            except _GitFailed:
                reason = f"commit {commit[:12]} is not in the repository at {top}"
    if reason is not None:
        yield Code(_notebook_folder(project, info.get("notebook")), project, "snapshot",
                   [f"ran from the snapshot alone: {reason}"])
        return
    tmp = Path(tempfile.mkdtemp(prefix="mlops-reproduce-"))
    tree = tmp / "code"
    try:
        _git("worktree", "add", "--detach", str(tree), commit, cwd=top)
        notes = [f"ran at commit {commit[:12]} (a git worktree of {top})"]
        diff = run.artifacts.get("git.diff")
        if diff is not None:
            patch = run.store.artifacts.get_bytes(diff.digest)
            try:
                _git("apply", "--whitespace=nowarn", "-", cwd=tree, stdin=patch)
            except _GitFailed as exc:
                yield Code(_notebook_folder(project, info.get("notebook")), project, "snapshot",
                           [f"ran from the snapshot alone: the uncommitted changes the run "
                            f"recorded (git.diff) do not apply to commit {commit[:12]}: {exc}"])
                return
            notes.append("applied the uncommitted changes the run recorded (git.diff)")
        inside = tree / project.resolve().relative_to(top.resolve())
        yield Code(_notebook_folder(inside, info.get("notebook")), inside, "commit", notes)
    finally:
        try:
            _git("worktree", "remove", "--force", str(tree), cwd=top)
        except (_GitFailed, OSError):
            pass
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _git("worktree", "prune", cwd=top)
        except (_GitFailed, OSError):
            pass
