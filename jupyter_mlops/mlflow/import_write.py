"""The rows an MLflow import writes, each group in the caller's transaction: a run with its
params, tags, metric points, dataset inputs, model links and artifacts; a logged model with
its files; a registered model, a version (its run as lineage) and an alias move. Rows hold
what the plugin (tracking_store.py, registry_store.py) writes for the same MLflow calls, so
imported runs and models read back through `mlops:` as they were in the source."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select

from ..store.tables import (
    artifacts,
    experiments,
    logged_model_artifacts,
    logged_models,
    model_aliases,
    model_versions,
    models,
    params,
    run_datasets,
    run_links,
    runs,
    tags,
)
from . import convert
from .convert import seconds

Files = list[tuple[str, str, int]]  # (name, digest, size) of files already in the blob store
History = dict[str, list[tuple[float, int, int]]]  # key: [(value, step, timestamp ms)]


def experiment_row(conn, exp: Any, actor: str) -> int:
    """Our experiment of MLflow's `exp` (by name; MLflow's "0" is "Default"): the one here,
    else a new one with its tags, lifecycle and times."""
    name = convert.DEFAULT_EXPERIMENT if str(exp.experiment_id) == "0" else exp.name
    found = conn.execute(select(experiments.c.id).where(experiments.c.name == name)).scalar()
    if found is not None:
        return found
    created = seconds(exp.creation_time) or time.time()
    conn.execute(experiments.insert().values(
        name=name, created_at=created, updated_at=seconds(exp.last_update_time) or created,
        lifecycle=convert.LIFECYCLE_IN.get(exp.lifecycle_stage, "active"), created_by=actor,
        tags=convert.json_text(dict(exp.tags)) if exp.tags else None))
    return conn.execute(select(experiments.c.id).where(experiments.c.name == name)).scalar_one()


def run_counts(run: Any, history: History) -> dict[str, int]:
    """What one run adds: params, tags, metric points, dataset inputs."""
    return {"params": len(run.data.params), "tags": len(run.data.tags),
            "metric_points": sum(len(points) for points in history.values()),
            "datasets": len({(d.dataset.name, d.dataset.digest)
                             for d in run.inputs.dataset_inputs})}


def write_run(conn, dialect: str, run: Any, experiment_id: int, parent: str | None,
              history: History, files: Files) -> None:
    """One MLflow run with its MLflow id, times exact to the millisecond; `history` holds
    each metric's (value, step, timestamp ms) points."""
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

    from ..tracking.objects import media_type_of
    from ..tracking.writer import write_points

    info, data, run_id = run.info, run.data, run.info.run_id
    start = seconds(info.start_time) if info.start_time is not None else 0.0
    end = seconds(info.end_time)
    now = time.time()
    conn.execute(runs.insert().values(
        id=run_id, experiment_id=experiment_id,
        name=(info.run_name or data.tags.get(MLFLOW_RUN_NAME) or "")[:255],
        status=convert.STATUS_IN.get(str(info.status).upper(), "finished"),
        parent_run_id=parent, start_time=start, end_time=end,
        heartbeat=end if end is not None else start, user=info.user_id or None,
        lifecycle=convert.LIFECYCLE_IN.get(info.lifecycle_stage, "active")))
    if data.params:
        conn.execute(params.insert(), [
            {"run_id": run_id, "key": k, "value": json.dumps(v), "num": convert.param_number(v),
             "text": v} for k, v in data.params.items()])
    if data.tags:
        conn.execute(tags.insert(), [{"run_id": run_id, "key": k, "value": str(v)}
                                     for k, v in data.tags.items()])
    write_points(conn, dialect, [
        (run_id, key, float(value), int(step or 0), int(timestamp) / 1000.0)
        for key, points in history.items() for value, step, timestamp in points])
    seen: dict[tuple[str, str], dict] = {}
    for given in run.inputs.dataset_inputs:
        d = given.dataset
        input_tags = {t.key: t.value for t in given.tags or []}
        seen[d.name, d.digest] = {
            "run_id": run_id, "name": d.name, "digest": d.digest,
            "context": input_tags.get("mlflow.data.context"), "source_type": d.source_type,
            "source": d.source, "schema": d.schema, "profile": d.profile,
            "tags": convert.json_text(input_tags), "created_at": start}
    if seen:
        conn.execute(run_datasets.insert(), list(seen.values()))
    links = [{"run_id": run_id, "direction": "input", "kind": "logged_model",
              "ref": m.model_id, "role": None, "created_at": now}
             for m in getattr(run.inputs, "model_inputs", None) or []]
    links += [{"run_id": run_id, "direction": "output", "kind": "logged_model",
               "ref": m.model_id, "role": str(m.step), "created_at": now}
              for m in (run.outputs.model_outputs if run.outputs else None) or []]
    if links:
        conn.execute(run_links.insert(), links)
    if files:
        conn.execute(artifacts.insert(), [
            {"run_id": run_id, "name": name, "digest": digest, "size": size,
             "media_type": media_type_of(name), "created_at": now}
            for name, digest, size in files])


def write_logged_model(conn, model: Any, experiment_id: int, source_run: str | None,
                       files: Files, actor: str) -> None:
    """An MLflow 3 logged model: its params, tags and metrics as JSON, its files."""
    from mlflow.entities import LoggedModelStatus

    created = seconds(model.creation_timestamp) or time.time()
    metrics = [{"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step,
                "model_id": m.model_id, "dataset_name": m.dataset_name,
                "dataset_digest": m.dataset_digest, "run_id": m.run_id}
               for m in model.metrics or []]
    conn.execute(logged_models.insert().values(
        id=model.model_id, experiment_id=experiment_id, name=model.name,
        source_run_id=source_run, status=str(LoggedModelStatus(model.status)),
        model_type=model.model_type or None, params=convert.json_text(dict(model.params or {})),
        tags=convert.json_text(dict(model.tags or {})), metrics=json.dumps(metrics),
        lifecycle="active", created_at=created,
        updated_at=seconds(model.last_updated_timestamp) or created, created_by=actor))
    if files:
        conn.execute(logged_model_artifacts.insert(), [
            {"model_id": model.model_id, "name": name, "digest": digest, "size": size,
             "created_at": created} for name, digest, size in files])


def model_row(conn, model: Any, actor: str) -> tuple[int, bool]:
    """(our id, whether it was created) of a registered model, with its description, tags
    and times when new."""
    found = conn.execute(select(models.c.id).where(models.c.name == model.name)).scalar()
    if found is not None:
        return found, False
    created = seconds(model.creation_timestamp) or time.time()
    conn.execute(models.insert().values(
        name=model.name, description=model.description or None, created_at=created,
        updated_at=seconds(model.last_updated_timestamp) or created, created_by=actor,
        tags=convert.json_text(dict(model.tags)) if model.tags else None))
    return conn.execute(select(models.c.id).where(models.c.name == model.name)).scalar_one(), True


def present_versions(conn, model_id: int) -> dict[int, str | None]:
    """{number: source} of the model's versions here (an imported one keeps MLflow's
    source; one registered here has none)."""
    return dict(conn.execute(select(model_versions.c.version, model_versions.c.source).where(
        model_versions.c.model_id == model_id)).all())


def write_version(conn, model_id: int, name: str, version: Any, digest: str, size: int,
                  run_here: bool, actor: str) -> None:
    """A version with MLflow's number, source, tags and times; its run as lineage (the same
    `run_links` row registry_store.create_model_version writes) when that run is here."""
    number = int(version.version)
    created = seconds(version.creation_timestamp) or time.time()
    conn.execute(model_versions.insert().values(
        model_id=model_id, version=number, digest=digest, flavor="mlflow", size=size,
        signature=None, untrusted_types="[]", run_id=version.run_id if run_here else None,
        description=version.description or None, created_by=actor, created_at=created,
        updated_at=seconds(version.last_updated_timestamp) or created,
        tags=convert.json_text(dict(version.tags)) if version.tags else None,
        source=version.source, logged_model_id=getattr(version, "model_id", None) or None,
        run_link=version.run_link or None))
    if run_here:
        conn.execute(run_links.insert().values(
            run_id=version.run_id, direction="output", kind="model",
            ref=f"model:{name}@{number}", role=None, created_at=created))


def alias_version(conn, model_id: int, alias: str) -> int | None:
    return conn.execute(select(model_aliases.c.version).where(
        model_aliases.c.model_id == model_id, model_aliases.c.alias == alias)).scalar()
