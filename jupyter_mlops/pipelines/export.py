"""Export a pipeline spec to an orchestrator: Airflow, Argo Workflows, Kubernetes, GitHub Actions.

`export_pipeline_to(name, target)` writes the target's files under `pipelines/<name>/<target>/`
(or `out_dir`) and returns their paths. Every step still runs as `jupyter mlops pipeline
run-step` (or the whole DAG as `jupyter mlops pipeline run`), so the store records step runs,
tracked-run links and executed notebooks whatever runs them. The files are deterministic (the
same spec and options give the same bytes), name their spec in a header, use paths relative to
the project and carry no secret: store and artifact URIs come from the target's own secret
mechanism, by name (docs/pipelines.md, "Exports")."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from .. import config
from ..errors import MLOpsUsageError
from .spec import folder, load_spec

TARGETS = ("airflow", "argo", "k8s", "github")
# the options each target takes (anything else is refused, so a typo is not silently ignored)
OPTIONS = {"airflow": set(), "argo": {"image"}, "k8s": {"image"}, "github": {"promote"}}
SHARED_STORE = {"argo", "k8s"}  # their steps run in pods that must reach one store


def export_pipeline_to(name: str, target: str, out_dir: str | Path | None = None,
                       **options: Any) -> list[Path]:
    """Write pipeline `name` as files for `target` (airflow, argo, k8s or github); returns the
    paths written.

    Options: `image` (argo and k8s, required: the container image holding the project and
    jupyter-mlops); `promote` (github: `{"model": NAME, "alias": "production", "require":
    "metrics.f1 >= production.metrics.f1"}` promotes the latest version of NAME after a
    scheduled or manual run when the gate holds; alias defaults to production, require to
    none)."""
    if target not in TARGETS:
        raise MLOpsUsageError(f"unknown export target {target!r}; known: {', '.join(TARGETS)}")
    spec = load_spec(name)  # NotFoundError for an unknown pipeline, naming the known ones
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - OPTIONS[target])
    if unknown:
        takes = ", ".join(sorted(OPTIONS[target])) or "no options"
        raise MLOpsUsageError(f"export to {target} does not take {', '.join(unknown)} "
                              f"(it takes {takes})")
    if target in SHARED_STORE:
        _check_shared(target, options)
    files = import_module(f".exporters.{target}", __package__).render(spec, options)
    out = Path(out_dir) if out_dir is not None else folder() / name / target
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in files.items():
        path = out / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _check_shared(target: str, options: dict[str, Any]) -> None:
    """Pods on a cluster cannot share the project's embedded SQLite file: refuse clearly."""
    what = {"argo": "Argo Workflows", "k8s": "Kubernetes"}[target]
    image = options.get("image")
    if not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        raise MLOpsUsageError(
            f"export to {target} needs --image (image=...): the container image that holds this "
            f"project and jupyter-mlops, which {what} runs each step in")
    store = config.load().store_uri
    if str(store).startswith("sqlite"):
        raise MLOpsUsageError(
            f"export to {target} needs a shared store: this project uses the embedded SQLite "
            f"store, which pods on {what} cannot share. Set store_uri to PostgreSQL and "
            "artifact_uri to object storage (MLOPS_STORE_URI / MLOPS_ARTIFACT_URI, or "
            "[tool.jupyter-mlops] in pyproject.toml), then export again")
