"""What the benchmark scripts share: the worker protocol, provenance and the table format."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARK = "@@BENCH@@ "  # a worker's result line, told apart from whatever else it prints


def worker_main(tasks: dict[str, Callable[[dict], dict]], task: str, raw: str) -> None:
    """Run one task in this (fresh) process and print its result after MARK."""
    result = tasks[task](json.loads(raw))
    sys.stdout.flush()
    print(MARK + json.dumps(result), flush=True)


def run_worker(python: str, script: str, task: str, args: dict, *, env: dict, cwd,
               timeout: float, label: str = "") -> dict:
    """Run `task` in a fresh process of `script` (its --worker mode); the result it printed
    after MARK, or a RuntimeError with the tail of what it said."""
    proc = subprocess.run([python, str(script), "--worker", task, json.dumps(args)], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return worker_result(proc.returncode, proc.stdout, proc.stderr, f"{label}{task}")


def worker_result(returncode: int, stdout: str, stderr: str, what: str) -> dict:
    """The result a worker printed after MARK, or a RuntimeError with the tail of what it
    said when it failed or printed none."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(MARK)]
    if returncode != 0 or not lines:
        tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{what} failed (exit {returncode}):\n{tail}")
    return json.loads(lines[-1][len(MARK):])


class Driver:
    """What every benchmark driver shares: timestamped progress on stderr, and measurements
    whose failure is recorded (in `errors`, shown in the table and the JSON), not fatal."""

    errors: list[str]
    t_start: float

    def attempt(self, what: str, fn, *fn_args):
        try:
            return fn(*fn_args)
        except Exception as exc:  # noqa: BLE001 - reported in the table and the JSON
            msg = f"{what}: {type(exc).__name__}: {exc}"
            print(f"  !! {msg}", file=sys.stderr)
            self.errors.append(msg)
            return None

    def log(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t_start:6.0f}s] {text}", file=sys.stderr, flush=True)


def code_digest(root: Path = ROOT) -> str:
    """A digest of the package's sources (of the tree at `root`), to notice edits made while
    the benchmark runs."""
    h = hashlib.sha256()
    for path in sorted((root / "jupyter_mlops").rglob("*.py")):
        if path.name == "_version.py":  # written by a wheel build of the tree (git-ignored)
            continue
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def git_describe(root: Path = ROOT) -> dict:
    """The commit of the checkout at `root` and whether its tracked files differ from it."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read-only: never refresh the index

    def git(*a: str) -> str:
        p = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True, env=env)
        return p.stdout.strip() if p.returncode == 0 else ""

    return {"commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def med(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def secs(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1e3:,.1f} ms" if x < 1 else f"{x:,.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return ""
    r = a / b
    return f"{r:,.0f}×" if r >= 10 else f"{r:,.1f}×"


def loads(values: list) -> str:
    """Load averages as the results print them."""
    return " ".join(f"{float(v):.2f}" for v in values)


def check(ok: bool) -> str:
    return "✓" if ok else "✗ MISSED"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of (figure, ours, peer, ratio, notes) as aligned text lines under `header`."""
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    lines = []
    for r in [header, None, *rows]:
        if r is None:
            lines.append("-" * (sum(widths) + 8 + 30))
            continue
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r[:4], widths, strict=True)))
                     + ("  " + r[4] if r[4] else ""))
    return lines


def dumps(results: dict) -> str:
    """The results as indented JSON, with each list of numbers (the raw samples) on one line."""
    text = json.dumps(results, indent=1, default=str)
    return re.sub(r"\[\s*(-?[0-9][-0-9.e+]*(?:,\s*-?[0-9][-0-9.e+]*)*)\s*\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)


def save(results: dict, render: Callable[[dict], str], name: str, quick: bool,
         out: str | None = None) -> None:
    """Write results/<name>-<date>[-quick].json (first: a rendering bug loses nothing), then
    print the table and write it beside as .txt."""
    import datetime

    path = Path(out) if out else ROOT / "benchmarks" / "results" / (
        f"{name}-{datetime.date.today().isoformat()}{'-quick' if quick else ''}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(results) + "\n")
    table = render(results)
    print(table)
    path.with_suffix(".txt").write_text(table + "\n")
    print(f"\nresults: {path} and {path.with_suffix('.txt').name}")


def versions(names: list[str], ours: bool) -> dict:
    """Python's version and each named distribution's (None where absent); with `ours`, the
    jupyter_mlops measured and the folder it was imported from."""
    import platform
    from importlib.metadata import distributions

    have = {d.metadata["Name"].lower(): d.version for d in distributions()}
    out = {"python": platform.python_version(), **{n: have.get(n) for n in names}}
    if ours:
        import jupyter_mlops

        out.update(jupyter_mlops=jupyter_mlops.__version__,
                   path=str(Path(jupyter_mlops.__file__).parent))
    return out


def peer_python(peer: str) -> str:
    """The python of `peer`'s venv, built or reused by setup_peer.sh (its last line); exits
    with the script's error when it fails."""
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "setup_peer.sh"), peer],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"setup_peer.sh {peer} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]



@contextmanager
def quiet(lock: str | None, log: Callable[[str], None]) -> Iterator[None]:
    """Hold the machine's quiet lock (a file other agents wait on while it exists) around the
    figures to report: wait until nobody else holds it, create it, remove it after."""
    if not lock:
        yield
        return
    while True:
        try:
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            log(f"waiting for {lock}")
            time.sleep(30)
    log(f"holding {lock}")
    try:
        yield
    finally:
        os.unlink(lock)


@contextmanager
def quiet_flock(path: str | None, log: Callable[[str], None]) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if absent) around the measurements, so no
    other benchmark on the machine runs at once; the file is removed after if this run made it
    (and a lock taken on a file removed meanwhile is taken again on the new one)."""
    if not path:
        yield
        return
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
            made = True
        except FileExistsError:
            fd, made = os.open(path, os.O_RDWR), False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            log(f"waiting for {path}")
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    log(f"holding {path}")
    try:
        yield
    finally:
        if made:
            os.unlink(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
