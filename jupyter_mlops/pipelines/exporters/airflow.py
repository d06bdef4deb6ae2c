"""Airflow: one DAG file, one task per step.

Task kind: a TaskFlow `@task` that runs `jupyter mlops pipeline run-step NAME STEP --run-id
<Airflow's run id>` in a subprocess, not the papermill provider's PapermillOperator:
- run-step is what the local runner runs, so the store gets the same record: the pipeline run
  and its step runs (attempts, status, errors), the tracked runs made inside each notebook linked
  to their step, and the executed notebook kept as a blob. PapermillOperator would only write
  an output notebook somewhere and the store would know nothing of the run.
- The package is found as a program, not imported: the DAG file imports only Airflow (and the
  standard library), so the scheduler parses it without jupyter-mlops, and the steps run in the
  project's own environment (its jupyter-mlops, libraries and `python3` kernel), whose pins need
  not agree with Airflow's. The Airflow Variable `mlops_cli` names the command (default
  `jupyter mlops` on the worker's PATH, e.g. `/opt/project-venv/bin/jupyter mlops`).
- Not a BashOperator: its rendered command and env are stored and shown by Airflow, so the
  store URI would leak into the UI; the @task reads it from a Variable at run time and masks it.
"""

from __future__ import annotations

from typing import Any

from ..spec import PipelineSpec, order
from . import header

TEMPLATE = '''\
{header}"""Airflow DAG for the jupyter-mlops pipeline {name!r}{description}.

Each task runs one step as `jupyter mlops pipeline run-step` in the project's own environment:
the store records the run, its steps, the runs tracked inside and the executed notebooks.

Airflow Variables (all optional; none of their values is written in this file):
  mlops_cli           the command, default "jupyter mlops" on the worker's PATH
  mlops_project_root  the project folder (default: env MLOPS_PROJECT_ROOT, else the project
                      this file was exported into, found from its own path)
  mlops_store_uri     the metadata store, e.g. postgresql://... (default: the project's setting)
  mlops_artifact_uri  the artifact store, e.g. s3://bucket/mlops (default: the project's)
DAG params default to the pipeline's params; a value changed at trigger time is passed to every
step (as `jupyter mlops pipeline run -p` would), one left at its default lets a step's own
value apply.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, CronTriggerTimetable, Param, Variable, task
from airflow.sdk.exceptions import AirflowFailException

PIPELINE = {name!r}
SPEC = {spec_path!r}  # relative to the project root
DEFAULTS = {defaults}  # the pipeline's params, as in the spec
UP = {up}  # this file is <project>/{out_path}


def _project_root() -> str:
    root = Variable.get("mlops_project_root", default=None) or os.environ.get("MLOPS_PROJECT_ROOT")
    if root:
        return root
    here = Path(__file__).resolve().parents[UP]
    if (here / SPEC).is_file():
        return str(here)
    raise AirflowFailException(
        f"cannot find the project of pipeline {{PIPELINE!r}}: set the Airflow Variable "
        "mlops_project_root (or env MLOPS_PROJECT_ROOT) to the folder holding " + SPEC)


def _secret(name: str) -> str | None:
    value = Variable.get(name, default=None)
    if value:
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(value)
        except ImportError:  # an Airflow without it: our CLI redacts passwords in what it prints
            pass
    return value


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the step and its kernel (their own process group), SIGKILL 10 s later."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            pass


@task(retry_exponential_backoff=2.0)  # delay, 2x, 4x... like the local runner
def run_step(step: str, params=None, run_id=None, ti=None) -> None:
    """`jupyter mlops pipeline run-step` for one step: exit 0 finished, 1 failed, 3 killed."""
    given = {{k: v for k, v in dict(params or {{}}).items() if k not in DEFAULTS or DEFAULTS[k] != v}}
    root = _project_root()
    cli = shlex.split(Variable.get("mlops_cli", default="jupyter mlops"))
    cmd = [*cli, "pipeline", "run-step", PIPELINE, step, "--run-id", str(run_id),
           "--attempt", str(ti.try_number), "--params-json", json.dumps(given, sort_keys=True)]
    env = dict(os.environ, MLOPS_PROJECT_ROOT=root)
    for variable, key in (("mlops_store_uri", "MLOPS_STORE_URI"),
                          ("mlops_artifact_uri", "MLOPS_ARTIFACT_URI")):
        value = _secret(variable)
        if value:
            env[key] = value
    print("$", shlex.join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            print(line, end="", flush=True)
        code = proc.wait()
    except BaseException:  # the execution timeout, or the task was stopped: end the step too
        _stop(proc)
        raise
    if code == 2:  # bad usage (unknown step, invalid spec): retrying cannot help
        raise AirflowFailException(f"step {{step}}: jupyter mlops refused the command (exit 2)")
    if code != 0:
        what = {{1: "failed", 3: "was killed"}}.get(code, f"exited with {{code}}")
        raise RuntimeError(f"step {{step}} {{what}}; see its record: jupyter mlops pipeline runs "
                           f"{{PIPELINE}}")


with DAG(
    dag_id={dag_id!r},
    description={short!r},
    doc_md=__doc__,
    schedule={schedule},
    catchup=False,
    max_active_runs={max_active_runs},
    params={{
{params}    }},
    tags=["jupyter-mlops"],
) as dag:
{tasks}
{edges}'''


def _param(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value))
    return f"Param({value!r}, type={kind!r})" if kind else f"Param({value!r})"


def _docstring(text: str) -> str:
    """Text that cannot end or escape the module docstring it is put in."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def dag_id(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:250]


def render(spec: PipelineSpec, options: dict[str, Any]) -> dict[str, str]:
    file_name = f"{dag_id(spec.name)}.py"
    out_path = f"pipelines/{spec.name}/airflow/{file_name}"
    variables = {}
    tasks = []
    for name in order(spec):
        step = spec.step(name)
        var = base = "step_" + "".join(c if c.isalnum() else "_" for c in name)
        n = 1
        while var in variables.values():  # steps a_b and a-b
            n += 1
            var = f"{base}_{n}"
        variables[name] = var
        args = [f"task_id={name!r}", f"retries={step.retries}",
                f"retry_delay=timedelta(seconds={step.retry_delay_s!r})"]
        if step.timeout_s is not None:
            args.append(f"execution_timeout=timedelta(seconds={step.timeout_s!r})")
        lines = [f"    {var} = run_step.override(  # {step.notebook}\n",
                 *(f"        {a},\n" for a in args), f"    )({name!r})\n"]
        tasks.append("".join(lines))
    edges = []
    for name in order(spec):
        for dep in spec.step(name).depends_on:
            edges.append(f"    {variables[dep]} >> {variables[name]}\n")
    schedule = (f"CronTriggerTimetable({spec.schedule!r}, timezone={spec.timezone!r})"
                if spec.schedule else "None")
    params = "".join(f"        {k!r}: {_param(v)},\n" for k, v in spec.params.items())
    description = f": {_docstring(spec.description)}" if spec.description else ""
    short = spec.description or f"jupyter-mlops pipeline {spec.name}"
    text = TEMPLATE.format(
        header=header(spec.name, "airflow", ""), name=spec.name, description=description,
        spec_path=f"pipelines/{spec.name}.yaml", defaults=repr(dict(spec.params)),
        up=out_path.count("/"), out_path=out_path, dag_id=dag_id(spec.name),
        short=short, schedule=schedule, max_active_runs=spec.max_active_runs, params=params,
        tasks="".join(tasks), edges="".join(edges))
    return {file_name: text}
