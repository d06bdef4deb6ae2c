"""The dataset versions a run read, before it is replayed: each must still have every byte
in the artifact store (a replay that read something else would prove nothing), and a bare
`load_dataset(name)` in the replay must mean the version the run read (the pins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from ..config import redact
from ..errors import MLOpsUsageError
from ..store.tables import dataset_files, dataset_versions, datasets

if TYPE_CHECKING:
    from ..tracking.run import Run


def dataset_pins(run: Run) -> tuple[dict[str, str], list[str]]:
    """({name: "name@N"} for each dataset the run read at one version, notes); raises
    MLOpsUsageError naming the dataset, version and digest of the first missing blob (or
    the version itself, when it is gone)."""
    from ..data.versions import get_version
    from ..errors import NotFoundError

    read: dict[str, set[int]] = {}
    for link in run.inputs:
        if link.kind != "dataset" or not link.ref.startswith("dataset:"):
            continue
        ref = link.ref.split(":", 1)[1]
        try:
            version = get_version(ref)
        except NotFoundError as exc:
            raise MLOpsUsageError(f"run {run.id[:8]} read dataset {ref}, which is gone ({exc}): "
                                  "it cannot be reproduced; nothing was written") from None
        for digest in _blobs(run, version.name, version.version, version.copied):
            if not run.store.artifacts.exists(digest):
                raise MLOpsUsageError(
                    f"run {run.id[:8]} read dataset {version.name} version {version.version}, "
                    f"whose blob {digest} is missing from the artifact store "
                    f"{redact(run.store.artifacts.uri)}: it cannot be reproduced; nothing was "
                    "written")
        if not version.copied and not _exists(version.source_path):
            raise MLOpsUsageError(
                f"run {run.id[:8]} read dataset {version.name} version {version.version}, "
                f"tracked in place at {version.source_path}, which is gone: it cannot be "
                "reproduced; nothing was written")
        read.setdefault(version.name, set()).add(version.version)
    pins, notes = {}, []
    for name, versions in sorted(read.items()):
        if len(versions) == 1:
            pins[name] = f"{name}@{next(iter(versions))}"
        else:
            listed = ", ".join(str(v) for v in sorted(versions))
            notes.append(f"dataset {name}: the run read versions {listed}; a bare "
                         f"load_dataset({name!r}) in the replay is the latest version")
    return pins, notes


def _blobs(run: Run, name: str, version: int, copied: bool) -> list[str]:
    """Every digest the artifact store must hold for the version's bytes."""
    if not copied:
        return []
    with run.store.read() as conn:
        row = conn.execute(
            select(dataset_versions.c.id, dataset_versions.c.blob_digest)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(datasets.c.name == name, dataset_versions.c.version == version)).one()
        files = conn.execute(select(dataset_files.c.digest)
                             .where(dataset_files.c.version_id == row.id)
                             .order_by(dataset_files.c.path)).scalars().all()
    return [d for d in [row.blob_digest, *files] if d]


def _exists(path: str | None) -> bool:
    from pathlib import Path

    return bool(path) and Path(path).exists()
