"""The `mlflow` model flavor of the registry: an MLflow model directory (MLmodel and its
files) kept as one blob, a tar archive made the same way every time, and loaded with MLflow
(the model's own flavor when MLflow has a loader for it, else pyfunc).

Loading an MLflow model can unpickle (scikit-learn's default format, pyfunc's cloudpickled
Python models, PyTorch): those load only with `allow_pickle`, like every pickle here. MLflow
is imported only to load."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..errors import MLOpsUsageError

# what an MLmodel flavor entry says when its files are pickles
_PICKLE_KEYS = ("pickled_model", "python_model", "cloudpickle_version", "pickle_module_name")


def pack(directory: str | os.PathLike) -> bytes:
    """The directory as a gzipped tar archive: sorted names, no times or owners, so the
    same files make the same bytes (and the same digest)."""
    root = Path(directory)
    if not (root / "MLmodel").is_file():
        raise MLOpsUsageError(f"{root} is not an MLflow model directory (no MLmodel file)")
    buf = io.BytesIO()
    import gzip

    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            with path.open("rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def unpack(data: bytes) -> Path:
    """The model directory of an archive, extracted once per content into a cache folder."""
    from ..store.artifacts import digest_bytes

    target = Path(tempfile.gettempdir()) / "jupyter-mlops-mlflow-models" / digest_bytes(data)
    if (target / "MLmodel").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(partial, filter="data")
    try:
        partial.rename(target)
    except OSError:  # another process extracted it first
        import shutil

        shutil.rmtree(partial, ignore_errors=True)
    return target


def needs_pickle_in(mlmodel: dict[str, Any]) -> bool:
    """Whether loading a model with this MLmodel content unpickles."""
    for conf in (mlmodel.get("flavors") or {}).values():
        if not isinstance(conf, dict):
            continue
        if any(key in conf for key in _PICKLE_KEYS):
            if conf.get("serialization_format") == "skops":
                continue
            return True
        if conf.get("serialization_format") in ("pickle", "cloudpickle"):
            return True
    return False


def _mlmodel(data: bytes) -> dict[str, Any]:
    import yaml

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        member = tar.extractfile("MLmodel")
        return yaml.safe_load(member.read()) if member else {}


class MlflowFlavor:
    """An MLflow model directory (a path, for `register_model(path, name, flavor="mlflow")`)."""

    name = "mlflow"
    safe = True  # but see needs_pickle: most MLflow models are pickles

    def accepts(self, model: Any) -> bool:
        return isinstance(model, (str, os.PathLike)) and (Path(model) / "MLmodel").is_file()

    def save(self, model: Any) -> tuple[bytes, list[str]]:
        return pack(model), []

    def needs_pickle(self, data: bytes) -> bool:
        return needs_pickle_in(_mlmodel(data))

    def load(self, data: bytes, trusted: list[str]) -> Any:
        """The model's own flavor's object (a scikit-learn estimator, an XGBoost booster…)
        when MLflow has a loader module for it, else MLflow's pyfunc model."""
        import importlib

        path = unpack(data)
        flavors = _mlmodel(data).get("flavors") or {}
        for flavor in flavors:
            if flavor == "python_function":
                continue
            try:
                module = importlib.import_module(f"mlflow.{flavor}")
            except ImportError:
                continue
            if hasattr(module, "load_model"):
                return module.load_model(str(path))
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(path))
