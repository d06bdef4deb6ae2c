"""Pipelines: the spec and its checks, the local runner (parameters, parallel steps, failure,
retry, timeout, resume), the record it leaves, and the scheduler (an injected clock)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from conftest import cli

from jupyter_mlops.errors import MLOpsUsageError, NotFoundError

PREPARE = """import jupyter_mlops as mlops
from sklearn.datasets import load_wine
df = load_wine(as_frame=True).frame.head(rows)
with mlops.start_run(name="prepare"):
    mlops.version_dataset(df, "wine-rows", role="train")
"""
WORK = """import time, jupyter_mlops as mlops
started = time.time()
time.sleep(seconds)
if fail_marker and __import__("os").path.exists(fail_marker):
    raise RuntimeError("asked to fail")
with mlops.start_run(name=NAME):
    mlops.log_metrics({"started": started, "ended": time.time(), "rows": rows})
"""


def notebook(path: Path, parameters: str | None, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell(body))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def dag(project, mlops):
    """prepare, then train and evaluate in parallel."""
    nb = project / "notebooks"
    notebook(nb / "prepare.ipynb", "rows = 100", PREPARE)
    for name in ("train", "evaluate"):
        notebook(nb / f"{name}.ipynb", "rows = 100\nseconds = 3\nfail_marker = ''",
                 WORK.replace("NAME", repr(name)))
    return mlops.export_pipeline("wine", steps=[
        {"name": "prepare", "notebook": "notebooks/prepare.ipynb"},
        {"name": "train", "notebook": "notebooks/train.ipynb", "depends_on": ["prepare"],
         "params": {"fail_marker": str(project / "fail-train")}, "retries": 1,
         "retry_delay": "0.5s"},
        {"name": "evaluate", "notebook": "notebooks/evaluate.ipynb", "depends_on": ["prepare"]},
    ], params={"rows": 40})


def metrics_of(mlops, run_ids):
    return {mlops.get_run(r).name: mlops.get_run(r).metrics for r in run_ids}


@pytest.mark.slow
def test_a_dag_runs_in_order_with_parallel_steps_and_parameters(dag, mlops, project):
    result = mlops.run_pipeline("wine", params={"rows": 30}, progress=False)
    assert result.status == "finished" and result.trigger == "manual"
    latest = result.latest
    assert list(latest) == ["prepare", "train", "evaluate"] or set(latest) == {
        "prepare", "train", "evaluate"}
    assert all(s.status == "finished" and s.attempt == 1 for s in latest.values())
    assert latest["train"].params["rows"] == 30  # run time beats the pipeline's 40
    # the runs tracked inside each step are linked to it, and carry the injected parameters
    tracked = {name: s.runs for name, s in latest.items()}
    assert all(len(r) == 1 for r in tracked.values())
    train = mlops.get_run(tracked["train"][0])
    assert train.params["rows"] == 30 and train.tags["mlops.pipeline_run"] == result.id
    assert train.tags["mlops.step_run"] == latest["train"].id
    prepared = mlops.get_run(tracked["prepare"][0])
    assert [i.ref for i in prepared.inputs] == ["dataset:wine-rows@1"]
    assert mlops.load_dataset("wine-rows@1").shape[0] == 30
    # train and evaluate overlapped in time
    m = metrics_of(mlops, [tracked["train"][0], tracked["evaluate"][0]])
    assert m["train"]["started"] < m["evaluate"]["ended"]
    assert m["evaluate"]["started"] < m["train"]["ended"]
    # the executed notebook is kept
    executed = latest["train"].notebook()
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert "rows = 30" in "".join(c.source for c in executed.cells)
    # the step's run links that executed notebook, and keeps its own snapshot of the kernel
    assert train.notebook(executed=True) == executed
    snap = train.notebook()
    nbformat.validate(snap)
    # (IPython's history keeps a cell without its trailing newlines)
    assert [c.source for c in snap.cells] == [c.source.rstrip("\n") for c in executed.cells]
    assert snap.cells[1].metadata["tags"] == ["injected-parameters"]
    assert [bool(c.metadata.get("jupyter_mlops")) for c in snap.cells] == [False, False, True]
    assert snap.metadata.jupyter_mlops.step_run == latest["train"].id
    runs = mlops.list_pipeline_runs("wine")
    assert runs["run_id"].tolist() == [result.id] and runs["status"].tolist() == ["finished"]
    assert len(result.figure().data) == 1
    lin = mlops.lineage(result.id)  # pipeline → run → step → executed notebook → runs → data
    assert lin.root.kind == "pipeline_run"
    assert {"pipeline", "step", "executed_notebook", "run", "dataset"} <= {
        n.kind for n in lin.nodes.values()}


@pytest.mark.slow
def test_failure_stops_dependents_retry_and_resume(project, mlops):
    nb = project / "notebooks"
    notebook(nb / "a.ipynb", "seconds = 0\nfail_marker = ''\nrows = 1",
             WORK.replace("NAME", "'a'"))
    notebook(nb / "b.ipynb", "seconds = 0\nfail_marker = ''\nrows = 1",
             WORK.replace("NAME", "'b'"))
    marker = project / "fail-a"
    marker.write_text("x")
    mlops.export_pipeline("chain", notebooks=["notebooks/a.ipynb", "notebooks/b.ipynb"])
    spec = mlops.load_spec("chain")
    data = spec.model_dump()
    data["steps"][0].update(params={"fail_marker": str(marker)}, retries=1, retry_delay="0.2s")
    from jupyter_mlops.pipelines.spec import PipelineSpec, save_spec

    save_spec(PipelineSpec.model_validate(data))
    failed = mlops.run_pipeline("chain", progress=False)
    assert failed.status == "failed"
    attempts = failed.to_frame()
    assert attempts[["step", "attempt", "status"]].values.tolist() == [
        ["a", 1, "failed"], ["a", 2, "failed"]]
    assert "RuntimeError: asked to fail" in failed.latest["a"].error
    assert failed.latest["a"].failed_cell == 2  # the cell after the injected parameters
    assert failed.error == "step a failed; not run: b"
    marker.unlink()
    resumed = mlops.resume_pipeline(failed.id, progress=False)
    assert resumed.id == failed.id and resumed.status == "finished"
    assert [(s.step, s.attempt, s.status) for s in resumed.steps][-2:] == [
        ("a", 3, "finished"), ("b", 1, "finished")]
    with pytest.raises(NotFoundError, match="nothing to resume"):
        mlops.resume_pipeline(failed.id[:8], progress=False)


@pytest.mark.slow
def test_a_step_that_hangs_is_stopped_by_its_timeout(project, mlops):
    notebook(project / "slow.ipynb", "seconds = 120\nfail_marker = ''\nrows = 1",
             WORK.replace("NAME", "'slow'"))
    mlops.export_pipeline("slow", steps=[{"notebook": "slow.ipynb", "timeout": "4s"}])
    started = time.monotonic()
    result = mlops.run_pipeline("slow", progress=False)
    assert time.monotonic() - started < 60
    assert result.status == "failed" and result.latest["slow"].status == "timeout"
    assert "timed out after 4s" in result.latest["slow"].error


def test_bad_specs_get_one_clear_error(project, mlops):
    notebook(project / "a.ipynb", "x = 1", "y = x")
    notebook(project / "plain.ipynb", None, "y = 1")
    cases = [
        ({"steps": [{"name": "a", "notebook": "a.ipynb", "depends_on": ["b"]},
                    {"name": "b", "notebook": "a.ipynb", "depends_on": ["a"]}]},
         "the steps form a cycle: a -> b -> a"),
        ({"steps": [{"name": "a", "notebook": "a.ipynb", "depends_on": ["ghost"]}]},
         "depends on unknown step(s) ghost"),
        ({"steps": [{"name": "a", "notebook": "missing.ipynb"}]}, "no notebook at missing.ipynb"),
        ({"steps": [{"name": "a", "notebook": "plain.ipynb"}], "params": {"x": 1}},
         "has no cell tagged 'parameters'"),
        ({"steps": [{"name": "a", "notebook": "a.ipynb"}], "schedule": "every day"},
         "schedule: 'every day' is not a cron expression"),
        ({"steps": [{"name": "a", "notebook": "a.ipynb", "timeout": "soon"}]},
         "steps.0.timeout: 'soon' is not a duration"),
        ({"steps": [{"name": "a", "notebook": "/etc/a.ipynb"}]}, "is outside the project"),
        ({"steps": [{"name": "a", "notebook": "a.ipynb", "retry": 3}]},
         "steps.0.retry: Extra inputs are not permitted"),
    ]
    for extra, message in cases:
        with pytest.raises(MLOpsUsageError) as caught:
            mlops.export_pipeline("bad", **extra)
        assert message in str(caught.value), (message, str(caught.value))
    assert not (project / "pipelines" / "bad.yaml").exists()
    with pytest.raises(NotFoundError, match="no pipeline named 'ghost'"):
        mlops.run_pipeline("ghost")
    (project / "pipelines").mkdir(exist_ok=True)
    (project / "pipelines" / "broken.yaml").write_text("name: broken\nsteps: [1, 2\n")
    with pytest.raises(MLOpsUsageError, match="is not valid YAML"):
        mlops.load_spec("broken")
    mlops.export_pipeline("ok", notebooks=["a.ipynb"])
    with pytest.raises(MLOpsUsageError, match="has no parameter nope"):
        mlops.run_pipeline("ok", params={"nope": 1})


def test_the_scheduler_starts_due_runs_once(project, mlops):
    from datetime import datetime, timezone

    from jupyter_mlops.pipelines import scheduler

    notebook(project / "a.ipynb", "x = 1", "y = x")
    mlops.export_pipeline("nightly", notebooks=["a.ipynb"], schedule="0 2 * * *")
    started: list[str] = []
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc).timestamp()
    assert scheduler.tick(now=t0, start=started.append) == []  # learns the schedule
    assert scheduler.tick(now=t0 + 30 * 60, start=started.append) == []
    assert scheduler.tick(now=t0 + 3600 + 5, start=started.append) == ["nightly"]
    assert scheduler.tick(now=t0 + 3600 + 35, start=started.append) == []  # fired already
    # the scheduler was down for three days: one run on start, not three
    assert scheduler.tick(now=t0 + 3 * 86400 + 7200, start=started.append) == ["nightly"]
    assert started == ["nightly", "nightly"]
    table = scheduler.schedule_table()
    assert table[0]["schedule"] == "0 2 * * *" and table[0]["next_run"].startswith("2026-11-27T02:00")
    scheduler.set_schedule("nightly", "30 3 * * *", "Europe/Paris")
    assert mlops.load_spec("nightly").timezone == "Europe/Paris"
    assert scheduler.tick(now=t0 + 3 * 86400 + 7300, start=started.append) == []
    scheduler.set_schedule("nightly", None)
    assert scheduler.tick(now=t0 + 10 * 86400, start=started.append) == []
    assert scheduler.schedule_table()[0]["schedule"] is None


@pytest.mark.slow
def test_a_dead_kernel_fails_its_step_as_killed(project, mlops):
    """papermill's output notebook shows the dead cell as completed: the exception decides."""
    notebook(project / "die.ipynb", "x = 1",
             "import os, signal\nprint('about to die', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)")
    # a lone step without a timeout runs in the runner's process; with one, in its own
    for timeout in (None, "5m"):
        mlops.export_pipeline("die", steps=[{"notebook": "die.ipynb", "timeout": timeout}])
        started = time.monotonic()
        result = mlops.run_pipeline("die", progress=False)
        assert time.monotonic() - started < 60
        step = result.latest["die"]
        assert result.status == "failed" and step.status == "killed"
        assert "DeadKernelError" in step.error
        assert (step.output is not None) == (timeout is not None)  # a process's output kept


def test_the_example_pipeline_is_valid(monkeypatch, mlops):
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("MLOPS_PROJECT_ROOT", str(repo))
    spec = mlops.load_spec("wine")
    assert [s.notebook for s in spec.steps] == ["notebooks/quickstart.ipynb",
                                                "notebooks/models.ipynb"]
    assert spec.schedule == "0 2 * * *" and spec.ci_params


@pytest.mark.slow
def test_run_step_stopped_by_sigterm_closes_its_attempt_and_run(project, mlops):
    """What an Airflow timeout, an Argo deadline or a pod eviction does to a step."""
    import os
    import signal
    import subprocess
    import sys

    notebook(project / "slow.ipynb", "seconds = 120\nfail_marker = ''\nrows = 1",
             WORK.replace("NAME", "'slow'"))
    mlops.export_pipeline("ext", notebooks=["slow.ipynb"])
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_mlops.cli", "pipeline", "run-step",
                             "ext", "slow", "--run-id", "scheduled__2026-11-23T02:00:00"],
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while True:
        runs = mlops.list_pipeline_runs("ext")
        if len(runs):
            steps = mlops.get_pipeline_run(runs["run_id"][0]).steps
            if steps and steps[0].status == "running":
                break
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    time.sleep(3)  # into the notebook's sleep
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 3
    run = mlops.get_pipeline_run(runs["run_id"][0])
    assert run.trigger == "external" and run.status == "failed"
    assert run.latest["slow"].status == "killed" and "SIGTERM" in run.latest["slow"].error


SCORE = """import jupyter_mlops as mlops
with mlops.start_run(name="score"):
    mlops.log_metrics({"alpha": alpha, "rows": rows})
"""


@pytest.mark.slow
def test_a_notebooks_own_parameters_are_parameters_of_its_pipeline(project, mlops):
    """The notebook's `parameters` cell, as papermill reads it, gives a one-step pipeline its
    parameters: shown with their defaults, set by a run, a name it lacks still refused."""
    notebook(project / "score.ipynb", "alpha = 0.5  # the learning rate\nrows = 10", SCORE)
    mlops.export_pipeline("score", notebooks=["score.ipynb"])
    shown = mlops.pipeline_parameters("score")
    assert shown.to_dict("records") == [
        {"parameter": "alpha", "step": "score", "default": "0.5", "source": "notebook",
         "help": "the learning rate"},
        {"parameter": "rows", "step": "score", "default": "10", "source": "notebook",
         "help": ""}]
    result = mlops.run_pipeline("score", params={"alpha": 0.25}, progress=False)
    assert result.status == "finished" and result.latest["score"].params == {"alpha": 0.25}
    tracked = mlops.get_run(result.latest["score"].runs[0])
    assert tracked.metrics == {"alpha": 0.25, "rows": 10}  # the default where none was given
    with pytest.raises(MLOpsUsageError) as caught:
        mlops.run_pipeline("score", params={"alpha": 0.1, "beta": 1, "gamma": 2})
    assert str(caught.value) == ("pipeline 'score' has no parameter beta, gamma "
                                 "(it has: alpha, rows)")
    assert mlops.list_pipeline_runs("score")["run_id"].tolist() == [result.id]


def test_each_step_gets_the_run_values_of_the_parameters_it_has(dag, mlops, project, capsys):
    """A pipeline parameter goes to every step; a step's (in its spec or its notebook) only
    to the steps that have it; the defaults shown say where each comes from."""
    spec = mlops.load_spec("wine")
    given = {"rows": 5, "seconds": 0}
    assert spec.parameters(spec.step("prepare"), given) == {"rows": 5}
    assert spec.parameters(spec.step("train"), given) == {
        "rows": 5, "fail_marker": str(project / "fail-train"), "seconds": 0}
    assert spec.parameters(spec.step("evaluate"), given) == {"rows": 5, "seconds": 0}
    assert spec.parameters(spec.step("evaluate")) == {"rows": 40}
    rows = {(r["parameter"], r["step"]): (r["default"], r["source"])
            for r in mlops.pipeline_parameters("wine").to_dict("records")}
    assert rows == {
        ("rows", "prepare"): ("40", "pipeline"), ("rows", "train"): ("40", "pipeline"),
        ("rows", "evaluate"): ("40", "pipeline"),
        ("fail_marker", "train"): (repr(str(project / "fail-train")), "step"),
        ("fail_marker", "evaluate"): ("''", "notebook"),
        ("seconds", "train"): ("3", "notebook"), ("seconds", "evaluate"): ("3", "notebook")}
    with pytest.raises(MLOpsUsageError, match=r"has no parameter sleep \(it has: fail_marker, "
                                              r"rows, seconds\)"):
        mlops.run_pipeline("wine", params={"sleep": 0})
    # an orchestrator's step is refused the same way, before anything is recorded
    code, _, err = cli(capsys, "pipeline", "run-step", "wine", "prepare", "--run-id", "x",
                       "-p", "sleep=0")
    assert code == 2 and "has no parameter sleep" in err
    assert mlops.list_pipeline_runs("wine").empty


def test_ci_params_may_be_a_notebooks_parameters(project, mlops):
    notebook(project / "score.ipynb", "alpha = 0.5", SCORE)
    spec = mlops.export_pipeline("ci", notebooks=["score.ipynb"], ci_params={"alpha": 0.1})
    assert spec.ci_params == {"alpha": 0.1}
    with pytest.raises(MLOpsUsageError, match="ci_params beta are not parameters of the "
                                              "pipeline, of a step or of a step's notebook"):
        mlops.export_pipeline("ci2", notebooks=["score.ipynb"], ci_params={"beta": 1})
    assert not (project / "pipelines" / "ci2.yaml").exists()


def test_the_cli_passes_run_parameters_on_and_shows_every_parameter(project, mlops, capsys,
                                                                     monkeypatch):
    from types import SimpleNamespace

    from jupyter_mlops.pipelines import runner

    notebook(project / "score.ipynb", "alpha = 0.5  # the learning rate\nrows = 10", SCORE)
    mlops.export_pipeline("score", notebooks=["score.ipynb"], params={"rows": 20})
    calls = []
    monkeypatch.setattr(runner, "run_pipeline", lambda name, params=None, **options: (
        calls.append((name, params)), SimpleNamespace(status="finished"))[1])
    code, _, _ = cli(capsys, "pipeline", "run", "score", "-p", "alpha=0.25", "--quiet")
    assert code == 0 and calls == [("score", {"alpha": 0.25})]
    code, out, _ = cli(capsys, "pipeline", "show", "score")
    spec, table = out.split("\nparameters (")
    assert code == 0 and "notebook: score.ipynb" in spec
    assert re.search(r"^\s*rows\s+score\s+20\s+pipeline\s*$", table, re.M), table
    assert re.search(r"^\s*alpha\s+score\s+0.5\s+notebook\s+the learning rate$", table, re.M)
