"""What runs capture without being asked: git commit, dirty flag and diff; source file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_git_commit_dirty_flag_and_diff(project, mlops):
    from jupyter_mlops.tracking import capture

    git(project, "init", "-q")
    git(project, "config", "user.email", "t@example.com")
    git(project, "config", "user.name", "t")
    (project / "train.py").write_text("a = 1\n")
    git(project, "add", "train.py")
    git(project, "commit", "-qm", "first")
    commit = subprocess.run(["git", "-C", str(project), "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    with mlops.start_run() as clean:
        pass
    info = clean.info
    assert info["git_commit"] == commit and info["git_dirty"] is False
    assert "git.diff" not in clean.artifacts
    (project / "train.py").write_text("a = 2\n")
    capture._git_cache.clear()
    with mlops.start_run() as dirty:
        pass
    assert dirty.info["git_dirty"] is True
    diff = dirty.load_artifact("git.diff")
    assert b"-a = 1" in diff and b"+a = 2" in diff
    (project / "untracked.txt").write_text("x")  # untracked files do not make it dirty
    git(project, "checkout", "-q", "train.py")
    capture._git_cache.clear()
    with mlops.start_run() as again:
        pass
    assert again.info["git_dirty"] is False


def test_outside_git(project, mlops):
    with mlops.start_run() as run:
        pass
    assert run.info["git_commit"] is None and run.info["git_dirty"] is None


def test_script_source_and_failure_at_exit(project, tmp_path):
    """A script's run records the script path (not the interpreter's) and, when the script dies
    of an uncaught exception, ends failed with its message."""
    script = project / "train.py"
    script.write_text(
        "import jupyter_mlops as mlops\n"
        "mlops.start_run(name='scripted')\n"
        "mlops.log_metric('x', 1)\n"
        "raise SystemError('bad luck')\n"
    )
    proc = subprocess.run([sys.executable, str(script)], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1 and "bad luck" in proc.stderr
    import jupyter_mlops as mlops

    frame = mlops.search_runs(filter="name = 'scripted'")
    run = mlops.get_run(frame.run_id[0])
    assert run.status == "failed" and run.info["error"] == "SystemError: bad luck"
    assert run.info["notebook"] == "train.py" and run.metrics == {"x": 1.0}


def test_notebook_path_from_jupyterlab_session(project, monkeypatch):
    """In JupyterLab the server names the kernel's notebook (ipykernel puts it in __session__);
    it is stored relative to the project root."""
    from jupyter_mlops.tracking import capture

    class Shell:
        user_ns = {"__session__": str(project / "nbs" / "train.ipynb")}

    monkeypatch.setattr(capture, "ipython", lambda: Shell())
    assert capture.source_file(str(project)) == "nbs/train.ipynb"
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(project / "other.ipynb"))
    assert capture.source_file(str(project)) == "other.ipynb"


def test_papermill_cli_parent_is_read(project, monkeypatch):
    """Under the papermill CLI the kernel's parent process names the input notebook; a relative
    path is taken from where it was typed (the shell's PWD), even with papermill's --cwd."""
    from jupyter_mlops.tracking import capture

    # as if typed in /typed/here, with papermill then moving into --cwd elsewhere
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "papermill",
                               "-p", "alpha", "0.5", "in dir/nb.ipynb", "out.ipynb",
                               "--cwd", str(project)],
                              cwd=project, env={**os.environ, "PWD": "/typed/here"})
    try:
        deadline = time.time() + 5
        while b"papermill" not in Path(f"/proc/{parent.pid}/cmdline").read_bytes():
            assert time.time() < deadline
        monkeypatch.setattr(os, "getppid", lambda: parent.pid)
        capture.papermill_invocation.cache_clear()
        assert capture.papermill_invocation() == {"input": "/typed/here/in dir/nb.ipynb"}
    finally:
        parent.kill()
        capture.papermill_invocation.cache_clear()


def test_papermill_parameters_cell_is_read(project, monkeypatch):
    from jupyter_mlops.tracking import capture

    class Shell:
        user_ns = {"In": ["", "x = 1", "# Parameters\nalpha = 0.6\nname = 'rf'\nlayers = [1, 2]\n"]}

    monkeypatch.setattr(capture, "ipython", lambda: Shell())
    assert capture.papermill_parameters() == {"alpha": 0.6, "name": "rf", "layers": [1, 2]}
