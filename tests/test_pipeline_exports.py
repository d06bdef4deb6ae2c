"""Pipeline exports (Airflow, Argo, Kubernetes, GitHub Actions), checked by the targets' own tools.

The tools live in environments outside the clone that `scripts/validators.sh` builds and reuses
(`./scripts/test` runs it first); the tests ask it where they are (`--print`). Without one a test
skips, saying what to run, except under CI=true, where that is a failure. Nothing here runs on a
cluster: Airflow's `dags test` does execute the notebooks, locally, into the project's store, and
the GitHub workflow's shell steps are run here with bash against the project's store."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import error_line

from jupyter_mlops.cli import main
from jupyter_mlops.errors import MLOpsUsageError, NotFoundError

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "registry.example.com/acme/wine:1.4"
SECRET_STORE = "postgresql://mlops:hunter2-not-for-files@db.internal.example:5432/mlops"
SECRET_ARTIFACTS = "s3://bucket-secret-7f3a/mlops"
PROMOTE = {"model": "wine-clf", "alias": "production",
           "require": "production.version IS NULL or metrics.f1 >= production.metrics.f1"}
ARGO_NAME = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$")  # Argo's rule for task/template names

STEP_BODY = """import jupyter_mlops as mlops
with mlops.start_run(name=STEP):
    mlops.log_metrics({"rows": rows})
    mlops.log_params({"label": label})
"""
CLF_BODY = """import pandas as pd, jupyter_mlops as mlops
from sklearn.dummy import DummyClassifier
X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
with mlops.start_run(name="fit"):
    mlops.log_metric("f1", score)
    mlops.register_model(DummyClassifier().fit(X, [0, 0, 1, 1]), "wine-clf", signature=X)
"""


# ---------------------------------------------------------------------------------------------
# the validator environments


@functools.cache
def validators() -> dict[str, str]:
    """NAME=PATH for each complete validator environment, as scripts/validators.sh prints it."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "validators.sh"), "--print"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def need(key: str) -> str:
    path = validators().get(key)
    if path:
        return path
    message = f"no {key} environment: run scripts/validators.sh (it builds it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; under CI=true a missing validator is a failure")
    pytest.skip(message)


def validator_python(code: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `code` with the validators venv's python; its JSON answer in .stdout."""
    python = Path(need("MLOPS_VALIDATORS_VENV")) / "bin" / "python"
    return subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def airflow_env(home: Path, dags: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__LOAD_EXAMPLES="False")
    return env


# ---------------------------------------------------------------------------------------------
# a project with pipelines to export


def notebook(path: Path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells += [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def wine(project, mlops):
    """prepare -> train_model, scheduled in Europe/Paris; and `Odd Name v2`, unscheduled, whose
    names need care everywhere (steps a_b and a-b, a space, quotes in the description)."""
    from jupyter_mlops.pipelines.scheduler import set_schedule

    for name in ("prepare", "train"):
        notebook(project / "notebooks" / f"{name}.ipynb",
                 f"rows = 100\nlabel = 'nb'\nSTEP = {name!r}", STEP_BODY)
    mlops.export_pipeline("wine", description="Wine: prepare the rows, then train", steps=[
        {"name": "prepare", "notebook": "notebooks/prepare.ipynb"},
        {"name": "train_model", "notebook": "notebooks/train.ipynb", "depends_on": ["prepare"],
         "params": {"rows": 50}, "retries": 2, "retry_delay": "5s", "timeout": "10m"},
    ], params={"rows": 40, "label": "wine"}, ci_params={"rows": 5, "label": "ci run"})
    set_schedule("wine", "30 2 * * 1-5", "Europe/Paris")
    mlops.export_pipeline("Odd Name v2", description='has """ and a \\ in it', steps=[
        {"name": "Prep", "notebook": "notebooks/prepare.ipynb"},
        {"name": "a_b", "notebook": "notebooks/train.ipynb", "depends_on": ["Prep"]},
        {"name": "a-b", "notebook": "notebooks/train.ipynb", "depends_on": ["Prep"]},
    ], params={"seed": None, "cols": ["a", "b"], "cfg": {"k": 1}, "flag": True, "ratio": 1.0})
    return project


@pytest.fixture
def shared_store(monkeypatch):
    """A shared store configured (never contacted: exporting reads only the spec)."""
    monkeypatch.setenv("MLOPS_STORE_URI", SECRET_STORE)
    monkeypatch.setenv("MLOPS_ARTIFACT_URI", SECRET_ARTIFACTS)


def export(name: str, target: str, **options) -> Path:
    from jupyter_mlops.pipelines.export import export_pipeline_to

    paths = export_pipeline_to(name, target, **options)
    assert len(paths) == 1
    return paths[0]


# ---------------------------------------------------------------------------------------------
# Airflow

DAGBAG = r"""
import json, os, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "schedule": getattr(dag.timetable, "expression", None),
        "timezone": str(getattr(dag.timetable, "timezone", None)),
        "max_active_runs": dag.max_active_runs, "catchup": dag.catchup,
        "params": dag.params.dump(),
        "types": {k: dag.params.get_param(k).schema.get("type") for k in dag.params},
        "tasks": {t.task_id: {
            "upstream": sorted(t.upstream_task_ids), "retries": t.retries,
            "retry_delay": t.retry_delay.total_seconds(),
            "timeout": t.execution_timeout and t.execution_timeout.total_seconds()}
            for t in dag.tasks}}
# with no Variable and no MLOPS_PROJECT_ROOT, the DAG finds its project from its own path
import importlib.util
os.environ.pop("MLOPS_PROJECT_ROOT", None)
for path in sorted(os.listdir(sys.argv[1])):
    spec = importlib.util.spec_from_file_location("exported", os.path.join(sys.argv[1], path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out.setdefault("roots", []).append(module._project_root())
print(json.dumps(out))
"""


def test_airflow_dag_loads_with_the_tasks_dependencies_schedule_and_params(wine, tmp_path):
    python = Path(need("MLOPS_AIRFLOW_VENV")) / "bin" / "python"
    from jupyter_mlops.pipelines.export import export_pipeline_to

    path = export("wine", "airflow")
    assert path == wine / "pipelines" / "wine" / "airflow" / "wine.py"
    (odd,) = export_pipeline_to("Odd Name v2", "airflow", out_dir=path.parent)
    assert odd.name == "Odd_Name_v2.py"
    proc = subprocess.run([str(python), "-c", DAGBAG, str(path.parent)], capture_output=True,
                          text=True, env=airflow_env(tmp_path / "airflow", path.parent),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bag = json.loads(proc.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {} and sorted(bag["dags"]) == ["Odd_Name_v2", "wine"]
    dag = bag["dags"]["wine"]
    assert dag["tasks"] == {
        "prepare": {"upstream": [], "retries": 0, "retry_delay": 10.0, "timeout": None},
        "train_model": {"upstream": ["prepare"], "retries": 2, "retry_delay": 5.0,
                        "timeout": 600.0}}
    assert (dag["schedule"], dag["timezone"]) == ("30 2 * * 1-5", "Europe/Paris")
    assert dag["max_active_runs"] == 1 and dag["catchup"] is False
    assert dag["params"] == {"rows": 40, "label": "wine"}
    assert dag["types"] == {"rows": "integer", "label": "string"}
    assert [Path(r).resolve() for r in bag["roots"]] == [wine.resolve()] * 2
    odd = bag["dags"]["Odd_Name_v2"]
    assert odd["schedule"] is None and odd["params"] == {
        "seed": None, "cols": ["a", "b"], "cfg": {"k": 1}, "flag": True, "ratio": 1.0}
    assert odd["types"] == {"seed": None, "cols": "array", "cfg": "object", "flag": "boolean",
                            "ratio": "number"}
    assert {t: v["upstream"] for t, v in odd["tasks"].items()} == {
        "Prep": [], "a_b": ["Prep"], "a-b": ["Prep"]}


@pytest.mark.slow
def test_airflow_dags_test_runs_the_notebooks_into_the_project_store(wine, tmp_path, mlops):
    """`airflow db migrate` into a temp AIRFLOW_HOME, then `airflow dags test`: each task runs
    `jupyter mlops pipeline run-step` with the project's venv; the store records it all."""
    from jupyter_mlops.pipelines.status import get_pipeline_run, list_pipeline_runs

    airflow = Path(need("MLOPS_AIRFLOW_VENV")) / "bin" / "airflow"
    dags = export("wine", "airflow").parent
    env = airflow_env(tmp_path / "airflow", dags)
    env["MLOPS_PROJECT_ROOT"] = str(wine)
    env["AIRFLOW_VAR_MLOPS_CLI"] = f"{Path(sys.executable).parent / 'jupyter'} mlops"
    migrate = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True,
                             text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    proc = subprocess.run([str(airflow), "dags", "test", "wine", "2026-01-05",
                           "-c", json.dumps({"label": "from airflow"})],
                          env=env, capture_output=True, text=True, timeout=400)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert "state=success" in log and "pipeline run-step wine train_model --run-id" in log

    runs = list_pipeline_runs("wine")
    assert len(runs) == 1
    run = get_pipeline_run(runs.iloc[0]["run_id"])
    assert run.trigger == "external" and run.params == {"label": "from airflow"}
    latest = run.latest
    assert {s: latest[s].status for s in latest} == {"prepare": "finished",
                                                     "train_model": "finished"}
    # a value changed at trigger time reaches every step; one left at its default lets the
    # step's own value win (train_model's rows=50 over the pipeline's 40)
    assert latest["prepare"].params == {"rows": 40, "label": "from airflow"}
    assert latest["train_model"].params == {"rows": 50, "label": "from airflow"}
    tracked = mlops.get_run(latest["train_model"].runs[0])
    assert tracked.metrics["rows"] == 50 and tracked.params["label"] == "from airflow"
    assert latest["train_model"].notebook().cells  # the executed notebook is in the store


# ---------------------------------------------------------------------------------------------
# Kubernetes

K8S = r"""
import json, sys, yaml, kubernetes_validate
out = {}
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    try:
        kubernetes_validate.validate(doc, "1.37", strict=True)
        out[path] = "ok"
    except Exception as exc:
        out[path] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_k8s_cronjob_and_job_pass_strict_kubernetes_validation(wine, shared_store):
    cron = export("wine", "k8s", image=IMAGE)
    job = export("Odd Name v2", "k8s", image=IMAGE)
    assert (cron.name, job.name) == ("cronjob.yaml", "job.yaml")
    proc = validator_python(K8S, str(cron), str(job))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == {str(cron): "ok", str(job): "ok"}

    doc = yaml.safe_load(cron.read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("batch/v1", "CronJob")
    assert doc["spec"]["schedule"] == "30 2 * * 1-5" and doc["spec"]["timeZone"] == "Europe/Paris"
    assert doc["spec"]["concurrencyPolicy"] == "Forbid"
    pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == IMAGE and pod["restartPolicy"] == "Never"
    assert container["command"] == ["jupyter", "mlops", "pipeline", "run", "wine",
                                    "--trigger", "schedule"]
    assert container["env"] == [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": "mlops-store", "key": key}}}
        for key in ("MLOPS_STORE_URI", "MLOPS_ARTIFACT_URI")]
    assert container["envFrom"] == [{"secretRef": {"name": "mlops-store"}}]
    odd = yaml.safe_load(job.read_text())
    assert odd["kind"] == "Job" and odd["spec"]["backoffLimit"] == 0
    assert re.fullmatch(r"odd-name-v2-[0-9a-f]{6}", odd["metadata"]["name"])
    assert odd["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "jupyter", "mlops", "pipeline", "run", "Odd Name v2", "--trigger", "manual"]


# ---------------------------------------------------------------------------------------------
# Argo Workflows

ARGO = r"""
import json, sys, yaml
from hera.workflows import CronWorkflow, Workflow, models
out = {}
for path in sys.argv[1:]:
    text = open(path).read()
    source = yaml.safe_load(text)
    kind = source["kind"]
    hera = {"CronWorkflow": CronWorkflow, "Workflow": Workflow}[kind].from_yaml(text).to_dict()
    model = getattr(models, kind).model_validate(source)
    dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    out[path] = {"hera_round_trip": hera == source, "model_round_trip": dumped == source}
print(json.dumps(out))
"""


def test_argo_cron_workflow_and_workflow_load_in_hera_with_nothing_dropped(wine, shared_store):
    cron = export("wine", "argo", image=IMAGE)
    odd = export("Odd Name v2", "argo", image=IMAGE)
    assert (cron.name, odd.name) == ("cronworkflow.yaml", "workflow.yaml")
    proc = validator_python(ARGO, str(cron), str(odd))
    assert proc.returncode == 0, proc.stderr[-3000:]
    both = {"hera_round_trip": True, "model_round_trip": True}  # unknown keys are dropped
    assert json.loads(proc.stdout) == {str(cron): both, str(odd): both}

    doc = yaml.safe_load(cron.read_text())
    assert doc["kind"] == "CronWorkflow" and doc["spec"]["schedules"] == ["30 2 * * 1-5"]
    assert doc["spec"]["timezone"] == "Europe/Paris"
    templates = {t["name"]: t for t in doc["spec"]["workflowSpec"]["templates"]}
    dag = templates[doc["spec"]["workflowSpec"]["entrypoint"]]["dag"]["tasks"]
    assert dag == [{"name": "prepare", "template": "prepare"},
                   {"name": "train-model", "template": "train-model",
                    "dependencies": ["prepare"]}]
    assert all(ARGO_NAME.match(name) for name in templates)
    train = templates["train-model"]
    assert train["retryStrategy"]["limit"] == 2
    assert train["retryStrategy"]["backoff"] == {"duration": "5s", "factor": 2}
    assert train["retryStrategy"]["expression"] == "lastRetry.exitCode != '2'"
    assert train["activeDeadlineSeconds"] == 600
    command = train["container"]["command"]
    assert command[:8] == ["jupyter", "mlops", "pipeline", "run-step", "wine", "train_model",
                           "--run-id", "{{workflow.name}}"]
    assert "--params-json" in command and train["container"]["image"] == IMAGE
    assert "retryStrategy" not in templates["prepare"]
    workflow = yaml.safe_load(odd.read_text())
    assert workflow["kind"] == "Workflow"
    assert re.fullmatch(r"odd-name-v2-[0-9a-f]{6}-", workflow["metadata"]["generateName"])
    tasks = workflow["spec"]["templates"][0]["dag"]["tasks"]
    names = [t["name"] for t in tasks]  # a_b and a-b cannot both be a-b
    assert names[0] == "Prep" and len(set(names)) == 3 and all(map(ARGO_NAME.match, names))
    steps = {t["name"]: t["container"]["command"][5] for t in workflow["spec"]["templates"][1:]}
    assert sorted(steps.values()) == ["Prep", "a-b", "a_b"]


# ---------------------------------------------------------------------------------------------
# GitHub Actions

SHELLCHECK = r"""
import json, subprocess, sys, yaml
out = []
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    for job_id, job in doc["jobs"].items():
        for step in job["steps"]:
            if "run" in step:
                proc = subprocess.run(["shellcheck", "--shell=bash", "-"], input=step["run"],
                                      capture_output=True, text=True)
                out.append({"where": f"{job_id}: {step.get('name')}", "code": proc.returncode,
                            "output": proc.stdout})
print(json.dumps(out))
"""


def test_github_workflow_passes_actionlint_the_schema_and_shellcheck(wine):
    path = export("wine", "github", promote=PROMOTE)
    assert path == wine / "pipelines" / "wine" / "github" / "wine.yml"
    lint = subprocess.run([need("MLOPS_ACTIONLINT"), str(path)], capture_output=True, text=True,
                          timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Checking 1 workflow file" in lint.stdout  # a file was really read
    venv = Path(need("MLOPS_VALIDATORS_VENV")) / "bin"
    schema = subprocess.run([str(venv / "check-jsonschema"), "--builtin-schema",
                             "vendor.github-workflows", str(path)], capture_output=True, text=True)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    env = dict(os.environ, PATH=f"{venv}{os.pathsep}{os.environ['PATH']}")
    checks = subprocess.run([str(venv / "python"), "-c", SHELLCHECK, str(path)], env=env,
                            capture_output=True, text=True)
    assert checks.returncode == 0, checks.stderr
    scripts = json.loads(checks.stdout)
    assert len(scripts) >= 5 and [s for s in scripts if s["code"] != 0] == []

    doc = yaml.safe_load(path.read_text())
    assert set(doc["on"]) == {"push", "pull_request", "schedule", "workflow_dispatch"}
    assert doc["on"]["schedule"] == [{"cron": "30 2 * * 1-5"}]
    assert "runs schedules in UTC" in path.read_text()  # the spec says Europe/Paris
    test_run = doc["jobs"]["test"]["steps"][-1]["run"]
    assert test_run == ("jupyter mlops pipeline run wine -p rows=5 -p 'label=\"ci run\"' "
                        "--trigger ci\n")
    assert doc["jobs"]["run"]["env"] == {"MLOPS_STORE_URI": "${{ secrets.MLOPS_STORE_URI }}",
                                         "MLOPS_ARTIFACT_URI": "${{ secrets.MLOPS_ARTIFACT_URI }}"}
    promote = doc["jobs"]["run"]["steps"][-1]
    assert promote["env"]["MODEL"] == "wine-clf" and promote["env"]["REQUIRE"] == PROMOTE["require"]
    assert 'jupyter mlops models promote "$MODEL" "$version" --alias "$ALIAS"' in promote["run"]


EXPRESSIONS = {  # the workflow's expressions, as GitHub would give them for these events
    "${{ github.event_name == 'schedule' && 'schedule' || 'manual' }}": "manual",
}


def run_job(job: dict, values: dict[str, str], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run a job's `run:` steps with bash as GitHub would (`shell: bash`: -eo pipefail), the
    expressions replaced by `values`; `uses:` and install steps are skipped (the venv has it)."""
    outputs: dict[str, str] = {}
    done = []
    for step in job["steps"]:
        if "run" not in step or step["name"].startswith("Install"):
            continue
        output_file = cwd / f"github-output-{len(done)}"
        output_file.write_text("")

        def resolve(text: str) -> str:
            def one(match: re.Match) -> str:
                expression = match.group(0)
                inner = match.group(1).strip()
                if expression in EXPRESSIONS:
                    return EXPRESSIONS[expression]
                if inner.startswith("steps."):
                    _, step_id, _, key = inner.split(".")
                    return outputs[f"{step_id}.{key}"]
                return values[inner]
            return re.sub(r"\$\{\{(.*?)\}\}", one, text)

        env = dict(os.environ, GITHUB_OUTPUT=str(output_file),  # the venv's jupyter and python
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        env.update({k: resolve(v) for k, v in {**job.get("env", {}),
                                               **step.get("env", {})}.items()})
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                               step["run"]], env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}\n{proc.stderr}"
        for line in output_file.read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[f"{step.get('id')}.{key}"] = value
        done.append(proc)
    return done


@pytest.mark.slow
def test_github_jobs_shell_steps_run_the_pipeline_and_promote_through_the_gate(project, mlops,
                                                                               tmp_path):
    """The exported job's own shell, run here with bash: the CI test with ci_params on a
    throwaway store; then a manual run registers v1 and promotes it, and a worse v2 is refused
    by the gate (a warning, not a failure) and production stays at v1."""
    from jupyter_mlops.registry.versions import get_model_version
    from jupyter_mlops.store import reset

    notebook(project / "notebooks" / "fit.ipynb", "score = 0.8", CLF_BODY)
    mlops.export_pipeline("clf", notebooks=["notebooks/fit.ipynb"], params={"score": 0.8},
                          ci_params={"score": 0.1})
    doc = yaml.safe_load(export("clf", "github", promote=PROMOTE).read_text())
    store = f"sqlite:///{project / '.mlops' / 'mlops.db'}"
    values = {"secrets.MLOPS_STORE_URI": store,
              "secrets.MLOPS_ARTIFACT_URI": str(project / ".mlops" / "artifacts"),
              "runner.temp": str(tmp_path / "runner-temp"), "inputs.params": ""}
    run_job(doc["jobs"]["test"], values, project)  # the CI test: nothing in the project store
    reset()
    with pytest.raises(NotFoundError):
        get_model_version("wine-clf")

    first = run_job(doc["jobs"]["run"], values, project)
    assert "wine-clf@1 is now production" in first[-1].stdout
    second = run_job(doc["jobs"]["run"], {**values, "inputs.params": "score=0.5"}, project)
    assert "::warning::wine-clf version 2 was not promoted to production" in second[-1].stdout
    reset()
    assert get_model_version("wine-clf@production").version == 1
    assert get_model_version("wine-clf").version == 2


# ---------------------------------------------------------------------------------------------
# every target: deterministic, relative, no secrets, a header; and the refusals


def test_exports_are_deterministic_relative_secret_free_and_say_what_made_them(wine,
                                                                              shared_store):
    options = {"airflow": {}, "k8s": {"image": IMAGE}, "argo": {"image": IMAGE},
               "github": {"promote": PROMOTE}}
    first = {t: export("wine", t, **o).read_bytes() for t, o in options.items()}
    second = {t: export("wine", t, **o).read_bytes() for t, o in options.items()}
    assert first == second
    elsewhere = export("wine", "k8s", image=IMAGE)
    from jupyter_mlops.pipelines.export import export_pipeline_to

    (moved,) = export_pipeline_to("wine", "k8s", out_dir=wine / "deploy", image=IMAGE)
    assert moved == wine / "deploy" / "cronjob.yaml" and moved.read_bytes() == elsewhere.read_bytes()
    forbidden = [str(wine), str(wine.resolve()), str(Path.home()), sys.prefix, "/tmp/",
                 "hunter2", "db.internal.example", "bucket-secret-7f3a"]
    for target, data in first.items():
        text = data.decode()
        assert text.startswith("# Generated by jupyter-mlops from pipelines/wine.yaml"), target
        assert f"--to {target}" in text.splitlines()[1]
        assert [f for f in forbidden if f in text] == [], target


def test_exports_refuse_clearly(wine, mlops, monkeypatch, capsys):
    from jupyter_mlops.pipelines.export import export_pipeline_to

    for target in ("k8s", "argo"):  # the embedded SQLite store of `project` is in force
        with pytest.raises(MLOpsUsageError, match="needs a shared store.*PostgreSQL.*object"):
            export_pipeline_to("wine", target, image=IMAGE)
    monkeypatch.setenv("MLOPS_STORE_URI", SECRET_STORE)
    for target in ("k8s", "argo"):
        with pytest.raises(MLOpsUsageError, match="needs --image"):
            export_pipeline_to("wine", target)
    with pytest.raises(MLOpsUsageError, match="unknown export target 'prefect'; known: airflow"):
        export_pipeline_to("wine", "prefect")
    with pytest.raises(NotFoundError, match="no pipeline named 'nope'.*known: Odd Name v2, wine"):
        export_pipeline_to("nope", "airflow")
    with pytest.raises(MLOpsUsageError, match="does not take image"):
        export_pipeline_to("wine", "airflow", image=IMAGE)
    with pytest.raises(MLOpsUsageError, match="promote is"):
        export_pipeline_to("wine", "github", promote={"alias": "production"})
    with pytest.raises(MLOpsUsageError, match="promote takes model, alias and require"):
        export_pipeline_to("wine", "github", promote={"model": "m", "gate": "x"})
    with pytest.raises(MLOpsUsageError, match="ci_params rowz are not parameters"):
        # the spec refuses it: `pipeline run -p rowz=2` would fail on every push
        mlops.export_pipeline("typo", notebooks=["notebooks/prepare.ipynb"], params={"rows": 1},
                              ci_params={"rowz": 2})
    assert not (wine / "pipelines" / "wine" / "k8s").exists()  # nothing written on a refusal
    assert not (wine / "pipelines" / "typo").exists()

    # the CLI: the usage and one error line, exit 2
    monkeypatch.delenv("MLOPS_STORE_URI")
    assert main(["pipeline", "export", "wine", "--to", "k8s", "--image", IMAGE]) == 2
    assert "needs a shared store" in error_line(capsys.readouterr().err)
    assert main(["pipeline", "export", "wine", "--to", "airflow"]) == 0
    assert capsys.readouterr().out == f"wrote {wine / 'pipelines' / 'wine' / 'airflow' / 'wine.py'}\n"
