"""Every installed distribution with its version and, for editable or local installs, where it
came from (PEP 610 `direct_url.json`): what `run.environment["distributions"]` holds.

Fast enough for every run start: names and versions come from the `.dist-info` folder names
(no METADATA parsed), and the answer is cached per process until a folder on sys.path
changes (an install or uninstall touches its site-packages folder)."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

_cache: tuple[tuple, dict[str, dict[str, Any]]] | None = None


def _key() -> tuple:
    out = []
    for entry in sys.path:
        try:
            out.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            out.append((entry, None))
    return tuple(out)


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions() -> dict[str, dict[str, Any]]:
    """{normalized name: {"version": v} plus "direct_url" (PEP 610) when it has one}; the
    first of a name on sys.path wins, as for imports."""
    global _cache
    key = _key()
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    found: dict[str, dict[str, Any]] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if folder.endswith(".dist-info"):
                stem = folder[:-len(".dist-info")]
            elif folder.endswith(".egg-info"):
                stem = re.sub(r"-py\d[\d.]*(-.*)?$", "", folder[:-len(".egg-info")])
            else:
                continue
            name, _, version = stem.rpartition("-") if "-" in stem else (stem, "", "")
            path = os.path.join(entry or ".", folder)
            if not version:  # a development egg-info names no version: ask its metadata
                version = _metadata_version(path)
            name = normalize(name)
            if name in found or not version:
                continue
            item: dict[str, Any] = {"version": version}
            try:
                with open(os.path.join(path, "direct_url.json"), encoding="utf-8") as fh:
                    item["direct_url"] = json.load(fh)
            except (OSError, ValueError):
                pass
            found[name] = item
    result = dict(sorted(found.items()))
    _cache = (key, result)
    return result


def _metadata_version(path: str) -> str | None:
    from importlib.metadata import PathDistribution
    from pathlib import Path

    try:
        return PathDistribution(Path(path)).version
    except Exception:
        return None
