"""A project store holding something of every kind the REST API serves, for the tests that walk
the whole API (tests/test_rest_schema.py): runs (nested, with params of every type, metric
histories, a non-finite metric, tags, artifacts; an AutoML search), datasets in two versions,
models with aliases and their history, registry events delivered to a hook (tests/webhook.py
receives them), feature views (tests/feature_views.py) with materializations, monitoring batches
with an alert rule and an alert, a pipeline with a run whose first step failed, and a run made
in IPython (so with a notebook snapshot) reproduced in a kernel.

`seed(mlops, root)` fills the store of the project at `root` (the current project) and returns
the names and ids the tests need (`Seeded`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
from feature_views import define
from webhook import Receiver


@dataclass
class Seeded:
    runs: list[str] = field(default_factory=list)
    parent: str = ""
    search: str = ""  # an AutoML search's parent run
    experiment: str = "wine"
    dataset: str = "wine-data"
    model: str = "wine-clf"
    view: str = "customers"
    batches: list[int] = field(default_factory=list)
    pipeline: str = "nightly"
    pipeline_run: str = ""
    step: str = ""
    reproduced: str = ""  # a run with a reproduction
    reproduction: str = ""
    hook: int = 0
    receiver: Receiver | None = None


def _notebook(path: Path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def seed(mlops, root: Path) -> Seeded:
    import plotly.graph_objects as go
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    out = Seeded()
    X, y = load_wine(return_X_y=True, as_frame=True)
    with mlops.start_run(name="search", experiment=out.experiment, tags={"team": "a"}) as parent:
        out.parent = parent.id
        for i, depth in enumerate((2, 3)):
            with mlops.start_run(name=f"depth={depth}", nested=True,
                                 params={"max_depth": depth, "min_samples": 0.5 + i,
                                         "criterion": "gini", "balanced": bool(i),
                                         "layers": [8, 4]}) as run:
                mlops.version_dataset(X, out.dataset, role="train")
                model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
                for step in range(20):
                    mlops.log_metric("loss", 1.0 / (step + 1 + i), step=step)
                mlops.log_metrics({"accuracy": model.score(X, y), "overflow": float("inf")})
                mlops.set_tags({"stage": "tuning", "note": "<b>text</b>"})
                mlops.log_artifact({"max_depth": depth}, name="config/params.json")
                mlops.log_figure(go.Figure(go.Scatter(y=[1, 2, 3])), "curve.json")
                mlops.register_model(model, out.model, alias="staging" if i else "production")
            out.runs.append(run.id)
    out.search = mlops.automl(X, y, n_trials=3, time_budget=None, cv=2, progress=False,
                              estimators=["linear"], experiment="search").run_id
    mlops.version_dataset(X.head(150), out.dataset, role="train")
    out.receiver = Receiver()
    out.hook = mlops.add_event_hook(["alias_moved"], webhook=out.receiver.url,
                                    model=out.model).id
    mlops.set_alias(out.model, "staging", 1, comment="back to the first")  # delivered
    out.receiver.wait(1)

    now = pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None)
    define(mlops, pd.DataFrame({
        "customer_id": [1, 1, 2], "ts": [now - pd.Timedelta(days=9), now - pd.Timedelta(days=2),
                                         now - pd.Timedelta(days=5)],
        "spend": [10.0, 12.5, 3.0], "segment": ["a", "b", "a"]}), now)

    clean = mlops.monitor(f"{out.model}@production", X, actuals=y, timestamp=time.time() - 60)
    mlops.add_alert(f"{out.model}@production", "drift_share > 0.1")
    shifted = mlops.monitor(f"{out.model}@production",
                            X.assign(alcohol=X.alcohol + 1.5, proline=X.proline * 1.6),
                            actuals=y)
    out.batches = [clean.id, shifted.id]

    _notebook(root / "notebooks" / "check.ipynb", "n = 1", "assert n > 2, 'n is too small'")
    _notebook(root / "notebooks" / "double.ipynb", "n = 1", "result = n * 2")
    mlops.export_pipeline(out.pipeline, steps=[  # one kernel: check fails, double never runs
        {"name": "check", "notebook": "notebooks/check.ipynb"},
        {"name": "double", "notebook": "notebooks/double.ipynb", "depends_on": ["check"]},
    ], params={"n": 2}, schedule="0 2 * * *")
    run = mlops.run_pipeline(out.pipeline, progress=False)
    out.pipeline_run, out.step = run.id, run.steps[0].id
    out.reproduced = _snapshot_run()
    out.reproduction = mlops.reproduce_run(out.reproduced, progress=False).id
    return out


def _snapshot_run() -> str:
    """A run made by a cell of an IPython shell: it keeps a notebook snapshot."""
    import atexit

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    from jupyter_mlops.tracking import fluent

    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=cfg)
    try:
        ip.run_cell("%load_ext jupyter_mlops", store_history=True)
        ip.run_cell("%%track -n replayed\nimport jupyter_mlops as mlops\n"
                    "mlops.log_metric('m', 1.0)", store_history=True)
        return ip.user_ns["mlops"].search_runs(filter="name = 'replayed'")["run_id"][0]
    finally:
        while fluent.active_run() is not None:
            fluent.end_run()
        atexit.unregister(ip.atexit_operations)
        InteractiveShell.clear_instance()
