"""GitHub Actions: one workflow with two jobs.

- `test` (push, pull_request): runs the whole pipeline with the spec's `ci_params` as a test
  (`jupyter mlops pipeline run NAME -p k=v ... --trigger ci`) against a throwaway embedded store
  in the runner's temp folder: no secret is needed (pull requests from forks get none) and the
  shared store is not filled with test runs.
- `run` (schedule, workflow_dispatch): runs the pipeline against the shared store named by the
  repository secrets MLOPS_STORE_URI and MLOPS_ARTIFACT_URI, then, with the `promote` option,
  promotes the model version the run registered when the gate holds (`jupyter mlops models
  promote NAME VERSION --alias ALIAS --require EXPR`). A refused gate is a warning on the run,
  not a failure: the pipeline worked, the new model was just not better.
GitHub runs cron schedules in UTC: the spec's timezone cannot be applied (the header says so)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from ... import __version__
from ...errors import MLOpsUsageError
from ...refs import check_alias, check_name
from ..spec import PipelineSpec
from . import STORE_ENV, header, to_yaml

PYTHON = "3.11"
CHECKOUT = "actions/checkout@v5"
SETUP_PYTHON = "actions/setup-python@v6"


def _promote(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("model"):
        raise MLOpsUsageError('promote is {"model": NAME, "alias": "production", '
                              '"require": "metrics.f1 >= production.metrics.f1"}')
    unknown = sorted(set(value) - {"model", "alias", "require"})
    if unknown:
        raise MLOpsUsageError(f"promote takes model, alias and require, not {', '.join(unknown)}")
    out = {"model": check_name(str(value["model"]), "model name"),
           "alias": check_alias(str(value.get("alias") or "production"))}
    if value.get("require"):
        from ... import expr

        expr.parse(str(value["require"]))  # a typo fails now, not on the first scheduled run
        out["require"] = str(value["require"])
    for text in out.values():
        if "${{" in text:
            raise MLOpsUsageError("promote values may not contain '${{' (a GitHub expression)")
    return out


def _literal(value: Any) -> str:
    """A value as `-p` reads it back (a Python literal): strings stay strings."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _install() -> dict[str, Any]:
    return {"name": "Install jupyter-mlops and the project's requirements",
            "run": (f"python -m pip install 'jupyter-mlops=={__version__}'\n"
                    "if [ -f requirements.txt ]; then python -m pip install -r requirements.txt; fi\n")}


def _setup() -> list[dict[str, Any]]:
    return [{"uses": CHECKOUT},
            {"uses": SETUP_PYTHON, "with": {"python-version": PYTHON, "cache": "pip"}},
            _install()]


def render(spec: PipelineSpec, options: dict[str, Any]) -> dict[str, str]:
    promote = _promote(options.get("promote"))
    name = shlex.quote(spec.name)
    ci = "".join(f" -p {shlex.quote(f'{k}={_literal(v)}')}" for k, v in spec.ci_params.items())
    on: dict[str, Any] = {"push": None, "pull_request": None}
    if spec.schedule:
        on["schedule"] = [{"cron": spec.schedule}]
    on["workflow_dispatch"] = {"inputs": {"params": {
        "description": "run-time parameters, KEY=VALUE separated by spaces (e.g. rows=100)",
        "required": False, "default": "", "type": "string"}}}
    test = {
        "name": "Test: the notebooks with ci_params",
        "if": "github.event_name == 'push' || github.event_name == 'pull_request'",
        "runs-on": "ubuntu-latest",
        "defaults": {"run": {"shell": "bash"}},
        "steps": [*_setup(), {
            "name": "Run the pipeline with its ci_params (a throwaway embedded store)",
            "env": {"MLOPS_STORE_URI": "sqlite:///${{ runner.temp }}/mlops/mlops.db",
                    "MLOPS_ARTIFACT_URI": "${{ runner.temp }}/mlops/artifacts"},
            "run": f"jupyter mlops pipeline run {name}{ci} --trigger ci\n",
        }],
    }
    steps: list[dict[str, Any]] = [*_setup(), {
        "name": "Check the store secrets",
        "run": "".join(
            f'if [ -z "${key}" ]; then echo "::error::set the repository secret {key}"; exit 1; fi\n'
            for key in STORE_ENV),
    }]
    latest = ('latest() { jupyter mlops models show "$MODEL" 2>/dev/null | python -c '
              '\'import json, sys; print(json.load(sys.stdin)["version"])\' || echo 0; }\n')
    if promote:
        steps.append({"name": f"Note the latest version of {promote['model']}", "id": "before",
                      "env": {"MODEL": promote["model"]},
                      "run": latest + 'echo "version=$(latest)" >> "$GITHUB_OUTPUT"\n'})
    steps.append({
        "name": "Run the pipeline",
        "env": {"PARAMS": "${{ inputs.params }}",
                "TRIGGER": "${{ github.event_name == 'schedule' && 'schedule' || 'manual' }}"},
        "run": ("args=()\n"
                'read -ra pairs <<< "$PARAMS"\n'
                'for pair in "${pairs[@]}"; do args+=(-p "$pair"); done\n'
                f'jupyter mlops pipeline run {name} "${{args[@]}}" --trigger "$TRIGGER"\n'),
    })
    if promote:
        require = ' --require "$REQUIRE"' if "require" in promote else ""
        env = {"MODEL": promote["model"], "ALIAS": promote["alias"],
               "BEFORE": "${{ steps.before.outputs.version }}"}
        if "require" in promote:
            env["REQUIRE"] = promote["require"]
        steps.append({
            "name": f"Promote {promote['model']} to {promote['alias']} if the gate holds",
            "env": env,
            "run": (latest + 'version=$(latest)\n'
                    'if [ "$version" = "$BEFORE" ]; then\n'
                    '  echo "::notice::this run registered no new version of $MODEL"; exit 0\n'
                    'fi\n'
                    'code=0\n'
                    f'jupyter mlops models promote "$MODEL" "$version" --alias "$ALIAS"{require}'
                    ' || code=$?\n'
                    'if [ "$code" = 1 ]; then  # the gate refused: the alias stays where it was\n'
                    '  echo "::warning::$MODEL version $version was not promoted to $ALIAS'
                    ' (see the gate above)"\n'
                    'elif [ "$code" != 0 ]; then exit "$code"; fi\n'),
        })
    run = {
        "name": "Run" + (" and promote" if promote else ""),
        "if": "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'",
        "runs-on": "ubuntu-latest",
        # one run at a time against the shared store (the spec's max_active_runs is 1 or more)
        "concurrency": {"group": f"jupyter-mlops-pipeline-{spec.name}",
                        "cancel-in-progress": False},
        "env": {key: f"${{{{ secrets.{key} }}}}" for key in STORE_ENV},
        "defaults": {"run": {"shell": "bash"}},
        "steps": steps,
    }
    workflow = {"name": f"pipeline {spec.name}", "on": on, "permissions": {"contents": "read"},
                "jobs": {"test": test, "run": run}}
    notes = ""
    if spec.schedule and spec.timezone != "UTC":
        notes = (f"# Note: GitHub runs schedules in UTC; the spec's {spec.schedule!r} is in "
                 f"{spec.timezone}, here it runs in UTC.\n")
    flags = ""
    if promote:
        flags = f" --promote-model {shlex.quote(promote['model'])} --promote-alias {promote['alias']}"
        if "require" in promote:
            flags += f" --promote-require {shlex.quote(promote['require'])}"
    file_name = "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.name) + ".yml"
    return {file_name: header(spec.name, "github", flags) + notes + to_yaml(workflow)}
