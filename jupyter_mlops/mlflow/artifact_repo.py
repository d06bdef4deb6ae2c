"""MLflow's artifact repository over the store's content-addressed artifact store: files
MLflow logs under `mlops-artifacts:/runs/<run id>[/path]` become the run's artifacts (the same
rows `log_artifact` writes), those under `mlops-artifacts:/models/<model id>` a logged model's.
The same bytes are stored once, whoever logs them."""

from __future__ import annotations

import os
import posixpath
import time
from pathlib import Path

from mlflow.entities import FileInfo
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from sqlalchemy import delete, select

from ..store import record_change
from ..store.sql import upsert
from ..store.tables import artifacts, logged_model_artifacts, logged_models, runs
from . import uri
from .convert import invalid, mlflow_errors, not_found


class MlopsArtifactRepository(ArtifactRepository):
    """The artifacts of one run or logged model, below a path."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None,
                 registry_uri: str | None = None):
        super().__init__(artifact_uri, tracking_uri=tracking_uri, registry_uri=registry_uri)
        self.kind, self.owner, self.prefix = uri.parse_artifact_uri(artifact_uri)
        if not uri.is_mlops_uri(tracking_uri):
            import mlflow

            tracking_uri = mlflow.get_tracking_uri()
        self.store_uri = tracking_uri if uri.is_mlops_uri(tracking_uri) else "mlops:"
        self.store = uri.store_for(self.store_uri)
        self.table = artifacts if self.kind == "runs" else logged_model_artifacts
        self.key = self.table.c.run_id if self.kind == "runs" else self.table.c.model_id

    def _below(self, path: str | None) -> tuple[MlopsArtifactRepository, str | None, str]:
        """(the repository of the run or model `path` is in, the path inside it, the prefix
        that makes its paths this repository's): itself, unless this is `…:/runs` or
        `…:/models` and `path` starts with the id."""
        if self.owner:
            return self, path, ""
        head, _, rest = (path or "").strip("/").partition("/")
        if not head:
            raise invalid(f"{self.artifact_uri} names no run or model: give its id as the path")
        inner = MlopsArtifactRepository(f"{uri.ARTIFACT_SCHEME}:/{self.kind}/{head}",
                                        tracking_uri=self.store_uri)
        return inner, rest or None, head + "/"

    def _name(self, *parts: str | None) -> str:
        """The artifact's name in the run (or model): this repository's path, then `parts`."""
        joined = posixpath.join(self.prefix, *[p for p in parts if p])
        name = posixpath.normpath(joined) if joined else ""
        if name in (".", ""):
            return ""
        if name == ".." or name.startswith(("../", "/")):
            raise invalid(f"artifact path {joined!r} leaves {self.artifact_uri}")
        return name

    def _check_owner(self, conn) -> None:
        table = runs if self.kind == "runs" else logged_models
        if conn.execute(select(table.c.id).where(table.c.id == self.owner)).first() is None:
            what = "Run" if self.kind == "runs" else "Logged model"
            raise not_found(f"{what} {self.owner} not found in {self.store.display_uri}")

    def _record(self, entries: list[tuple[str, str, int]]) -> None:
        from ..tracking.objects import media_type_of

        now = time.time()
        with self.store.write() as conn:
            self._check_owner(conn)
            if self.kind == "runs":
                conn.execute(upsert(self.store.dialect, artifacts, ["run_id", "name"],
                                    ["digest", "size", "media_type", "created_at"]), [
                    {"run_id": self.owner, "name": n, "digest": d, "size": s,
                     "media_type": media_type_of(n), "created_at": now} for n, d, s in entries])
            else:
                conn.execute(upsert(self.store.dialect, logged_model_artifacts,
                                    ["model_id", "name"], ["digest", "size", "created_at"]), [
                    {"model_id": self.owner, "name": n, "digest": d, "size": s,
                     "created_at": now} for n, d, s in entries])
            record_change(conn, "run" if self.kind == "runs" else "logged_model", self.owner,
                          "artifacts")

    def _put(self, files: list[tuple[str, Path]]) -> None:
        blobs = self.store.artifacts
        entries = [(name, *blobs.put_file(path)) for name, path in files]
        self._record(entries)
        for (_, path), (_, digest, _size) in zip(files, entries, strict=True):
            if not blobs.exists(digest):  # gc took it between the put and the row
                blobs.put_file(path)

    @mlflow_errors
    def log_artifact(self, local_file, artifact_path=None):
        repo, artifact_path, _ = self._below(artifact_path)
        if repo is not self:
            return repo.log_artifact(local_file, artifact_path)
        self._put([(self._name(artifact_path, os.path.basename(local_file)), Path(local_file))])

    @mlflow_errors
    def log_artifacts(self, local_dir, artifact_path=None):
        repo, artifact_path, _ = self._below(artifact_path)
        if repo is not self:
            return repo.log_artifacts(local_dir, artifact_path)
        root = Path(local_dir)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        self._put([(self._name(artifact_path, p.relative_to(root).as_posix()), p)
                   for p in files])

    def _rows(self, below: str):
        with self.store.read() as conn:
            stmt = select(self.table.c.name, self.table.c.size, self.table.c.digest).where(
                self.key == self.owner)
            if below:
                stmt = stmt.where(self.table.c.name.startswith(below + "/", autoescape=True)
                                  | (self.table.c.name == below))
            return conn.execute(stmt).all()

    @mlflow_errors
    def list_artifacts(self, path=None):
        """The files and folders directly below `path`, as MLflow lists them (paths relative
        to this repository's URI)."""
        repo, path, shown_prefix = self._below(path)
        if repo is not self:
            return [FileInfo(shown_prefix + f.path, f.is_dir, f.file_size)
                    for f in repo.list_artifacts(path)]
        below = self._name(path)
        start = len(self.prefix) + 1 if self.prefix else 0
        entries: dict[str, FileInfo] = {}
        for name, size, _digest in self._rows(below):
            if name == below:
                continue  # a file, not a folder: MLflow lists nothing below a file
            rest = name[len(below) + 1:] if below else name
            head, sep, _ = rest.partition("/")
            shown = (name[:len(below) + 1] if below else "") + head
            shown = shown[start:]
            entries[shown] = FileInfo(shown, True, None) if sep else FileInfo(shown, False, size)
        return sorted(entries.values(), key=lambda f: f.path)

    @mlflow_errors
    def _download_file(self, remote_file_path, local_path):
        repo, remote_file_path, _ = self._below(remote_file_path)
        if repo is not self:
            return repo._download_file(remote_file_path, local_path)
        name = self._name(remote_file_path)
        found = [r for r in self._rows(name) if r.name == name]
        if not found:
            raise not_found(f"No artifact {remote_file_path!r} under {self.artifact_uri}")
        self.store.artifacts.get_file(found[0].digest, local_path)

    @mlflow_errors
    def delete_artifacts(self, artifact_path=None):
        repo, artifact_path, _ = self._below(artifact_path)
        if repo is not self:
            return repo.delete_artifacts(artifact_path)
        below = self._name(artifact_path)
        with self.store.write() as conn:
            stmt = delete(self.table).where(self.key == self.owner)
            if below:
                stmt = stmt.where(self.table.c.name.startswith(below + "/", autoescape=True)
                                  | (self.table.c.name == below))
            conn.execute(stmt)
