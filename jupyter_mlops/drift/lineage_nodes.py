"""Lineage of monitoring: model version → monitoring batch (drift against its training
sketches) → alert → the pipeline run the alert queued (the retraining)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..lineage import Edge, Node
from ..store import get_store
from ..store.tables import alert_rules, alerts, drift_batches, models


def batch_node(batch_id: int, name: str, version: int, drift_share: float) -> Node:
    return Node(f"monitoring_batch:{batch_id}", "monitoring_batch",
                f"batch {batch_id} of {name}@{version} (drift {drift_share:.0%})",
                {"batch_id": batch_id, "model": f"{name}@{version}"})


def alert_node(alert_id: int, condition: str) -> Node:
    return Node(f"alert:{alert_id}", "alert", f"alert {alert_id}: {condition}",
                {"alert_id": alert_id})


def _batches(where) -> list:
    with get_store().read() as conn:
        return conn.execute(select(drift_batches.c.id, models.c.name, drift_batches.c.version,
                                   drift_batches.c.drift_share)
                            .join(models, models.c.id == drift_batches.c.model_id).where(where)
                            .order_by(drift_batches.c.at.desc()).limit(20)).all()


def model_batches(node: Node) -> Iterable[tuple[Edge, Node]]:
    """A model version is the reference of its monitoring batches."""
    name, _, version = node.label.partition("@")
    if not version.isdigit():
        return
    with get_store().read() as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        return
    for row in _batches((drift_batches.c.model_id == model_id)
                        & (drift_batches.c.version == int(version))):
        batch = batch_node(*row)
        yield Edge(node.id, batch.id, "monitored"), batch


def batch_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from ..registry.lineage_nodes import model_node
    from ..registry.versions import get_model_version

    model = model_node(get_model_version(node.data["model"]))
    yield Edge(model.id, node.id, "monitored"), model
    with get_store().read() as conn:
        rows = conn.execute(select(alerts.c.id, alert_rules.c.condition)
                            .join(alert_rules, alert_rules.c.id == alerts.c.rule_id)
                            .where(alerts.c.batch_id == node.data["batch_id"])).all()
    for alert_id, condition in rows:
        alert = alert_node(alert_id, condition)
        yield Edge(node.id, alert.id, "raised"), alert


def alert_neighbours(node: Node) -> Iterable[tuple[Edge, Node]]:
    from ..pipelines.lineage_nodes import run_of_pipeline
    from ..store.tables import pipeline_runs

    with get_store().read() as conn:
        row = conn.execute(select(alerts.c.batch_id, alerts.c.pipeline_run_id)
                           .where(alerts.c.id == node.data["alert_id"])).first()
        run = None if row is None or row.pipeline_run_id is None else conn.execute(
            select(pipeline_runs.c.id, pipeline_runs.c.pipeline, pipeline_runs.c.status)
            .where(pipeline_runs.c.id == row.pipeline_run_id)).first()
    if row is None:
        return
    for found in _batches(drift_batches.c.id == row.batch_id):
        batch = batch_node(*found)
        yield Edge(batch.id, node.id, "raised"), batch
    if run is not None:
        target = run_of_pipeline(*run)
        yield Edge(node.id, target.id, "triggered"), target


def pipeline_run_alert(node: Node) -> Iterable[tuple[Edge, Node]]:
    """The alert that queued a pipeline run (a retraining), if one did."""
    with get_store().read() as conn:
        rows = conn.execute(select(alerts.c.id, alert_rules.c.condition)
                            .join(alert_rules, alert_rules.c.id == alerts.c.rule_id)
                            .where(alerts.c.pipeline_run_id == node.data["pipeline_run_id"])
                            ).all()
    for alert_id, condition in rows:
        alert = alert_node(alert_id, condition)
        yield Edge(alert.id, node.id, "triggered"), alert


PROVIDERS = {"model": [model_batches], "monitoring_batch": [batch_neighbours],
             "alert": [alert_neighbours], "pipeline_run": [pipeline_run_alert]}
