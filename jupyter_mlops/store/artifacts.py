"""Content-addressed blobs over fsspec: a blob's name is the blake3 digest of its bytes, so the
same bytes are stored once, and every read checks the bytes against their name.

Local folders by default; any fsspec URL (s3://bucket/prefix, gs://…, az://…) for a team.
Every blob has a row in `blobs`, touched on each put; gc deletes a blob only with its row."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import redact
from ..errors import IntegrityError, StoreError
from .sql import upsert
from .tables import blobs

if TYPE_CHECKING:
    from . import Store

CHUNK = 1 << 22  # 4 MiB


def digest_bytes(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def digest_file(path: str | os.PathLike) -> tuple[str, int]:
    """blake3 of a file read in chunks (multi-threaded for large files), and its size."""
    from blake3 import blake3

    size = os.path.getsize(path)
    if size > 16 * CHUNK:  # 64 MiB and up: mapped, hashed on every core
        hasher = blake3(max_threads=blake3.AUTO)
        hasher.update_mmap(str(path))
    else:
        hasher = blake3()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                hasher.update(chunk)
    return hasher.hexdigest(), size


class ArtifactStore:
    """Blobs named by digest under one fsspec root."""

    def __init__(self, uri: str, store: Store):
        from fsspec.core import url_to_fs

        self.uri = uri
        self.store = store
        try:
            self.fs, self.root = url_to_fs(uri)
        except (ImportError, ValueError) as exc:
            raise StoreError(f"cannot use artifact store {redact(uri)}: {exc}") from None
        self.local = self.fs.protocol in ("file", "local") or "file" in self.fs.protocol
        if self.local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> str:
        return f"{self.root.rstrip('/')}/{digest[:2]}/{digest[2:]}"

    def url(self, digest: str) -> str:
        """The blob's location as fsspec opens it anywhere the store is reachable (a Dask
        worker reading a stored file where it is)."""
        return self.fs.unstrip_protocol(self.path(digest))

    def _touch(self, digest: str, size: int) -> None:
        stmt = upsert(self.store.dialect, blobs, ["digest"], ["touched_at"])
        with self.store.write() as conn:
            conn.execute(stmt, {"digest": digest, "size": size, "touched_at": time.time()})

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store `data` once; returns (digest, size)."""
        digest = digest_bytes(data)
        self._touch(digest, len(data))
        target = self.path(digest)
        if not self.fs.exists(target):
            if self.local:
                self._write_local(target, lambda fh: fh.write(data))
            else:
                self._remote(lambda: self.fs.pipe_file(target, data))
        return digest, len(data)

    def put_file(self, path: str | os.PathLike) -> tuple[str, int]:
        """Store a file's bytes once; (digest, size). A local store reads the file once,
        hashing while it copies; a remote one hashes first and uploads only new bytes."""
        if not self.local:
            digest, size = digest_file(path)
            self._touch(digest, size)
            target = self.path(digest)
            if not self.fs.exists(target):
                self._remote(lambda: self.fs.put_file(str(path), target))
            return digest, size
        tmp, digest, size = self._copy_hashing(path)
        self._touch(digest, size)  # before the existence check: see gc.py
        self._settle(tmp, digest)
        return digest, size

    def put_files(self, files: list[tuple[str | os.PathLike, str, int]]) -> None:
        """Store files whose (digest, size) are already known, e.g. from a stat cache: one
        transaction touches every blob; only missing blobs are read, each copy checked against
        its expected digest (a file that changed meanwhile is refused)."""
        if not files:
            return
        now = time.time()
        stmt = upsert(self.store.dialect, blobs, ["digest"], ["touched_at"])
        with self.store.write() as conn:
            conn.execute(stmt, [{"digest": d, "size": n, "touched_at": now}
                                for d, n in {d: n for _, d, n in files}.items()])
        todo = {d: p for p, d, _ in files if not self.fs.exists(self.path(d))}
        if not todo:
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(16, (os.cpu_count() or 2) * 2)) as pool:
            done = pool.map(lambda item: self._put_expected(*item), todo.items())
            if len(todo) > 500:
                from tqdm.auto import tqdm

                done = tqdm(done, total=len(todo), desc="storing", unit="file")
            list(done)

    def _put_expected(self, digest: str, path: str | os.PathLike) -> None:
        if not self.local:
            actual, _ = digest_file(path)
            if actual != digest:
                raise IntegrityError(f"{path} changed while it was being stored")
            self._remote(lambda: self.fs.put_file(str(path), self.path(digest)))
            return
        tmp, actual, _ = self._copy_hashing(path)
        if actual != digest:
            Path(tmp).unlink(missing_ok=True)
            raise IntegrityError(f"{path} changed while it was being stored")
        self._settle(tmp, digest)

    def _copy_hashing(self, path: str | os.PathLike) -> tuple[str, str, int]:
        """Copy `path` into a temporary file beside the blobs (the kernel's copy path), then
        hash what was stored, so the digest names the bytes the store really holds."""
        import shutil

        folder = os.path.join(self.root, ".tmp")
        os.makedirs(folder, exist_ok=True)
        # a new name, not a pre-created file: ext4 flushes a file truncated and rewritten on
        # close (auto_da_alloc), which cost as much as the copy itself
        tmp = os.path.join(folder, uuid.uuid4().hex)
        try:
            shutil.copyfile(path, tmp)
            digest, size = digest_file(tmp)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return tmp, digest, size

    def _settle(self, tmp: str, digest: str) -> None:
        """Move a verified temporary copy into place, or drop it when the blob exists."""
        target = self.path(digest)
        if os.path.exists(target):
            os.unlink(tmp)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(tmp, target)  # atomic: readers see the whole blob or none

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes, checked against its digest."""
        try:
            data = self.fs.cat_file(self.path(digest))
        except FileNotFoundError:
            raise StoreError(f"blob {digest[:12]}… is missing from {redact(self.uri)}") from None
        if digest_bytes(data) != digest:
            raise IntegrityError(f"blob {digest[:12]}… in {redact(self.uri)} does not match its digest")
        return data

    def get_file(self, digest: str, dest: str | os.PathLike) -> Path:
        """Copy a blob to `dest`, checking the digest as it streams."""
        from blake3 import blake3

        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        hasher = blake3()
        try:
            with self.fs.open(self.path(digest), "rb") as src, open(dest, "wb") as out:
                while chunk := src.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            raise StoreError(f"blob {digest[:12]}… is missing from {redact(self.uri)}") from None
        if hasher.hexdigest() != digest:
            dest.unlink(missing_ok=True)
            raise IntegrityError(f"blob {digest[:12]}… in {redact(self.uri)} does not match its digest")
        return dest

    def exists(self, digest: str) -> bool:
        return self.fs.exists(self.path(digest))

    def delete(self, digest: str) -> None:
        try:
            self.fs.rm_file(self.path(digest))
        except FileNotFoundError:
            pass

    def _write_local(self, target: str, write) -> None:
        folder = os.path.dirname(target)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            os.replace(tmp, target)  # atomic: readers see the whole blob or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _remote(self, call) -> None:
        try:
            call()
        except Exception as exc:
            raise StoreError(f"cannot write to artifact store {redact(self.uri)}: {exc}") from None

