"""Tiny real packages for the tests that need installed distributions (environments, package
diffs, editable installs): a source folder built by hatchling, installed by pip without
network or build isolation."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def write_package(folder: Path, name: str, version: str, init: str, extra: str = "") -> Path:
    """A package's source folder: `<module>/__init__.py` holding `init`, a pyproject.toml for
    hatchling (plus `extra` TOML); returns the folder."""
    module = name.replace("-", "_")
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(init)
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "{name}"
        version = "{version}"
    """) + extra)
    return folder


def pip_install(source: Path, prefix: Path, editable: bool = False) -> Path:
    """Install `source` into a prefix of its own; returns its site-packages folder."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "--prefix", str(prefix),
                    *(["-e"] if editable else []), str(source)],
                   check=True, capture_output=True)
    return next(prefix.glob("lib/python*/site-packages"))
