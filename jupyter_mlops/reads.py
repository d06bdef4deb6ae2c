"""Reads noted while something derived is computed. A feature view's source runs inside
`recording_reads()`, and every dataset version it loads is noted there (`load_dataset` calls
`record_read`), so its materialization is linked to the versions it came from. This module
sits apart from both, so that `data` never imports `features`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# the references read in the current context ("dataset:wine@3"), or None when nothing records
_READS: ContextVar[list[str] | None] = ContextVar("mlops_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[list[str]]:
    """Within the block, the references passed to `record_read` are appended to the list it
    gives (in this thread or task only; an inner block records for itself)."""
    reads: list[str] = []
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def record_read(ref: str) -> None:
    """Note that `ref` was read, if a `recording_reads()` block is open here."""
    reads = _READS.get()
    if reads is not None:
        reads.append(ref)
