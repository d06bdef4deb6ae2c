"""jupyter-mlops: the whole MLOps loop in the notebook.

`import jupyter_mlops as mlops` is cheap: public names resolve to their modules on first use,
so pandas, SQLAlchemy and plotly load only when something needs them.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module
from typing import Any


def _declared_version() -> str:
    """The version package.json declares (hatch's source): a source tree never built."""
    import json
    from pathlib import Path

    try:
        return json.loads((Path(__file__).parent.parent / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "dev"


try:
    from ._version import __version__
except ImportError:
    __version__ = _declared_version()

_API = {
    # tracking
    "start_run": "tracking.fluent",
    "end_run": "tracking.fluent",
    "active_run": "tracking.fluent",
    "set_experiment": "tracking.fluent",
    "log_param": "tracking.fluent",
    "log_params": "tracking.fluent",
    "log_metric": "tracking.fluent",
    "log_metrics": "tracking.fluent",
    "set_tag": "tracking.fluent",
    "set_tags": "tracking.fluent",
    "log_artifact": "tracking.fluent",
    "log_figure": "tracking.fluent",
    "flush": "tracking.fluent",
    "get_run": "tracking.fluent",
    "search_runs": "tracking.search",
    "run_fields": "tracking.columns",
    "runs_chart": "tracking.charts",
    "autolog": "tracking.autolog",
    "Run": "tracking.run",
    # data
    "version_dataset": "data.versions",
    "load_dataset": "data.versions",
    "DatasetVersion": "data.versions",
    "list_datasets": "data.versions",
    "diff_datasets": "data.diff",
    "validate": "data.validate",
    "lineage": "lineage",
    # models
    "register_model": "registry.versions",
    "load_model": "registry.versions",
    "get_model_version": "registry.versions",
    "list_models": "registry.versions",
    "ModelVersion": "registry.versions",
    "set_alias": "registry.aliases",
    "delete_alias": "registry.aliases",
    "promote": "registry.aliases",
    "alias_history": "registry.aliases",
    "compare_models": "registry.compare",
    "Signature": "registry.signature",
    "register_flavor": "registry.flavors",
    "score_batch": "serving.batch",
    "add_event_hook": "team.events",
    "event_hooks": "team.events",
    "remove_event_hook": "team.events",
    "registry_events": "team.events",
    "deliver_events": "team.events",
    # team stores: alias policies and promotion requests
    "set_alias_policy": "team.promotions",
    "alias_policies": "team.promotions",
    "request_promotion": "team.promotions",
    "approve": "team.promotions",
    "reject": "team.promotions",
    "promotion_requests": "team.promotions",
    # features
    "feature_view": "features.views",
    "FeatureView": "features.views",
    "get_view": "features.views",
    "list_views": "features.views",
    "materialize": "features.offline",
    "get_historical_features": "features.offline",
    "get_online_features": "features.online",
    "feature_catalog": "features.catalog",
    "describe_view": "features.catalog",
    # automl
    "automl": "automl.search",
    "AutoMLResult": "automl.result",
    # drift and monitoring
    "drift_report": "drift.report",
    "DriftReport": "drift.report",
    "monitor": "drift.monitor",
    "drift_history": "drift.history",
    "add_alert": "drift.alerts",
    "list_alerts": "drift.alerts",
    "remove_alert": "drift.alerts",
    # pipelines
    "export_pipeline": "pipelines.spec",
    "load_spec": "pipelines.spec",
    "run_pipeline": "pipelines.runner",
    "resume_pipeline": "pipelines.runner",
    "pipeline_parameters": "pipelines.params",
    "get_pipeline_run": "pipelines.status",
    "list_pipeline_runs": "pipelines.status",
    "PipelineRun": "pipelines.status",
    # experiments and housekeeping
    "list_experiments": "tracking.manage",
    "create_experiment": "tracking.manage",
    "delete_experiment": "tracking.manage",
    "restore_experiment": "tracking.manage",
    "delete_run": "tracking.manage",
    "restore_run": "tracking.manage",
    "compare_runs": "tracking.compare",
    # reproducibility
    "diff_runs": "repro.diff",
    "RunDiff": "repro.diff",
    "reproduce_run": "repro.reproduce",
    "get_reproduction": "repro.reproduce",
    "list_reproductions": "repro.reproduce",
    "Reproduction": "repro.reproduce",
    "gc": "store.gc",
    "get_store": "store",
    # the MLflow on-ramp: an MLflow store copied in
    "import_mlflow": "mlflow.importer",
    # reproducibility: a run's recorded packages rebuilt into an environment of their own
    "recorded_python": "repro.environments",
    "RecordedEnv": "repro.environments",
    # errors
    "MLOpsError": "errors",
    "MLOpsUsageError": "errors",
    "NotFoundError": "errors",
    "StoreError": "errors",
    "SchemaError": "errors",
    "FilterSyntaxError": "errors",
    "GateError": "errors",
    "AccessError": "errors",
    "EnvironmentBuildError": "errors",
}

__all__ = sorted(_API) + ["__version__", "load_ipython_extension"]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


class _Facade(types.ModuleType):
    """Importing a submodule sets it as an attribute of its package. Where a public function
    shares the submodule's name (`lineage`, `automl`), the name keeps meaning the function;
    the submodule stays in sys.modules, for `from jupyter_mlops.automl import search` and the
    like (not `import jupyter_mlops.automl.search as s`, which looks the name up)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade


def load_ipython_extension(ip: Any) -> None:
    """`%load_ext jupyter_mlops`: register the magics (their modules load on first use)."""
    from .magics import register_all

    register_all(ip)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension is (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import MLOpsApp

    return [{"module": "jupyter_mlops.server.app", "app": MLOpsApp}]
