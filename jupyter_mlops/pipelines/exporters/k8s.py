"""Kubernetes: a CronJob (batch/v1) for a scheduled pipeline, else a Job, whose one container
runs the whole DAG with `jupyter mlops pipeline run NAME` in the given image. The local runner
inside the pod runs the steps (in parallel where the DAG allows), with their retries, backoff
and timeouts, and records everything in the shared store, so Kubernetes itself never retries:
a second pod would be a second pipeline run."""

from __future__ import annotations

from typing import Any

from ..spec import PipelineSpec
from . import K8S_SECRET, STORE_ENV, dns_label, header, to_yaml

NOTES = f"""\
# The image holds the project (pipelines/, the notebooks) at its working directory, with
# jupyter-mlops and the notebooks' libraries installed. The store comes from the Secret
# {K8S_SECRET!r}, keys {' and '.join(STORE_ENV)}: a pod
# without them fails to start rather than write to a throwaway SQLite file. Its other keys
# (e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3://) become environment variables too.
"""


def labels(spec: PipelineSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": dns_label(spec.name),
            "app.kubernetes.io/part-of": "jupyter-mlops",
            "app.kubernetes.io/managed-by": "jupyter-mlops"}


def annotations(spec: PipelineSpec) -> dict[str, str]:
    return {"jupyter-mlops/pipeline": spec.name, "jupyter-mlops/spec": f"pipelines/{spec.name}.yaml"}


def store_env() -> dict[str, Any]:
    """The container's env: the store URIs from the Secret, by name."""
    return {
        "env": [{"name": key, "valueFrom": {"secretKeyRef": {"name": K8S_SECRET, "key": key}}}
                for key in STORE_ENV],
        "envFrom": [{"secretRef": {"name": K8S_SECRET}}],
    }


def render(spec: PipelineSpec, options: dict[str, Any]) -> dict[str, str]:
    trigger = "schedule" if spec.schedule else "manual"
    pod = {
        "metadata": {"labels": labels(spec), "annotations": annotations(spec)},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "pipeline",
                "image": options["image"],
                "command": ["jupyter", "mlops", "pipeline", "run", spec.name,
                            "--trigger", trigger],
                **store_env(),
            }],
        },
    }
    job_spec = {"backoffLimit": 0, "template": pod}
    if spec.schedule:
        doc = {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": dns_label(spec.name, 52), "labels": labels(spec),
                         "annotations": annotations(spec)},
            "spec": {
                "schedule": spec.schedule,
                "timeZone": spec.timezone,
                "concurrencyPolicy": "Forbid" if spec.max_active_runs == 1 else "Allow",
                "jobTemplate": {"metadata": {"labels": labels(spec)}, "spec": job_spec},
            },
        }
        file_name = "cronjob.yaml"
    else:
        doc = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": dns_label(spec.name), "labels": labels(spec),
                         "annotations": annotations(spec)},
            "spec": job_spec,
        }
        file_name = "job.yaml"
    image = f" --image {options['image']}"
    return {file_name: header(spec.name, "k8s", image) + NOTES + to_yaml(doc)}
