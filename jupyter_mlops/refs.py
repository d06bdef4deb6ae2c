"""The one grammar of references a user types, for the API, magics, CLI and REST alike.

    name@3            version 3            name@latest      the newest version
    name@sha:1a2b3c4d a digest prefix (8+ hex)              name@production  an alias
    name/3            version 3 (models)   1a2b3c4d…        a run id (8+ hex)
    dataset:wine@3    a kind prefix decides where a name is both a dataset and a model

Names may not contain `@`, `/`, `:` or control characters; aliases match [a-z][a-z0-9_-]*
and are never `latest`.

Where a string may be a path or a reference (the data of a drift report or a monitoring
batch), `is_path` decides, by one rule: a `pathlib.Path` (any os.PathLike), or a string that
ends in `/`, contains `*`, or starts with `./`, `/` or a URL scheme (`s3://`, `file://`) is a
path; any other string is a reference (`wine@3`, and `wine/3` stays a model version).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from .errors import MLOpsUsageError

KINDS = ("run", "dataset", "model", "feature", "pipeline", "experiment")
ALIAS = re.compile(r"[a-z][a-z0-9_-]*\Z")
HEX = re.compile(r"[0-9a-f]{8,64}\Z")
DIGITS = re.compile(r"[0-9]+\Z")  # ASCII only: str.isdigit also says yes to "²" and "٣"
MAX_VERSION = 2**63 - 1  # what the stores' version columns hold
SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True)
class Ref:
    """A parsed reference: `kind` is None unless a prefix gave it (or it is a run id)."""

    name: str
    kind: str | None = None
    version: int | None = None
    latest: bool = False
    alias: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:" if self.kind and self.kind != "run" else ""
        text += self.name
        if self.version is not None:
            text += f"@{self.version}"
        elif self.latest:
            text += "@latest"
        elif self.alias:
            text += f"@{self.alias}"
        elif self.digest:
            text += f"@sha:{self.digest}"
        return text


def is_path(value: Any) -> bool:
    """True for a path (a Path, or a string ending in `/`, holding `*`, or starting with `./`,
    `/` or a URL scheme), False for anything else, which is a reference if it is a string."""
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str):
        return False
    return (value.endswith("/") or "*" in value or value.startswith(("./", "/"))
            or SCHEME.match(value) is not None)


def check_name(name: str, what: str = "name") -> str:
    """A name of a dataset, model, view or pipeline: no `@`, `/`, `:` or control
    characters."""
    if not isinstance(name, str) or not name.strip():
        raise MLOpsUsageError(f"a {what} must be a non-empty string, got {name!r}")
    bad = sorted({c for c in name if c in "@/:"})
    if bad:
        raise MLOpsUsageError(f"{what} {name!r} may not contain {' '.join(bad)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):  # PostgreSQL refuses NUL outright
        raise MLOpsUsageError(f"{what} {name!r} may not contain control characters")
    return name.strip()


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not ALIAS.match(alias) or alias == "latest":
        raise MLOpsUsageError(
            f"alias {alias!r} must match [a-z][a-z0-9_-]* and not be 'latest' or a number")
    return alias


def parse(text: str) -> Ref:
    """Parse a reference; one clear error for anything outside the grammar."""
    if not isinstance(text, str) or not text.strip():
        raise MLOpsUsageError("empty reference: expected name@version, name@alias or a run id")
    text = text.strip()
    kind = None
    head, sep, rest = text.partition(":")
    if sep and head in KINDS:
        kind, text = head, rest
    elif sep and "@" not in head:
        raise MLOpsUsageError(f"unknown kind {head!r} in {text!r}: use one of {', '.join(KINDS)}")
    if kind in (None, "run") and "@" not in text and "/" not in text and HEX.match(text.lower()):
        return Ref(name=text.lower(), kind="run")
    if kind == "run":
        raise MLOpsUsageError(f"{text!r} is not a run id (8 to 64 hex characters)")
    name, at, selector = text.partition("@")
    if not at and "/" in name:
        name, _, version = name.partition("/")
        if not DIGITS.match(version):
            raise MLOpsUsageError(f"in {text!r}, the part after / must be a version number")
        return Ref(check_name(name), kind, version=_version(version, text))
    name = check_name(name)
    if not at:
        return Ref(name, kind)
    if DIGITS.match(selector):
        return Ref(name, kind, version=_version(selector, text))
    if selector == "latest":
        return Ref(name, kind, latest=True)
    if selector.startswith("sha:"):
        digest = selector[4:].lower()
        if not HEX.match(digest):
            raise MLOpsUsageError(f"in {text!r}, a digest prefix needs at least 8 hex characters")
        return Ref(name, kind, digest=digest)
    return Ref(name, kind, alias=check_alias(selector))


def _version(digits: str, text: str) -> int:
    version = int(digits)
    if not 1 <= version <= MAX_VERSION:
        raise MLOpsUsageError(f"in {text!r}, versions start at 1 (and end at {MAX_VERSION})")
    return version
