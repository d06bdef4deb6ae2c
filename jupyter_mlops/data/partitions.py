"""Partitioned parquet: a folder of parquet files (hive-style `key=value` subfolders allowed), a
glob, or an object-store prefix (any fsspec URL: `s3://bucket/prefix/`), read one partition at
a time so that memory is bounded by a partition, never by the dataset.

A partition is one file, or a run of a large file's row groups. `open_partitioned` lists the
files and reads only their footers (row counts, row groups, column types), so a missing
column, a type that differs between files or an unreadable file is one clear error before any
data is read. `run_partitions` computes a task per partition, here (one partition at a time)
or on a Dask cluster (one task per partition on the workers, each returning its small result,
never the data), and merges the results on this side as they arrive."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

SUFFIXES = (".parquet", ".pq", ".parq")  # the files of a folder or prefix that are partitions
PARTITION_BYTES = 128 << 20  # a file larger than this (uncompressed) is split by row groups
HIVE_KEY = re.compile(r"([^=/]+)=([^/]*)\Z")
INTEGER = re.compile(r"-?[0-9]+\Z")


@dataclass(frozen=True)
class Partition:
    """One unit of work: the parquet file at `url` (what fsspec opens), all of it or only
    `row_groups`; `label` names it in messages (its path under the dataset); `keys` are its
    hive-style folder values (column → value)."""

    url: str
    label: str
    rows: int
    row_groups: tuple[int, ...] | None = None
    keys: tuple[tuple[str, Any], ...] = ()

    @contextlib.contextmanager
    def reader(self) -> Iterator[pq.ParquetFile]:
        """The file opened for reading (its footer read, no data yet); closed after."""
        import pyarrow.parquet as pq
        from fsspec.core import url_to_fs

        try:
            fs, path = url_to_fs(self.url)
            # a local file through arrow's own reader (threads may share it); others by fsspec
            handle = contextlib.nullcontext(path) if _local(fs) else fs.open(path, "rb")
        except Exception as exc:  # any reason a file does not open is the user's file
            raise MLOpsUsageError(f"{self.label} does not open: {_reason(exc)}") from None
        with handle as source:
            try:
                parquet = pq.ParquetFile(source)
            except Exception as exc:
                raise MLOpsUsageError(f"{self.label} does not read as parquet: "
                                      f"{_reason(exc)}") from None
            try:
                yield parquet
            finally:
                parquet.close()

    def prefetch(self) -> None:
        """Ask the kernel to read a local file ahead, whole: its columns are then read one by
        one while the disk fills the page cache (a no-op for other stores and for a run of a
        larger file's row groups)."""
        from fsspec.core import url_to_fs

        if self.row_groups is not None or not hasattr(os, "posix_fadvise"):
            return
        try:
            fs, path = url_to_fs(self.url)
            if not _local(fs):
                return
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return  # reading it says what is wrong
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)

    def frame(self) -> pd.DataFrame:
        """All of this partition's rows as pandas reads them, its hive keys as columns."""
        with self.reader() as handle:
            try:
                table = (handle.read() if self.row_groups is None
                         else handle.read_row_groups(list(self.row_groups)))
            except Exception as exc:
                raise MLOpsUsageError(f"{self.label} does not read: {_reason(exc)}") from None
        frame = table.to_pandas()
        for key, value in self.keys:
            frame[key] = value
        return frame

    def read(self, handle: pq.ParquetFile, column: str) -> pa.ChunkedArray:
        """One column of this partition (a file column, not a hive key): the memory one
        column of one partition takes."""
        try:
            if self.row_groups is None:
                return handle.read(columns=[column]).column(0)
            return handle.read_row_groups(list(self.row_groups), columns=[column]).column(0)
        except Exception as exc:
            raise MLOpsUsageError(f"column {column!r} of {self.label} does not read: "
                                  f"{_reason(exc)}") from None


@dataclass
class Partitioned:
    """A partitioned parquet dataset: its partitions, rows, and each column's arrow type
    (the first file's; every file was checked to agree on the column's kind)."""

    source: str
    partitions: list[Partition]
    types: dict[str, pa.DataType]
    files: int = 0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def kind(self, column: str) -> str:
        """numeric, categorical or datetime: how pandas would hold the column (a hive key is
        a category, as pandas reads it)."""
        kind = column_kind(self.types[column])
        return "categorical" if kind == "empty" else kind  # all missing: as pandas holds it

    def dtypes(self) -> dict[str, str]:
        """Each column's pandas dtype as `pd.read_parquet` gives it."""
        import pyarrow as pa

        frame = pa.schema(list(self.types.items())).empty_table().to_pandas()
        return {str(c): str(t) for c, t in frame.dtypes.items()}


def column_kind(arrow_type: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) \
            or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_timestamp(arrow_type) or pa.types.is_duration(arrow_type):
        return "datetime"
    if pa.types.is_null(arrow_type):
        return "empty"
    return "categorical"  # text, booleans, categories, dates: what pandas keeps as objects


def _local(fs: Any) -> bool:
    protocol = fs.protocol
    return bool({"file", "local"} & set(protocol if isinstance(protocol, tuple) else (protocol,)))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def is_partition(relative: str) -> bool:
    """Whether a file at `relative` (a path under a dataset's folder) is one of its partitions:
    a parquet suffix, and no part of the path hidden (`.`) or private (`_`, as in `_SUCCESS`)."""
    return relative.lower().endswith(SUFFIXES) and not any(
        part.startswith(("_", ".")) for part in relative.strip("/").split("/"))


def _files(path: Any) -> list[tuple[str, str]]:
    """(url, path under the dataset) of each parquet file of a folder, prefix, glob or file."""
    from fsspec.core import url_to_fs

    text = os.fspath(path)
    try:
        fs, root = url_to_fs(text)
    except (ImportError, ValueError) as exc:
        raise MLOpsUsageError(f"cannot open {text}: {_reason(exc)}") from None
    try:
        if "*" in text:
            files = sorted(f for f in fs.glob(root) if fs.isfile(f))
            base = root.split("*", 1)[0]
            root = base if base.endswith("/") else base.rsplit("/", 1)[0]
        elif fs.isdir(root):
            root = root.rstrip("/")
            files = sorted(f for f in fs.find(root) if is_partition(f[len(root):]))
        elif fs.isfile(root):
            files, root = [root], root.rsplit("/", 1)[0]
        else:
            raise MLOpsUsageError(f"no file or folder at {text}")
    except OSError as exc:
        raise MLOpsUsageError(f"cannot list {text}: {_reason(exc)}") from None
    if not files:
        raise MLOpsUsageError(f"{text} holds no parquet files (a partitioned dataset is a "
                              f"folder or prefix of {', '.join(SUFFIXES)} files, or a glob)")
    return [(fs.unstrip_protocol(f), f[len(root):].lstrip("/") if f.startswith(root) else f)
            for f in files]


def _hive_keys(relative: str) -> dict[str, str]:
    keys = {}
    for part in relative.split("/")[:-1]:
        match = HIVE_KEY.match(part)
        if match:
            from urllib.parse import unquote

            keys[unquote(match[1])] = unquote(match[2])
    return keys


def open_partitioned(path: Any, columns: list[str] | None = None) -> Partitioned:
    """The partitions of the parquet dataset at `path` (a folder, a glob, an fsspec prefix or
    one file), from the files' footers: see `from_files`."""
    return from_files(os.fspath(path), _files(path), columns)


def from_files(source: str, files: list[tuple[str, str]], columns: list[str] | None = None
               ) -> Partitioned:
    """The partitioned dataset of `files` ((url, path under the dataset) each; hive-style
    `key=value` folders in those paths are columns), from their footers, read on threads.
    Every file must hold `columns` (default: the first file's) with one kind of values; a
    file that does not read, a column missing from a file or holding another kind of values
    there is one MLOpsUsageError naming the file."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    if not files:
        raise MLOpsUsageError(f"{source} holds no parquet files")

    def footer(item: tuple[str, str]) -> tuple[pa.Schema, Any]:
        with Partition(item[0], item[1], 0).reader() as handle:
            return handle.schema_arrow, handle.metadata

    with ThreadPoolExecutor(min(16, len(files))) as pool:
        footers = list(pool.map(footer, files))
    labels = [label for _, label in files]
    keys = [_hive_keys(label) for label in labels]
    hive = list(dict.fromkeys(k for ks in keys for k in ks))
    typed = {k: all(INTEGER.match(ks.get(k, "")) for ks in keys) for k in hive}
    types = _agree(footers, labels, keys, hive, columns)
    for key in hive:
        if columns is None or key in columns:
            types[key] = pa.dictionary(pa.int32(), pa.int32() if typed[key] else pa.string())
    if columns is not None:
        types = {c: types[c] for c in columns}
    partitions = []
    for (url, label), ks, (_schema, meta) in zip(files, keys, footers, strict=True):
        values = tuple((k, int(v) if typed[k] else v) for k, v in ks.items())
        partitions.extend(_split(url, label, meta, values))
    return Partitioned(source, partitions, types, len(files))


def _agree(footers: list, labels: list[str], keys: list[dict[str, str]], hive: list[str],
           columns: list[str] | None) -> dict[str, pa.DataType]:
    """Column → arrow type, checked across the files: every file holds every column (or has
    it as a hive key), with one kind of values (an all-null column fits any kind)."""
    first = footers[0][0]
    wanted = list(columns) if columns is not None else [n for n in first.names if n not in hive]
    types: dict[str, pa.DataType] = {}
    seen: dict[str, tuple[str, str]] = {}  # column → (kind, the file it was first seen in)
    for (schema, _meta), label, ks in zip(footers, labels, keys, strict=True):
        for name in wanted:
            if name in ks:
                continue
            if name not in schema.names:
                raise MLOpsUsageError(
                    f"{label} has no column {name!r}, which "
                    f"{'was asked for' if columns is not None else labels[0] + ' has'}: every "
                    f"partition must hold the same columns (it has: "
                    f"{', '.join(schema.names) or 'none'})")
            arrow_type = schema.field(name).type
            kind = column_kind(arrow_type)
            if kind == "empty":
                types.setdefault(name, arrow_type)
                continue
            if name in seen and seen[name][0] != kind:
                raise MLOpsUsageError(
                    f"column {name!r} holds {seen[name][0]} values ({types[name]}) in "
                    f"{seen[name][1]} but {kind} values ({arrow_type}) in {label}: every "
                    "partition must hold one type per column")
            if name not in seen:
                seen[name] = (kind, label)
                types[name] = arrow_type
    return {n: types[n] for n in wanted if n in types}


def _split(url: str, label: str, meta: Any, keys: tuple) -> list[Partition]:
    """The file as one partition, or as runs of row groups of about PARTITION_BYTES."""
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    if sum(g.total_byte_size for g in groups) <= PARTITION_BYTES or len(groups) < 2:
        return [Partition(url, label, meta.num_rows, None, keys)]
    out: list[Partition] = []
    run: list[int] = []
    size = rows = 0
    for i, group in enumerate(groups):
        if run and size + group.total_byte_size > PARTITION_BYTES:
            out.append(Partition(url, f"{label} (row groups {run[0]}-{run[-1]})", rows,
                                 tuple(run), keys))
            run, size, rows = [], 0, 0
        run.append(i)
        size += group.total_byte_size
        rows += group.num_rows
    out.append(Partition(url, f"{label} (row groups {run[0]}-{run[-1]})", rows, tuple(run),
                         keys))
    return out


def run_partitions(task: Callable[..., Any], data: Partitioned, merge: Callable[[Any, Any], Any],
                   *args: Any, executor: Any = None, desc: str = "partitions") -> Any:
    """`task(partition, *args, threads=...)` on every partition of `data`, the results folded
    with `merge(total, result)` (total None at first) as they arrive. Local: one partition at
    a time in this process (`threads` for its columns). Dask: one task per partition on the
    workers (one thread each), only the small results coming back."""
    from tqdm.auto import tqdm

    from ..executors import resolve

    chosen = resolve(executor)
    total = None
    bar = tqdm(total=len(data.partitions), desc=desc, unit="partition",
               disable=len(data.partitions) < 2)
    try:
        if chosen.local:
            threads = min(os.cpu_count() or 1, 8)
            for part in data.partitions:
                total = merge(total, task(part, *args, threads=threads))
                bar.update()
            return total
        from uuid import uuid4

        from distributed import as_completed

        token = uuid4().hex[:12]
        futures = [chosen.submit(task, part, *args, threads=1, key=f"{desc}-{token}-{i}")
                   for i, part in enumerate(data.partitions)]
        try:
            for future in as_completed(futures, loop=chosen.client.loop):
                total = merge(total, future.result())
                future.release()
                bar.update()
        finally:
            chosen.client.cancel([f for f in futures if not f.done()])
        return total
    finally:
        bar.close()
