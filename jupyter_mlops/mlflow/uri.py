"""What an `mlops` URI names: `mlops:` the current project (the settings in force, as every
other entry point resolves them), `mlops:///abs/path` the project in that folder, and
`mlops+postgresql://…` (or `mlops+sqlite:///…`) a store by its database URI, with the
artifact store the settings in force name.

Artifacts logged through MLflow live in the store's content-addressed artifact store; MLflow
sees them under `mlops-artifacts:/runs/<run id>` and `mlops-artifacts:/models/<model id>`,
resolved against the tracking URI (the store a run or model belongs to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    from ..store import Store

SCHEME = "mlops"
ARTIFACT_SCHEME = "mlops-artifacts"
# the schemes MLflow routes to this package (pyproject.toml's entry points name the same)
SCHEMES = ("mlops", "mlops+postgresql", "mlops+postgres", "mlops+sqlite")


def is_mlops_uri(uri: str | None) -> bool:
    return bool(uri) and uri.split(":", 1)[0] in SCHEMES


def store_for(uri: str) -> Store:
    """The store an `mlops` URI names, opened once per process."""
    from .. import config
    from ..store import open_store

    scheme, _, rest = uri.partition(":")
    if scheme == SCHEME:
        if rest in ("", "/", "//"):
            return open_store(config.load())
        parsed = urlparse(uri)
        if parsed.netloc or not parsed.path.startswith("/"):
            raise MLOpsUsageError(
                f"{uri!r} is not an mlops URI: use mlops: (the current project), "
                "mlops:///ABSOLUTE/PROJECT/FOLDER, or mlops+postgresql://… for a team store")
        return open_store(config.load(root=unquote(parsed.path)))
    if scheme in SCHEMES:
        database = scheme.split("+", 1)[1] + ":" + rest
        settings = config.load()
        return open_store(config.Settings({**settings.values, "store_uri": database},
                                          settings.sources))
    raise MLOpsUsageError(f"{uri!r} is not an mlops URI (schemes: {', '.join(SCHEMES)})")


def run_artifact_uri(run_id: str) -> str:
    return f"{ARTIFACT_SCHEME}:/runs/{run_id}"


def model_artifact_uri(model_id: str) -> str:
    return f"{ARTIFACT_SCHEME}:/models/{model_id}"


def experiment_artifact_uri(experiment_id: str) -> str:
    return f"{ARTIFACT_SCHEME}:/experiments/{experiment_id}"


def parse_artifact_uri(uri: str) -> tuple[str, str, str]:
    """(`runs` or `models`, the run or model id, the path below it) of an artifact URI. The id
    is "" for `mlops-artifacts:/runs` itself: MLflow splits an artifact URI into its parent and
    last part, so `…/models/<id>` is read as the path `<id>` below `…/models`."""
    parsed = urlparse(uri)
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.scheme != ARTIFACT_SCHEME or not parts or parts[0] not in ("runs", "models"):
        raise MLOpsUsageError(
            f"{uri!r} is not an mlops artifact URI ({ARTIFACT_SCHEME}:/runs/RUN_ID[/PATH] or "
            f"{ARTIFACT_SCHEME}:/models/MODEL_ID[/PATH])")
    return parts[0], parts[1] if len(parts) > 1 else "", "/".join(parts[2:])
