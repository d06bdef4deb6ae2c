"""Argo Workflows: a CronWorkflow (`schedules:` a list, as Argo 4 wants) for a scheduled
pipeline, else a Workflow; a DAG template with one container task per step, each running
`jupyter mlops pipeline run-step NAME STEP --run-id {{workflow.name}}`, so the store records the
run as the local runner would. Argo does the retries (retryStrategy: the step's retries, its
retry_delay doubling like the local runner's backoff) and the timeout (activeDeadlineSeconds, per
attempt). Run-time parameters: the workflow parameter `params`, a JSON object (default `{}`) of
values that win over the spec's, e.g. `argo submit -p params='{"rows": 30}'`."""

from __future__ import annotations

import math
from typing import Any

from ..spec import PipelineSpec, order
from . import dns_label, header, task_names, to_yaml
from .k8s import NOTES, annotations, labels, store_env


def _seconds(value: float) -> str:
    return f"{value:g}s"


def render(spec: PipelineSpec, options: dict[str, Any]) -> dict[str, str]:
    names = task_names([s.name for s in spec.steps])
    templates: list[dict[str, Any]] = []
    tasks = []
    for step_name in order(spec):
        step = spec.step(step_name)
        command = ["jupyter", "mlops", "pipeline", "run-step", spec.name, step.name,
                   "--run-id", "{{workflow.name}}"]
        template: dict[str, Any] = {"name": names[step.name]}
        if step.retries:
            template["retryStrategy"] = {
                "limit": step.retries,
                "retryPolicy": "Always",  # a killed pod (out of memory) is retried too
                "expression": "lastRetry.exitCode != '2'",  # bad usage: retrying cannot help
                "backoff": {"duration": _seconds(step.retry_delay_s), "factor": 2},
            }
            command += ["--attempt", "{{=asInt(retries) + 1}}"]  # retries counts from 0
        if step.timeout_s is not None:
            template["activeDeadlineSeconds"] = math.ceil(step.timeout_s)
        command += ["--params-json", "{{workflow.parameters.params}}"]
        template["metadata"] = {"annotations": {"jupyter-mlops/step": step.name,
                                                "jupyter-mlops/notebook": step.notebook}}
        template["container"] = {"image": options["image"], "command": command, **store_env()}
        templates.append(template)
        task: dict[str, Any] = {"name": names[step.name], "template": names[step.name]}
        if step.depends_on:
            task["dependencies"] = [names[d] for d in step.depends_on]
        tasks.append(task)
    workflow_spec = {
        "entrypoint": "pipeline",
        "arguments": {"parameters": [{
            "name": "params", "value": "{}",
            "description": "run-time parameters as a JSON object: they win over the spec's"}]},
        "templates": [{"name": "pipeline", "dag": {"tasks": tasks}}, *templates],
    }
    meta = {"labels": labels(spec), "annotations": annotations(spec)}
    if spec.schedule:
        doc = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "CronWorkflow",
            "metadata": {"name": dns_label(spec.name, 52), **meta},
            "spec": {
                "schedules": [spec.schedule],
                "timezone": spec.timezone,
                "concurrencyPolicy": "Forbid" if spec.max_active_runs == 1 else "Allow",
                "workflowSpec": workflow_spec,
            },
        }
        file_name = "cronworkflow.yaml"
    else:
        doc = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": dns_label(spec.name, 52) + "-", **meta},
            "spec": workflow_spec,
        }
        file_name = "workflow.yaml"
    image = f" --image {options['image']}"
    return {file_name: header(spec.name, "argo", image) + NOTES + to_yaml(doc)}
