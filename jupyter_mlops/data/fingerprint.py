"""Fingerprints that cover the whole content, fast.

- Files: blake3 in chunks (multi-threaded for large files), remembered in a local stat cache
  keyed by (path, size, mtime, inode), so an unchanged file is never read twice.
- Folders: every file hashed on all cores; the folder's digest covers the sorted
  (relative path, file digest) list.
- DataFrames: every value of every column, from the Arrow form of the frame, plus column
  names and dtypes; independent of memory layout (chunks, slices) and of the index unless
  asked."""

from __future__ import annotations

import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..store.artifacts import digest_file

if TYPE_CHECKING:
    import pandas as pd


class StatCache:
    """digest by (path, size, mtime_ns, inode), in `.mlops/cache/stat.sqlite` on this machine
    (inodes mean nothing elsewhere, so it is not part of the shared store)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # a cache: losing it costs a re-read
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS stat (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, inode INTEGER, digest TEXT)")
        self._lock = threading.Lock()

    def lookup(self, path: Path) -> tuple[str | None, os.stat_result]:
        """The remembered digest of `path` if its stat is unchanged (else None), and the stat."""
        st = path.stat()
        with self._lock:
            row = self._conn.execute(
                "SELECT digest FROM stat WHERE path = ? AND size = ? AND mtime_ns = ? "
                "AND inode = ?", (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
            ).fetchone()
        return (row[0] if row else None), st

    def remember(self, path: Path, st: os.stat_result, digest: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)",
                               (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino,
                                digest))

    def digest(self, path: Path) -> tuple[str, int]:
        """(blake3, size) of a file, read only when its stat changed since last time."""
        known, st = self.lookup(path)
        if known:
            return known, st.st_size
        digest, size = digest_file(path)
        self.remember(path, st, digest)
        return digest, size


    def under(self, folder: Path) -> dict[str, tuple[int, int, int, str]]:
        """Remembered (size, mtime_ns, inode, digest) of every file below `folder`, by path."""
        prefix = str(folder) + os.sep
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, size, mtime_ns, inode, digest FROM stat WHERE path >= ? AND "
                "path < ?", (prefix, prefix[:-1] + chr(ord(os.sep) + 1))).fetchall()
        return {r[0]: r[1:] for r in rows}

    def remember_many(self, rows: list[tuple[str, int, int, int, str]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?)", rows)
            self._conn.execute("COMMIT")


def folder_files(folder: Path, cache: StatCache) -> list[tuple[str, str, int]]:
    """(relative path, digest, size) of every file under `folder`, sorted. Unchanged files come
    from the stat cache in one query; the rest are hashed on all cores (with a progress bar
    when there are many) and remembered in one transaction."""
    folder = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    known = cache.under(folder)
    out: dict[Path, tuple[str, int]] = {}
    misses: list[tuple[Path, os.stat_result]] = []
    for p in files:
        st = p.stat()
        hit = known.get(str(p))
        if hit and hit[:3] == (st.st_size, st.st_mtime_ns, st.st_ino):
            out[p] = (hit[3], st.st_size)
        else:
            misses.append((p, st))
    if misses:
        workers = min(32, (os.cpu_count() or 2) * 2)
        with ThreadPoolExecutor(workers) as pool:
            results = pool.map(lambda item: digest_file(item[0]), misses)
            if len(misses) > 500:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(misses), desc=f"hashing {folder.name}",
                               unit="file")
            hashed = list(results)
        cache.remember_many([(str(p), st.st_size, st.st_mtime_ns, st.st_ino, d)
                             for (p, st), (d, _) in zip(misses, hashed, strict=True)])
        out.update({p: h for (p, _), h in zip(misses, hashed, strict=True)})
    return [(p.relative_to(folder).as_posix(), *out[p]) for p in files]


def folder_digest(entries: list[tuple[str, str, int]]) -> str:
    from blake3 import blake3

    hasher = blake3()
    for rel, digest, _size in entries:
        hasher.update(rel.encode() + b"\0" + digest.encode() + b"\n")
    return hasher.hexdigest()


def frame_digest(df: pd.DataFrame, index: bool = False) -> str:
    """blake3 over the names, dtypes and every value of `df` (and its index if asked)."""
    import numpy as np
    import pyarrow as pa
    from blake3 import blake3

    table = pa.Table.from_pandas(df, preserve_index=index)
    hasher = blake3(max_threads=blake3.AUTO)
    hasher.update(b"frame\0" + str(len(table)).encode())
    for name, column in zip(table.column_names, table.columns, strict=True):
        dtype = str(df[name].dtype) if name in df.columns else str(column.type)
        hasher.update(f"\0{name}\0{dtype}\0".encode())
        arr = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        _hash_array(hasher, arr, np, pa)
    return hasher.hexdigest()


def _hash_array(hasher, arr, np, pa) -> None:
    import pyarrow.compute as pc

    if arr.null_count:
        hasher.update(np.packbits(arr.is_null().to_numpy(zero_copy_only=False)).tobytes())
        arr = pc.fill_null(arr, _zero(arr.type, pa)) if _zero(arr.type, pa) is not None else arr
    t = arr.type
    if pa.types.is_dictionary(t):
        _hash_array(hasher, arr.dictionary, np, pa)
        _hash_array(hasher, arr.indices, np, pa)
    elif pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) \
            or pa.types.is_large_binary(t):
        width = 8 if (pa.types.is_large_string(t) or pa.types.is_large_binary(t)) else 4
        _, offsets_buf, data_buf = arr.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=f"<i{width}", count=len(arr) + 1,
                                offset=arr.offset * width)
        start, end = int(offsets[0]), int(offsets[-1])
        hasher.update(np.diff(offsets).astype("<i8").tobytes())  # lengths: layout-free
        if data_buf is not None and end > start:
            hasher.update(memoryview(data_buf)[start:end])
    elif pa.types.is_boolean(t):
        hasher.update(np.packbits(arr.to_numpy(zero_copy_only=False)).tobytes())
    elif pa.types.is_primitive(t) or pa.types.is_temporal(t):
        values = arr.to_numpy(zero_copy_only=False)
        hasher.update(np.ascontiguousarray(values).view(np.uint8).tobytes())
    else:  # nested and other types: their canonical text form
        hasher.update("\0".join(map(str, arr.to_pylist())).encode())


def _zero(t, pa):
    """A neutral value for null slots (their bytes are undefined in Arrow)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return ""
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return b""
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return 0
    return None
