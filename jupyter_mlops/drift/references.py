"""References by name: the stored sketches of a dataset version, or of a model version's
training data and predictions (captured at registration by the `on_register` hook, or on first
use for models registered before drift existed). Each is computed once and kept in
`drift_references`."""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import refs
from ..errors import MLOpsError, MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import datasets, drift_references, models
from .sketch import Reference, summarize

if TYPE_CHECKING:
    from ..registry.versions import ModelVersion


def _kind(parsed: refs.Ref, text: str) -> str:
    """model or dataset: by prefix, by alias (only models have them), else by which exists."""
    if parsed.kind in ("model", "dataset"):
        return parsed.kind
    if parsed.kind is not None:
        raise MLOpsUsageError(f"{text!r} is not a dataset or model reference")
    if parsed.alias:
        return "model"
    with get_store().read() as conn:
        is_data = conn.execute(select(datasets.c.id).where(datasets.c.name == parsed.name)).first()
        is_model = conn.execute(select(models.c.id).where(models.c.name == parsed.name)).first()
    if is_data and is_model:
        raise MLOpsUsageError(f"{parsed.name!r} is both a dataset and a model: write "
                              f"dataset:{text} or model:{text}")
    if not is_data and not is_model:
        raise NotFoundError(f"no dataset or model named {parsed.name!r}")
    return "dataset" if is_data else "model"


def stored_reference(text: str, executor: Any = None) -> Reference:
    """The sketches a reference names: "wine@3" (a dataset version) or "wine-clf@production"
    (the training data of the model version the alias points to). A dataset version that is a
    folder of parquet files is sketched one partition at a time, here or on the Dask cluster
    `executor` names, the first time it is used."""
    parsed = refs.parse(text)
    if _kind(parsed, text) == "model":
        from ..registry.versions import get_model_version

        return model_reference(get_model_version(str(refs.Ref(
            parsed.name, None, parsed.version, parsed.latest, parsed.alias, parsed.digest))))
    from ..data.versions import get_version, read_version

    version = get_version(str(refs.Ref(parsed.name, None, parsed.version, parsed.latest,
                                       parsed.alias, parsed.digest)))
    cached = _load("dataset", version.name, version.version)
    if cached is not None:
        return cached
    if version.kind == "folder" and version.format == "parquet":
        from ..data.versions import partitioned_version
        from .partials import sketch_partitioned

        reference = sketch_partitioned(partitioned_version(version), executor=executor,
                                       source=f"dataset {version.ref}")
        _save("dataset", version.name, version.version, reference)
        return reference
    frame = read_version(version)
    if not hasattr(frame, "columns"):
        raise MLOpsUsageError(f"dataset {version.ref} is not a table, so it has no columns to "
                              "measure drift on")
    reference = summarize(frame, source=f"dataset {version.ref}")
    _save("dataset", version.name, version.version, reference)
    return reference


def model_reference(version: ModelVersion) -> Reference:
    """The model version's stored training sketches, computed now from the training dataset
    its run recorded if it was registered before they were captured."""
    cached = _load("model", version.name, version.version)
    if cached is not None:
        return cached
    reference = training_reference(version.training_data, version.signature, version.ref,
                                   model=None, version=version)
    if reference is None:
        raise MLOpsUsageError(
            f"model {version.ref} has no training data recorded, so there is nothing to "
            "measure drift against: register it from a run that saved its training dataset "
            "(%dataset save … --role train), or pass the reference data as a DataFrame")
    _save("model", version.name, version.version, reference)
    return reference


def on_register(version: ModelVersion, model: Any) -> None:
    """The registration hook (entry point `jupyter_mlops.on_register`): store the new
    version's training sketches and its predictions on them now, so that monitoring never
    needs the training data again. Without recorded training data there is nothing to do."""
    if not version.training_data:
        return
    try:
        reference = training_reference(version.training_data, version.signature,
                                       f"model {version.name}", model=model)
    except MLOpsError as exc:
        warnings.warn(f"drift statistics of {version.name!r}'s training data were not captured "
                      f"({exc}); they will be computed when first needed", UserWarning,
                      stacklevel=4)
        return
    if reference is not None:
        _save("model", version.name, version.version, reference)


def training_reference(training_data: str | None, signature: Any, label: str,
                       model: Any = None, version: ModelVersion | None = None
                       ) -> Reference | None:
    """Sketches of a model's training dataset (restricted to the signature's inputs) and of
    its predictions on it, when the model can make them; None without a tabular dataset."""
    if not training_data:
        return None
    from ..data.versions import get_version, read_version

    frame = read_version(get_version(training_data.removeprefix("dataset:")))
    if not hasattr(frame, "columns"):
        return None
    columns = [c for c in (signature.columns if signature else frame.columns) if c in frame]
    predictions = None
    try:
        if model is None and version is not None:
            model = version.load()
        if model is not None and columns:
            predictions = model.predict(frame[columns])
    except Exception as exc:  # noqa: BLE001 - input drift is still worth keeping
        warnings.warn(f"the training predictions of {label} could not be computed ({exc}); "
                      "prediction drift will not be measured", UserWarning, stacklevel=3)
    return summarize(frame, columns, source=f"{label} training data ({training_data})",
                     predictions=predictions)


def _load(kind: str, name: str, version: int) -> Reference | None:
    store = get_store()
    with store.read() as conn:
        digest = conn.execute(select(drift_references.c.blob_digest).where(
            drift_references.c.kind == kind, drift_references.c.name == name,
            drift_references.c.version == version)).scalar()
    return None if digest is None else Reference.from_bytes(store.artifacts.get_bytes(digest))


def _save(kind: str, name: str, version: int, reference: Reference) -> None:
    """Store the sketches' bytes (content-addressed) and the row naming them."""
    store = get_store()
    digest, _ = store.artifacts.put_bytes(reference.to_bytes())
    try:
        with store.write(kind, name, "drift reference") as conn:
            conn.execute(drift_references.insert().values(
                kind=kind, name=name, version=version, blob_digest=digest, rows=reference.rows,
                columns=len(reference.columns), created_at=time.time()))
    except IntegrityError:
        pass  # another process stored the same sketches first
