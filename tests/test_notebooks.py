"""notebooks/quickstart.ipynb executed headless with papermill (the pipeline runner's way and
the plain papermill CLI), its runs then checked through the API; and the demo command.

Kernels run the installed copy of jupyter_mlops (reinstall after changing the package)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import error_line

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def copy_notebook(project: Path, name: str = "quickstart.ipynb") -> Path:
    folder = project / "notebooks"
    folder.mkdir(exist_ok=True)
    target = folder / name
    shutil.copy(NOTEBOOKS / name, target)
    return target


def assert_executed_cleanly(output: Path) -> dict:
    nb = json.loads(output.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    stderr = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
                     if o.get("name") == "stderr")
    assert "jupyter-mlops" not in stderr  # no soft failure reported by a magic
    assert nb["metadata"]["papermill"]["exception"] is None
    return nb


def check_quickstart_runs(mlops, *, n_estimators: int, epochs: int, max_depth: int,
                          injected: dict) -> dict:
    """The runs the quickstart makes, as the API sees them; returns {name: Run}."""
    everything = mlops.search_runs()
    # two runs and only two: no nested or stray runs from scikit-learn's internal fits
    assert sorted(everything["name"]) == ["forest", "sgd-epochs"]
    assert everything["parent_run_id"].isna().all()
    frame = mlops.search_runs(experiment="quickstart")
    assert len(frame) == 2
    runs = {name: mlops.get_run(rid) for name, rid in zip(frame["name"], frame["run_id"], strict=True)}

    for run in runs.values():
        assert run.status == "finished"
        assert run.experiment == "quickstart"
        assert run.info["notebook"] == "notebooks/quickstart.ipynb"
        assert run.tags["mlops.papermill"] == "true"
        for key, value in injected.items():  # papermill parameters, typed
            assert run.params[key] == value and type(run.params[key]) is type(value), key
        assert run.info["end_time"] >= run.info["start_time"]

    forest = runs["forest"]
    assert forest.params["n_estimators"] == n_estimators
    assert forest.params["max_depth"] == max_depth
    assert forest.params["criterion"] == "gini"  # autolog: the estimator's own params
    assert set(forest.metrics) == {"accuracy", "f1", "fit_time_s", "training_score"}
    assert 0.5 < forest.metrics["accuracy"] <= 1.0
    assert "model.skops" in forest.artifacts
    assert [(i.ref, i.role) for i in forest.inputs] == [("dataset:wine-train@1", "train")]
    assert forest.tags["mlops.estimator"].endswith("RandomForestClassifier")
    assert "RandomForestClassifier(n_estimators=n_estimators" in forest.source
    forest_cells = forest.cells()
    assert len(forest_cells) == 1 and forest_cells.success.all()

    sgd = runs["sgd-epochs"]
    assert sgd.params["epochs"] == epochs and sgd.params["loss"] == "log_loss"
    assert sgd.params["alpha"] == 1e-3
    assert sgd.tags["stage"] == "demo"
    history = sgd.metric_history("accuracy")
    assert list(history.step) == list(range(epochs))
    assert len(sgd.metric_history("train_accuracy")) == epochs
    assert sgd.metrics["accuracy"] == history.value.iloc[-1]
    assert "f1" in sgd.metrics
    cells = sgd.cells()
    assert len(cells) == 3 and cells.success.all()
    assert cells.source[0].startswith("%track start")
    assert "partial_fit" in cells.source[1]
    assert "%track metric f1=$sgd_f1" in cells.source[2]
    assert cells.execution_count.is_monotonic_increasing
    assert not cells.reexecuted.any() and not cells.out_of_order.any()
    return runs


@pytest.mark.slow
def test_quickstart_with_execute_notebook(mlops, project):
    from jupyter_mlops.pipelines.execute import execute_notebook

    notebook = copy_notebook(project)
    output = project / "out" / "quickstart.ipynb"
    params = {"n_estimators": 20, "epochs": 5, "max_depth": 3}
    execute_notebook(notebook, output, root=project, parameters=params, progress=False)
    assert "MLOPS_NOTEBOOK" not in os.environ  # execute_notebook restores the environment
    nb = assert_executed_cleanly(output)
    assert nb["metadata"]["papermill"]["parameters"] == params
    check_quickstart_runs(mlops, n_estimators=20, epochs=5, max_depth=3, injected=params)


@pytest.mark.slow
def test_quickstart_with_the_papermill_cli(mlops, project):
    """Plain `papermill in out -p …`: nothing tells the kernel the notebook's path but the
    papermill process's own command line (see tracking/capture.py)."""
    copy_notebook(project)
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_NOTEBOOK", "JPY_SESSION_NAME")}
    env["MLOPS_PROJECT_ROOT"] = str(project)
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", "-p", "epochs", "4", "notebooks/quickstart.ipynb",
         "out.ipynb", "-p", "n_estimators", "20", "--no-progress-bar"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_executed_cleanly(project / "out.ipynb")
    check_quickstart_runs(mlops, n_estimators=20, epochs=4, max_depth=4,
                          injected={"n_estimators": 20, "epochs": 4})


@pytest.mark.slow
def test_demo_runs_the_quickstart_and_says_what_the_store_holds(mlops, project, capsys):
    from jupyter_mlops.cli import main

    copy_notebook(project)
    copy_notebook(project, "models.ipynb")
    copy_notebook(project, "monitoring.ipynb")
    copy_notebook(project, "features.ipynb")
    copy_notebook(project, "automl.ipynb")
    copy_notebook(project, "mlflow.ipynb")
    folder = project / "notebooks"
    assert main(["demo", "--no-lab", "--notebooks", str(folder)]) == 0
    out = capsys.readouterr().out
    for name in ("quickstart.ipynb", "models.ipynb", "monitoring.ipynb", "features.ipynb",
                 "automl.ipynb", "mlflow.ipynb"):
        assert f"running {folder / name} with papermill" in out
        executed = project / ".mlops" / "demo" / name
        assert f"executed copy: {executed}" in out
        assert_executed_cleanly(executed)
    assert f"store:      sqlite:///{project.resolve()}/.mlops/mlops.db" in out
    assert "holds:      6 experiment(s), 31 run(s) (31 finished)" in out
    assert "4 model version(s), 3 alias move(s)" in out
    frame = mlops.search_runs(experiment="quickstart")
    assert sorted(frame["name"]) == ["forest", "sgd-epochs"]
    assert (frame["notebook"] == "notebooks/quickstart.ipynb").all()
    assert "starting jupyter lab" not in out
    # the monitoring notebook's week: drift grows until the alert rule fires
    history = mlops.drift_history("wine-clf").to_frame()
    assert len(history) == 7 and not history.drifted.iloc[0] and history.drifted.iloc[-1]
    assert history.alerts.iloc[-1] == 1 and history.alerts.iloc[0] == 0
    assert history["f1"].notna().all()
    # the features notebook: a SQL view over the transactions it versioned, materialized
    views = mlops.list_views()
    assert views.name.tolist() == ["spend"] and views.kind.tolist() == ["sql"]
    # the automl notebook: a search of 12 trials, resumed for 5 more, its winner registered
    searches = mlops.search_runs(experiment="automl", filter="tags.`mlops.automl` = 'search'")
    assert len(searches) == 2 and searches.parent_run_id.isna().all()
    trials = mlops.search_runs(experiment="automl", filter="tags.`mlops.automl.study` = "
                                                           "'cancer' and name LIKE 'trial-%'")
    assert len(trials) == 17 and set(trials.parent_run_id) == set(searches.run_id)
    assert mlops.get_model_version("cancer-clf@1").training_data.startswith(
        "dataset:cancer-train@")
    # the mlflow notebook: MLflow's autologger and registry through mlops:, an old store
    # imported (twice: the second adds nothing)
    grid = mlops.search_runs(experiment="mlflow-demo")
    assert len(grid) == 5 and (grid["notebook"] == "notebooks/mlflow.ipynb").all()
    champion = mlops.get_model_version("diabetes-enet@champion")
    assert champion.flavor == "mlflow" and champion.run_id in set(grid["run_id"])
    assert sorted(mlops.search_runs(experiment="legacy-churn")["name"]) == [
        "depth-3", "depth-5", "depth-8"]


@pytest.mark.slow
def test_models_notebook(mlops, project):
    """notebooks/models.ipynb: two versions from two runs, a gated release, a refused gate."""
    from jupyter_mlops.pipelines.execute import execute_notebook

    notebook = copy_notebook(project, "models.ipynb")
    output = project / "out" / "models.ipynb"
    execute_notebook(notebook, output, root=project, progress=False)
    nb = assert_executed_cleanly(output)
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "wine-clf@2 was not promoted to production: metrics.f1 = " in printed
    assert "missing proline; extra colour" in printed
    versions = mlops.list_models("wine-clf")
    assert versions["aliases"].tolist() == ["production", "staging"]
    history = mlops.alias_history("wine-clf")
    assert history["comment"].tolist() == ["first release", "for a shadow test"]
    v1 = mlops.get_model_version("wine-clf@production")
    assert v1.training_data == "dataset:wine-models-train@1"
    assert v1.signature.columns == [c for c in v1.signature.columns if c != "target"]
    assert v1.run.info["notebook"] == "notebooks/models.ipynb"
    upstream = {n.id for n in mlops.lineage("wine-clf/1").upstream()}
    assert {"notebook:notebooks/models.ipynb", "dataset:wine-models-train@1"} <= upstream


def test_demo_without_notebooks_is_bad_usage(project, capsys, tmp_path):
    from jupyter_mlops.cli import main

    assert main(["demo", "--no-lab", "--notebooks", str(tmp_path / "nowhere")]) == 2
    err = error_line(capsys.readouterr().err)
    assert err.startswith("jupyter mlops: error: no quickstart.ipynb, models.ipynb, "
                          "monitoring.ipynb, features.ipynb, automl.ipynb, mlflow.ipynb in ")
