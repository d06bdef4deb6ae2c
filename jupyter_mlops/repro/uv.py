"""Running uv (the binary of the `uv` package): its output passed on line by line as it comes,
and, when it fails, the one line of its message worth showing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import EnvironmentBuildError


def run_uv(args: Sequence[str], report: Callable[[str], None], failure: str,
           cwd: Path | None = None, env: dict[str, str] | None = None) -> list[str]:
    """Run `uv ARGS`, giving each line it prints to `report`; returns the lines. When uv fails:
    EnvironmentBuildError "`failure`: <uv's first error line>"."""
    from uv import find_uv_bin

    proc = subprocess.Popen(
        [find_uv_bin(), *args, "--color", "never", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        lines.append(line)
        if line.strip():
            report(line.strip())
    if proc.wait() != 0:
        raise EnvironmentBuildError(f"{failure}: {first_error(lines)}")
    return lines


def first_error(lines: Sequence[str]) -> str:
    """uv's `error:` line joined with its first `cause:` (what it could not get and why), or
    its last line when it printed no error line."""
    for i, line in enumerate(lines):
        if line.startswith("error:"):
            text = line[len("error:"):].strip()
            cause = next((c.strip()[len("cause:"):].strip() for c in lines[i + 1:]
                          if c.strip().startswith("cause:")), None)
            return f"{text}: {cause}" if cause else text
    return next((line.strip() for line in reversed(lines) if line.strip()),
                "uv failed and said nothing")
