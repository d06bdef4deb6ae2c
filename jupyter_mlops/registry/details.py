"""What a model's view shows beside each version, so choosing one to promote needs no other
view: its run's latest metrics, the datasets it was trained on (by digest), and its drift
status from its latest monitoring batch. Read in a few queries for all versions at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from ..store.tables import (
    dataset_versions,
    datasets,
    drift_batches,
    latest_metrics,
    run_links,
)


def version_details(conn: Any, model_id: int, versions: list[tuple[int, str | None, str | None]]
                    ) -> dict[int, dict[str, Any]]:
    """For each (version, run_id, training_data): `metrics` (its run's latest values, {}
    without a run), `inputs` (the run's training datasets: inputs with role train, else every
    dataset input, else the version's training_data; each {ref, digest}) and `drift`
    ({status: ok | drifted | unmonitored, at, drift_share} of its newest monitoring batch)."""
    run_ids = [run_id for _, run_id, _ in versions if run_id]
    metrics: dict[str, dict[str, float | None]] = {}
    links: dict[str, list[tuple[str, str | None]]] = {}
    if run_ids:
        for run_id, key, value in conn.execute(
                select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value)
                .where(latest_metrics.c.run_id.in_(run_ids)).order_by(latest_metrics.c.key)):
            metrics.setdefault(run_id, {})[key] = value
        for run_id, ref, role in conn.execute(
                select(run_links.c.run_id, run_links.c.ref, run_links.c.role)
                .where(run_links.c.run_id.in_(run_ids), run_links.c.direction == "input",
                       run_links.c.kind == "dataset").order_by(run_links.c.id)):
            links.setdefault(run_id, []).append((ref, role))
    trained = {version: _training(links.get(run_id or "", []), training)
               for version, run_id, training in versions}
    digests = _digests(conn, {ref for refs_ in trained.values() for ref in refs_})
    drift = _drift(conn, model_id)
    return {version: {"metrics": metrics.get(run_id or "", {}),
                      "inputs": [{"ref": ref, "digest": digests.get(ref)}
                                 for ref in trained[version]],
                      "drift": drift.get(version, {"status": "unmonitored", "at": None,
                                                   "drift_share": None})}
            for version, run_id, _ in versions}


def _training(links: list[tuple[str, str | None]], training_data: str | None) -> list[str]:
    train = [ref for ref, role in links if role == "train"]
    chosen = train or [ref for ref, _ in links] or ([training_data] if training_data else [])
    return list(dict.fromkeys(chosen))


def _digests(conn: Any, refs_: set[str]) -> dict[str, str]:
    """The digest of each `dataset:name@version` reference (absent when it is gone)."""
    wanted: dict[tuple[str, int], str] = {}
    for ref in refs_:
        name, _, version = ref.removeprefix("dataset:").rpartition("@")
        if version.isdigit():
            wanted[(name, int(version))] = ref
    if not wanted:
        return {}
    rows = conn.execute(
        select(datasets.c.name, dataset_versions.c.version, dataset_versions.c.digest)
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .where(datasets.c.name.in_({name for name, _ in wanted})))
    return {wanted[(name, version)]: digest for name, version, digest in rows
            if (name, version) in wanted}


def _drift(conn: Any, model_id: int) -> dict[int, dict[str, Any]]:
    """Each monitored version's newest batch: ok or drifted, when, its drift share."""
    newest = (select(drift_batches.c.version, func.max(drift_batches.c.at).label("at"))
              .where(drift_batches.c.model_id == model_id)
              .group_by(drift_batches.c.version).subquery())
    rows = conn.execute(
        select(drift_batches.c.version, drift_batches.c.at, drift_batches.c.drift_share,
               drift_batches.c.drifted)
        .join(newest, and_(newest.c.version == drift_batches.c.version,
                           newest.c.at == drift_batches.c.at))
        .where(drift_batches.c.model_id == model_id).order_by(drift_batches.c.id))
    return {version: {"status": "drifted" if drifted else "ok", "at": at, "drift_share": share}
            for version, at, share, drifted in rows}
