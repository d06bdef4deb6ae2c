"""`version_dataset` and `load_dataset`: named, numbered versions of DataFrames, files and
folders, stored once by content, recorded as inputs of the active run."""

from __future__ import annotations

import html
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .. import config, refs
from ..errors import IntegrityError, MLOpsUsageError, NotFoundError, StoreError
from ..store import get_store
from ..store.tables import dataset_files, dataset_versions, datasets, run_links

if TYPE_CHECKING:
    import pandas as pd

TABULAR = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
           ".ndjson": "jsonl"}
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a dataset: `.name`, `.version`, `.digest`, `.schema`, `.profile`."""

    name: str
    version: int
    digest: str
    kind: str  # frame | file | folder
    format: str  # parquet | csv | jsonl | bytes | folder
    size: int
    rows: int | None
    schema: list[dict[str, Any]] = field(repr=False)
    profile: dict[str, Any] = field(repr=False)
    created_at: float = 0.0
    run_id: str | None = None
    copied: bool = True
    source_path: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def load(self, as_path: bool = False) -> Any:
        return load_dataset(self.ref, as_path=as_path)

    def __str__(self) -> str:
        return self.ref

    def to_frame(self) -> pd.DataFrame:
        """One row per column: dtype, missing values and the profile's main statistics."""
        from .profile import profile_table

        return profile_table([(c["name"], c["dtype"]) for c in self.schema], self.profile)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(c['dtype'])}</td>"
            f"<td>{'yes' if c['nullable'] else ''}</td>"
            f"<td>{self.profile.get('columns', {}).get(c['name'], {}).get('missing', '')}</td></tr>"
            for c in self.schema)
        table = (f"<table><tr><th>column</th><th>dtype</th><th>nullable</th><th>missing</th></tr>"
                 f"{rows}</table>") if rows else ""
        return (f"<div><b>{html.escape(self.ref)}</b> · {self.kind} ({self.format}) · "
                f"{self.rows if self.rows is not None else '–'} rows · {self.size:,} bytes · "
                f"<code>{self.digest[:12]}</code>{table}</div>")


def version_dataset(data: Any, name: str, role: str | None = None, copy: bool = True,
                    index: bool = False, executor: Any = None) -> DatasetVersion:
    """Version `data` (a DataFrame, a file or a folder; a string is always a path) under
    `name`. The same content returns the existing version; new content becomes the next
    version. With `copy=False` a file or folder is tracked where it is, by digest. Inside a
    run it is recorded as an input (`role`: train, test, reference…).

    A folder of parquet files (a partitioned dataset, hive-style `key=value` subfolders
    allowed) is a table: its profile is computed one partition at a time, here or on the Dask
    cluster `executor` names (whose workers read the folder where it is), never loading it
    whole; quantiles come from a merged KLL sketch and state their rank error."""
    from .fingerprint import StatCache, folder_digest, folder_files, frame_digest
    from .profile import PROFILE_VERSION, describe, describe_partitioned

    name = refs.check_name(name, "dataset name")
    store = get_store()
    files: list[tuple[str, str, int]] = []
    payload: Any = None
    blob_stored = False
    table = None  # a folder of parquet files: its partitions
    if _is_frame(data):
        if not copy:
            raise MLOpsUsageError("copy=False is for files and folders; a DataFrame is stored")
        digest, kind, fmt = frame_digest(data, index=index), "frame", "parquet"
        frame, source = data, None
    elif isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise MLOpsUsageError(f"no file or folder at {path}")
        cache = StatCache(config.load().mlops_dir / "cache" / "stat.sqlite")
        source = str(path.resolve())
        if path.is_dir():
            files = folder_files(path, cache)
            digest, kind, fmt, frame = folder_digest(files), "folder", "folder", None
            size = sum(s for _, _, s in files)
            table = _partitioned_folder(path, files)
            if table is not None:
                fmt = "parquet"
        else:
            kind, fmt = "file", TABULAR.get(path.suffix.lower(), "bytes")
            frame = _read_table(path, fmt) if fmt != "bytes" else None
            digest, st = cache.lookup(path)
            if digest is None and copy:  # one read: hash while copying into the store
                digest, size = store.artifacts.put_file(path)
                cache.remember(path, st, digest)
                blob_stored = True
            elif digest is None:
                digest, size = cache.digest(path)
            else:
                size = st.st_size
        payload = path
    else:
        raise MLOpsUsageError(
            f"cannot version a {type(data).__name__}: give a DataFrame, a file or a folder")
    existing = _find(store, name, digest=digest)
    if existing is not None:
        link_input(store, existing, role)
        return existing
    blob = None
    if kind == "frame":  # parquet is written on a thread while the profile is computed
        from concurrent.futures import ThreadPoolExecutor

        buf = io.BytesIO()
        with ThreadPoolExecutor(1) as pool:
            written = pool.submit(frame.to_parquet, buf, compression="zstd", index=index)
            schema, profile = describe(frame)
            written.result()
        blob, size = store.artifacts.put_bytes(buf.getvalue())
    elif table is not None:
        schema, profile = describe_partitioned(table, executor)
    else:
        schema, profile = describe(frame) if frame is not None else ([], {"version": PROFILE_VERSION,
                                                                          "rows": None})
    if copy and kind == "file":
        blob = digest
        if not blob_stored:
            store.artifacts.put_files([(payload, digest, size)])
    elif copy and kind == "folder":
        store.artifacts.put_files([(payload / rel, d, n) for rel, d, n in files])
    from ..tracking.fluent import active_run

    run = active_run()
    row = {"digest": digest, "kind": kind, "format": fmt, "blob_digest": blob,
           "source_path": source, "copied": bool(copy), "size": int(size),
           "rows": profile["rows"], "schema": json.dumps(schema),
           "profile": json.dumps(profile), "created_at": time.time(),
           "run_id": run.id if run else None}
    version = _insert(store, name, row, files)
    link_input(store, version, role)
    return version


def _partitioned_folder(path: Path, files: list[tuple[str, str, int]]) -> Any:
    """The partitions of a folder whose files are all parquet (hidden and `_` files such as
    `_SUCCESS` aside), their footers read and checked; None for any other folder."""
    from .partitions import from_files, is_partition

    visible = [rel for rel, _, _ in files
               if not any(p.startswith(("_", ".")) for p in rel.split("/"))]
    if not visible or not all(is_partition(rel) for rel in visible):
        return None
    return from_files(str(path), [((path / rel).as_posix(), rel) for rel in visible])


def partitioned_version(version: DatasetVersion) -> Any:
    """The partitions of a folder version of parquet files, read where they are: the stored
    blobs (workers reach them through the artifact store), or the tracked folder of a version
    made with copy=False (checked unchanged first)."""
    from .partitions import from_files, is_partition

    if version.kind != "folder" or version.format != "parquet":
        raise MLOpsUsageError(f"dataset {version.ref} is not a folder of parquet files")
    store = get_store()
    folder = Path(store.artifacts.root) if version.copied else local_path(version)
    rows = [(_inside(folder, rel, version), rel, digest)  # each path checked before use
            for rel, digest in _folder_rows(store, version)]
    return from_files(f"dataset {version.ref}", [
        (store.artifacts.url(digest) if version.copied else path.as_posix(), rel)
        for path, rel, digest in rows if is_partition(rel)])


def _folder_rows(store, version: DatasetVersion) -> list[tuple[str, str]]:
    """(relative path, digest) of each file of a folder version, each digest checked to be
    one (the paths are the caller's to check against the folder they name a file in)."""
    with store.read() as conn:
        rows = conn.execute(select(dataset_files.c.path, dataset_files.c.digest)
                            .join(dataset_versions,
                                  dataset_versions.c.id == dataset_files.c.version_id)
                            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                            .where(datasets.c.name == version.name,
                                   dataset_versions.c.version == version.version)).all()
    return [(rel, _digest_part(digest, version)) for rel, digest in rows]


def _is_frame(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def _read_table(path: Path, fmt: str) -> pd.DataFrame:
    import pandas as pd

    try:
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            return pd.read_csv(path, engine="pyarrow")
        return pd.read_json(path, lines=True)
    except Exception as exc:
        raise MLOpsUsageError(f"{path} does not read as {fmt}: {exc}") from None


def _insert(store, name: str, row: dict, files: list) -> DatasetVersion:
    """Add the next version of `name` (created if new) in one transaction."""
    from sqlalchemy.exc import IntegrityError as SAIntegrityError

    for _attempt in range(5):  # another process may take the same number: try the next
        try:
            with store.write("dataset", name, "versioned") as conn:
                ds_id = conn.execute(select(datasets.c.id).where(datasets.c.name == name)).scalar()
                if ds_id is None:
                    ds_id = conn.execute(datasets.insert().values(
                        name=name, created_at=time.time(), created_by=store.actor)
                    ).inserted_primary_key[0]
                number = conn.execute(select(func.coalesce(func.max(dataset_versions.c.version), 0))
                                      .where(dataset_versions.c.dataset_id == ds_id)).scalar() + 1
                version_id = conn.execute(dataset_versions.insert().values(
                    dataset_id=ds_id, version=number, created_by=store.actor, **row)
                ).inserted_primary_key[0]
                if files:
                    conn.execute(dataset_files.insert(), [
                        {"version_id": version_id, "path": rel, "digest": d, "size": s}
                        for rel, d, s in files])
            return _entity(name, {**row, "version": number})
        except SAIntegrityError:
            continue
    raise MLOpsUsageError(f"could not number a new version of {name!r}: too many writers at once")


def _entity(name: str, row: Any) -> DatasetVersion:
    return DatasetVersion(
        name=name, version=row["version"], digest=row["digest"], kind=row["kind"],
        format=row["format"], size=row["size"], rows=row["rows"],
        schema=json.loads(row["schema"]), profile=json.loads(row["profile"]),
        created_at=row["created_at"], run_id=row["run_id"], copied=row["copied"],
        source_path=row["source_path"])


def _find(store, name: str, version: int | None = None, digest: str | None = None,
          prefix: bool = False) -> DatasetVersion | None:
    query = (select(dataset_versions).join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
             .where(datasets.c.name == name))
    if version is not None:
        query = query.where(dataset_versions.c.version == version)
    if digest is not None:
        query = query.where(dataset_versions.c.digest.like(digest + "%") if prefix
                            else dataset_versions.c.digest == digest)
    query = query.order_by(dataset_versions.c.version.desc()).limit(2)
    with store.read() as conn:
        rows = conn.execute(query).mappings().all()
    if prefix and len(rows) > 1 and rows[0]["digest"] != rows[1]["digest"]:
        raise MLOpsUsageError(f"digest prefix {digest} matches several versions of {name!r}")
    return _entity(name, rows[0]) if rows else None


def get_version(ref: str) -> DatasetVersion:
    """The dataset version a reference names: name@3, name@latest, name@sha:1a2b3c4d."""
    parsed = refs.parse(ref)
    if parsed.kind not in (None, "dataset"):
        raise MLOpsUsageError(f"{ref!r} is not a dataset reference")
    if parsed.alias:
        raise MLOpsUsageError(f"datasets have no aliases: use {parsed.name}@N, @latest or @sha:…")
    store = get_store()
    found = _find(store, parsed.name, version=parsed.version, digest=parsed.digest,
                  prefix=parsed.digest is not None)
    if found is None:
        with store.read() as conn:
            known = conn.execute(select(datasets.c.id).where(datasets.c.name == parsed.name)).first()
        raise NotFoundError(f"no dataset named {parsed.name!r}" if not known
                            else f"dataset {parsed.name!r} has no version {ref.split('@', 1)[-1]}")
    return found


def load_dataset(ref: str, as_path: bool = False) -> Any:
    """A DataFrame for DataFrames and tabular files (csv, parquet, json lines), else (or with
    `as_path=True`) a local path. Bytes are checked against their digest; a file tracked with
    copy=False that changed since is refused with a clear message. In the replay of a run
    (`reproduce_run`), a bare name is the version that run read."""
    version = get_version(_pinned(ref))
    data = read_version(version, as_path)
    _note_read(version)
    return data


def load_partitions(ref: str) -> Any:
    """What `load_dataset` gives for a folder of parquet files, without loading it: its
    partitions (`partitioned_version`), the read recorded as `load_dataset` records it; any
    other version is None (load it)."""
    version = get_version(_pinned(ref))
    if version.kind != "folder" or version.format != "parquet":
        return None
    parts = partitioned_version(version)
    _note_read(version)
    return parts


def _note_read(version: DatasetVersion) -> None:
    """An input of the active run (or of the runs this session starts), and a read of the
    feature view being computed, if any."""
    from ..reads import record_read

    link_input(get_store(), version, None, read=True)
    record_read(f"dataset:{version.ref}")  # a feature view being computed read this version


def _pinned(ref: str) -> str:
    """A bare dataset name as the version a reproduced run read (a replay sets
    MLOPS_DATASET_PINS to {name: "name@N"}, see repro/replay.py); anything else as given."""
    pins = os.environ.get("MLOPS_DATASET_PINS")
    if not pins:
        return ref
    parsed = refs.parse(ref)
    bare = parsed.version is None and not parsed.latest and not parsed.alias and not parsed.digest
    if parsed.kind not in (None, "dataset") or not bare:
        return ref
    return json.loads(pins).get(parsed.name, ref)


def read_version(version: DatasetVersion, as_path: bool = False) -> Any:
    """What `load_dataset` gives, without recording the read as an input of the active run
    (for reads the library makes on its own, such as drift sketches)."""
    path = local_path(version)
    if version.kind == "frame" and not as_path:
        import pandas as pd

        return pd.read_parquet(path)
    if version.kind == "file" and version.format != "bytes" and not as_path:
        return _read_table(path, version.format)
    return str(path)


def _digest_part(digest: Any, version: DatasetVersion) -> str:
    """A digest read from the store, checked to be one before it names a file."""
    if not isinstance(digest, str) or not HEX_DIGEST.fullmatch(digest):
        raise StoreError(f"dataset {version.ref}: the store holds {digest!r} where a digest "
                         "(64 hex characters) belongs: the row was altered; nothing was read "
                         "or written")
    return digest


def _inside(folder: Path, rel: Any, version: DatasetVersion) -> Path:
    """`folder / rel` for a relative path read from the store, checked before the join to
    stay inside `folder`: no absolute path, drive letter, NUL, `.` or `..` part (either
    separator counts)."""
    parts = re.split(r"[\\/]", rel) if isinstance(rel, str) else []
    if (not parts or "\0" in rel or rel.startswith(("/", "\\")) or DRIVE.match(rel)
            or any(p in ("", ".", "..") for p in parts)):
        raise StoreError(f"dataset {version.ref}: the store lists the file {rel!r}, which is not "
                         "a plain relative path inside the dataset's folder; the row was "
                         "altered, nothing was written")
    path = folder / rel
    if not path.resolve().is_relative_to(folder.resolve()):
        raise StoreError(f"dataset {version.ref}: the file {rel!r} leads outside the dataset's "
                         "folder; nothing was written")
    return path


def local_path(version: DatasetVersion) -> Path:
    """A local path holding the version's bytes, checked against its digest: the tracked file
    or folder itself for a version made with copy=False (refused if it changed since), else a
    copy fetched once from the artifact store into `.mlops/cache/datasets/` (a DataFrame as
    parquet, a file with its format's suffix, so readers such as DuckDB recognise it)."""
    from .fingerprint import StatCache, folder_digest, folder_files

    store = get_store()
    mlops_dir = config.load().mlops_dir
    cache = StatCache(mlops_dir / "cache" / "stat.sqlite")
    if not version.copied:
        path = Path(version.source_path or "")
        if not path.exists():
            raise IntegrityError(f"{version.ref} was tracked at {path}, which is gone")
        digest = (folder_digest(folder_files(path, cache)) if path.is_dir()
                  else cache.digest(path)[0])
        if digest != version.digest:
            raise IntegrityError(
                f"{path} changed since {version.ref} was versioned (digest "
                f"{version.digest[:12]}…, now {digest[:12]}…): version it again, or restore it")
        return path
    target = mlops_dir / "cache" / "datasets" / _digest_part(version.digest, version)
    if version.kind == "folder":
        files = [(_inside(target, rel, version), digest)
                 for rel, digest in _folder_rows(store, version)]  # all checked before writing
        for dest, digest in files:
            if not dest.exists() or cache.digest(dest)[0] != digest:
                store.artifacts.get_file(digest, dest)
        return target
    suffix = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}.get(version.format, "")
    with store.read() as conn:
        blob = conn.execute(select(dataset_versions.c.blob_digest)
                            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
                            .where(datasets.c.name == version.name,
                                   dataset_versions.c.version == version.version)).scalar()
    dest = target.with_suffix(suffix) if suffix else target
    blob = _digest_part(blob, version)
    if not dest.exists() or cache.digest(dest)[0] != blob:
        store.artifacts.get_file(blob, dest)
    return dest


def link_input(store, version: DatasetVersion, role: str | None, read: bool = False) -> None:
    """Record the version as an input of the active run (once per role); a version `read`
    (loaded) with no active run, as an input of the runs this process starts later."""
    from ..tracking.fluent import active_run, remember_input

    run = active_run()
    ref = f"dataset:{version.ref}"
    if run is None:
        if read:  # loaded before a run: the runs this session starts later read it too
            remember_input(store.uri, "dataset", ref, role)
        return
    with store.write("run", run.id, "inputs") as conn:
        seen = conn.execute(select(run_links.c.id).where(
            run_links.c.run_id == run.id, run_links.c.direction == "input",
            run_links.c.kind == "dataset", run_links.c.ref == ref,
            (run_links.c.role == role) if role is not None else run_links.c.role.is_(None),
        )).first()
        if seen is None:
            conn.execute(run_links.insert().values(
                run_id=run.id, direction="input", kind="dataset", ref=ref, role=role,
                created_at=time.time()))


def list_datasets(name: str | None = None) -> pd.DataFrame:
    """Every dataset with its number of versions and latest version; or, given `name`, its
    versions (version, digest, kind, format, rows, size, created, run)."""
    import pandas as pd

    store = get_store()
    with store.read() as conn:
        if name is None:
            rows = conn.execute(
                select(datasets.c.name, func.count(dataset_versions.c.id),
                       func.max(dataset_versions.c.version), func.max(dataset_versions.c.created_at))
                .join(dataset_versions, dataset_versions.c.dataset_id == datasets.c.id)
                .group_by(datasets.c.name).order_by(datasets.c.name)).all()
            frame = pd.DataFrame([tuple(r) for r in rows],
                                 columns=["name", "versions", "latest", "updated"])
            frame["updated"] = pd.to_datetime(frame["updated"].astype("float64"), unit="s",
                                              utc=True)
            return frame
        refs.check_name(name, "dataset name")
        rows = conn.execute(
            select(dataset_versions.c.version, dataset_versions.c.digest, dataset_versions.c.kind,
                   dataset_versions.c.format, dataset_versions.c.rows, dataset_versions.c.size,
                   dataset_versions.c.created_at, dataset_versions.c.run_id)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(datasets.c.name == name).order_by(dataset_versions.c.version)).all()
    if not rows:
        raise NotFoundError(f"no dataset named {name!r}")
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[
        "version", "digest", "kind", "format", "rows", "size", "created", "run_id"])
    frame["created"] = pd.to_datetime(frame["created"].astype("float64"), unit="s", utc=True)
    frame["rows"] = frame["rows"].astype("Int64")
    return frame


def pull_dataset(ref: str, dest: str | os.PathLike) -> Path:
    """Write a version out to `dest` (a DataFrame as parquet, a file as itself, a folder as a
    folder), checked against its digest. Returns the path written."""
    import shutil

    version = get_version(ref)
    source = local_path(version)
    dest = Path(dest)
    if dest.exists() and dest.is_dir() and version.kind != "folder":
        dest = dest / (f"{version.name}-{version.version}" + (source.suffix or ""))
    if version.kind == "folder":
        shutil.copytree(source, dest, dirs_exist_ok=True)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return dest
