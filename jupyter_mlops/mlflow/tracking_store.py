"""MLflow's tracking store over this store: `mlflow.set_tracking_uri("mlops:")` makes MLflow's
fluent API, `MlflowClient` and its autologgers write ordinary runs here (the sidebar, search
and lineage show them; in a kernel their cells are recorded and snapshot like `%%track`'s).

Each call is one transaction. MLflow's semantics hold where they differ from this store's:
params are exact strings, system tags round-trip, times are integer milliseconds, and
searches take MLflow's filter grammar, ordering and page tokens (runs_search.py).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import uuid
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from mlflow.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    ExperimentTag,
    InputTag,
    LifecycleStage,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
    ViewType,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.tracking import SEARCH_MAX_RESULTS_DEFAULT
from mlflow.store.tracking.abstract_store import AbstractStore
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME, MLFLOW_USER
from mlflow.utils.search_utils import SearchExperimentsUtils, SearchUtils
from mlflow.utils.validation import (
    _validate_batch_log_data,
    _validate_batch_log_limits,
    _validate_dataset_inputs,
    _validate_experiment_name,
    _validate_param_keys_unique,
    _validate_run_id,
)
from sqlalchemy import delete, func, select, update

from ..errors import AccessError
from ..store import record_change
from ..store.sql import upsert
from ..store.tables import (
    experiments,
    latest_metrics,
    params,
    run_datasets,
    run_links,
    runs,
    tags,
)
from ..tracking.records import put_text, write_tags
from . import convert, runs_search, uri
from .convert import DEFAULT_EXPERIMENT, invalid, mlflow_errors, ms, not_found, seconds
from .logged_models import LoggedModelsMixin
from .unsupported import GenAIRefusals


class MlopsTrackingStore(GenAIRefusals, LoggedModelsMixin, AbstractStore):
    """The tracking store MLflow builds for an `mlops` URI."""

    @mlflow_errors
    def __init__(self, store_uri: str = "mlops:", artifact_uri: str | None = None):
        super().__init__()
        self.store_uri = store_uri
        uri.store_for(store_uri)  # a bad URI fails here, when MLflow builds the store
        try:  # MLflow's clients expect experiment "0" (its SQL store makes it first too)
            self._ensure_default()
        except AccessError:
            pass  # a viewer of a team store where nobody made it yet

    @property
    def store(self):
        """The store the URI names now (MLflow keeps one instance per URI for the process,
        while `mlops:` follows the settings in force, as every other entry point does)."""
        return uri.store_for(self.store_uri)

    # -- experiments -------------------------------------------------------------------------

    def _experiment_id(self, conn, experiment_id: Any, create_default: bool = False) -> int:
        """This store's id of MLflow's experiment id ("0" is the experiment "Default")."""
        text = str(experiment_id)
        if text == "0":
            found = conn.execute(select(experiments.c.id).where(
                experiments.c.name == DEFAULT_EXPERIMENT)).scalar()
            if found is None and create_default:
                from ..tracking.records import experiment_id as make

                found = make(conn, DEFAULT_EXPERIMENT, create=True, dialect=self.store.dialect,
                             actor=self.store.actor)
            if found is None:
                raise not_found("No Experiment with id=0 exists")
            return found
        if not text.isdigit():
            raise invalid(f"invalid experiment id {experiment_id!r}: a number")
        return int(text)

    def _searched_experiments(self, conn, experiment_ids) -> list[int]:
        """This store's ids of the experiments a search names ("0" only once it exists)."""
        return [self._experiment_id(conn, e) for e in experiment_ids or []
                if str(e) != "0" or conn.execute(select(experiments.c.id).where(
                    experiments.c.name == DEFAULT_EXPERIMENT)).first()]

    def _experiment_row(self, conn, experiment_id: Any):
        exp_id = self._experiment_id(conn, experiment_id)
        row = conn.execute(select(experiments).where(experiments.c.id == exp_id)).first()
        if row is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        return row

    @staticmethod
    def _experiment_entity(row) -> Experiment:
        exp_id = "0" if row.name == DEFAULT_EXPERIMENT else str(row.id)
        return Experiment(
            experiment_id=exp_id, name=row.name,
            artifact_location=uri.experiment_artifact_uri(exp_id),
            lifecycle_stage=convert.LIFECYCLE_OUT.get(row.lifecycle, row.lifecycle),
            tags=[ExperimentTag(k, v) for k, v in convert.tags_of(row.tags).items()],
            creation_time=ms(row.created_at), last_update_time=ms(row.updated_at or row.created_at),
        )

    def _ensure_default(self) -> None:
        """Make MLflow's experiment "0" (this store's "Default") if it is missing."""
        with self.store.read() as conn:
            if conn.execute(select(experiments.c.id).where(
                    experiments.c.name == DEFAULT_EXPERIMENT)).first():
                return
        with self.store.write() as conn:
            self._experiment_id(conn, "0", create_default=True)

    @mlflow_errors
    def create_experiment(self, name, artifact_location=None, tags=None):
        _validate_experiment_name(name)
        if artifact_location:
            raise invalid(
                "the mlops store keeps every artifact in the project's artifact store "
                "(MLOPS_ARTIFACT_URI); create the experiment without artifact_location")
        now = time.time()
        with self.store.write("experiment", name, "created") as conn:
            if conn.execute(select(experiments.c.id).where(experiments.c.name == name)).first():
                raise convert.exists(f"Experiment(name={name}) already exists.")
            values = {t.key: t.value for t in tags or []}
            conn.execute(experiments.insert().values(
                name=name, created_at=now, updated_at=now, lifecycle="active",
                created_by=self.store.actor, tags=convert.json_text(values) if values else None))
            row = conn.execute(select(experiments).where(experiments.c.name == name)).one()
        return self._experiment_entity(row).experiment_id

    @mlflow_errors
    def get_experiment(self, experiment_id):
        if str(experiment_id) == "0":
            self._ensure_default()
        with self.store.read() as conn:
            return self._experiment_entity(self._experiment_row(conn, experiment_id))

    @mlflow_errors
    def get_experiment_by_name(self, experiment_name):
        if experiment_name == DEFAULT_EXPERIMENT:
            self._ensure_default()
        with self.store.read() as conn:
            row = conn.execute(select(experiments).where(
                experiments.c.name == experiment_name)).first()
        return None if row is None else self._experiment_entity(row)

    @mlflow_errors
    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY,
                           max_results=SEARCH_MAX_RESULTS_DEFAULT, filter_string=None,
                           order_by=None, page_token=None):
        """MLflow's filter and ordering over every experiment (a store holds few)."""
        runs_search.check_max_results(max_results)
        self._ensure_default()
        stages = set(LifecycleStage.view_type_to_stages(view_type))
        with self.store.read() as conn:
            rows = conn.execute(select(experiments)).all()
        found = [e for e in map(self._experiment_entity, rows) if e.lifecycle_stage in stages]
        found = SearchExperimentsUtils.filter(found, filter_string)
        found = SearchExperimentsUtils.sort(
            found, order_by or ["creation_time DESC", "experiment_id ASC"])
        start = SearchUtils.parse_start_offset_from_page_token(page_token)
        page = found[start:start + max_results]
        token = (SearchUtils.create_page_token(start + max_results)
                 if start + max_results < len(found) else None)
        return PagedList(page, token)

    def _set_experiment(self, experiment_id, action: str, **values) -> None:
        from ..team.access import require_changed

        with self.store.write() as conn:
            row = self._experiment_row(conn, experiment_id)
            result = conn.execute(update(experiments).where(experiments.c.id == row.id).values(
                updated_at=time.time(), **values))
            require_changed(self.store, result, 1, f"experiment {row.name!r}")
            if "lifecycle" in values:
                conn.execute(update(runs).where(runs.c.experiment_id == row.id).values(
                    lifecycle=values["lifecycle"]))
            record_change(conn, "experiment", values.get("name", row.name), action)

    @mlflow_errors
    def delete_experiment(self, experiment_id):
        if str(experiment_id) == "0":
            raise invalid("cannot delete the default experiment '0'")
        self._set_experiment(experiment_id, "archived", lifecycle="archived")

    @mlflow_errors
    def restore_experiment(self, experiment_id):
        self._set_experiment(experiment_id, "restored", lifecycle="active")

    @mlflow_errors
    def rename_experiment(self, experiment_id, new_name):
        _validate_experiment_name(new_name)
        with self.store.read() as conn:
            if conn.execute(select(experiments.c.id).where(
                    experiments.c.name == new_name)).first():
                raise convert.exists(f"Experiment(name={new_name}) already exists.")
            row = self._experiment_row(conn, experiment_id)
        if row.lifecycle != "active":
            raise invalid("Cannot rename a non-active experiment.")
        self._set_experiment(experiment_id, "renamed", name=new_name)

    def _experiment_tags(self, experiment_id, change) -> None:
        from ..team.access import require_changed

        with self.store.write() as conn:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle != "active":
                raise invalid(f"The experiment {row.id} must be in the 'active' state.")
            values = convert.tags_of(row.tags)
            change(values)
            result = conn.execute(update(experiments).where(experiments.c.id == row.id).values(
                tags=convert.json_text(values), updated_at=time.time()))
            require_changed(self.store, result, 1, f"experiment {row.name!r}")
            record_change(conn, "experiment", row.name, "tagged")

    @mlflow_errors
    def set_experiment_tag(self, experiment_id, tag):
        self._experiment_tags(experiment_id, lambda values: values.__setitem__(tag.key, tag.value))

    @mlflow_errors
    def delete_experiment_tag(self, experiment_id, key):
        def drop(values):
            if key not in values:
                raise not_found(f"No tag with name: {key} in experiment with id {experiment_id}")
            del values[key]

        self._experiment_tags(experiment_id, drop)

    # -- runs --------------------------------------------------------------------------------

    @mlflow_errors
    def create_run(self, experiment_id, user_id, start_time, tags, run_name):
        from ..tracking import capture

        tags = list(tags or [])
        by_key = {t.key: t.value for t in tags}
        named = by_key.get(MLFLOW_RUN_NAME)
        if run_name and named and run_name != named:
            raise invalid(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{named}').")
        if not run_name and not named:
            from mlflow.utils.name_utils import _generate_random_name

            run_name = _generate_random_name()
        run_name = run_name or named
        by_key[MLFLOW_RUN_NAME] = run_name
        run_id = uuid.uuid4().hex
        parent = by_key.get(MLFLOW_PARENT_RUN_ID)
        start = seconds(start_time) if start_time is not None else round(time.time(), 3)
        root = str(self.store_root())
        commit, dirty, _diff = capture.git_info(root)
        with self.store.write("run", run_id, "started") as conn:
            exp_id = self._experiment_id(conn, experiment_id, create_default=True)
            exp = conn.execute(select(experiments.c.lifecycle).where(
                experiments.c.id == exp_id)).first()
            if exp is None:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            if exp.lifecycle != "active":
                raise invalid(f"The experiment {experiment_id} must be in the 'active' state. "
                              "Current state is deleted.")
            if parent and not conn.execute(select(runs.c.id).where(runs.c.id == parent)).first():
                parent = None  # a parent in another store: kept as the tag only
            user = user_id or by_key.get(MLFLOW_USER) or self.store.actor
            conn.execute(runs.insert().values(
                id=run_id, experiment_id=exp_id, name=run_name[:255], status="running",
                parent_run_id=parent, start_time=start, heartbeat=time.time(), user=user,
                host=capture.host(), notebook=capture.source_file(root), git_commit=commit,
                git_dirty=dirty, python_version=sys.version.split()[0], lifecycle="active",
                environment_digest=put_text(conn, capture.environment(), self.store.dialect),
            ))
            write_tags(conn, run_id, by_key, self.store.dialect)
        self._follow(run_id, parent)
        info = RunInfo(
            run_id=run_id, experiment_id=str(experiment_id), user_id=user, status="RUNNING",
            start_time=ms(start), end_time=None, lifecycle_stage="active",
            artifact_uri=uri.run_artifact_uri(run_id), run_name=run_name)
        return Run(info, RunData(tags=[RunTag(k, v) for k, v in by_key.items()]),
                   RunInputs([], []), RunOutputs([]))

    def store_root(self):
        from .. import config

        if self.store_uri.startswith("mlops:///"):
            from urllib.parse import unquote, urlparse

            return unquote(urlparse(self.store_uri).path)
        return config.load().project_root

    def _follow(self, run_id: str, parent: str | None) -> None:
        """Keep the run's heartbeat while this process runs it; in a kernel, record the cells
        of a top-level run for its notebook snapshot, as `%%track` does."""
        from .. import config
        from ..tracking import capture, cells
        from ..tracking.run import Run as OurRun
        from ..tracking.writer import writer_for

        writer_for(self.store).beating.add(run_id)
        if parent is None and capture.ipython() is not None and config.load().record_cells:
            cells.start(OurRun(self.store, run_id))

    def _unfollow(self, run_id: str) -> None:
        from ..tracking import cells, snapshot
        from ..tracking.run import Run as OurRun
        from ..tracking.writer import writer_for

        writer = writer_for(self.store)
        writer.beating.discard(run_id)
        run = OurRun(self.store, run_id)
        recorder = cells.stop(run)
        if recorder is not None:
            snapshot.save(run, recorder)
            writer.flush()

    @mlflow_errors
    def update_run_info(self, run_id, run_status, end_time, run_name):
        from ..team.access import require_changed

        status = convert.status_in(run_status)
        with self.store.write("run", run_id, status) as conn:
            row = self._run_row(conn, run_id)
            self._check_active(row)
            values: dict[str, Any] = {"status": status}
            if end_time is not None:
                values["end_time"] = seconds(end_time)
            if run_name:
                values["name"] = run_name[:255]
                write_tags(conn, run_id, {MLFLOW_RUN_NAME: run_name}, self.store.dialect)
            if status != "running":
                values["heartbeat"] = time.time()
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
            require_changed(self.store, result, 1, f"run {run_id[:8]}")
            info = self._info(conn, SimpleNamespace(**{**row._asdict(), **values}))
        if status != "running":
            self._unfollow(run_id)
        return info

    def _run_row(self, conn, run_id: str, *columns):
        """The run's row (only `columns` when given), or MLflow's not-found error."""
        _validate_run_id(run_id)
        row = conn.execute(select(*(columns or (runs,))).where(runs.c.id == run_id)).first()
        if row is None:
            raise not_found(f"Run with id={run_id} not found")
        return row

    @staticmethod
    def _check_active(row) -> None:
        if row.lifecycle != "active":
            raise invalid(f"The run {row.id} must be in the 'active' state. Current state is "
                          "deleted.")

    def _set_lifecycle(self, run_id: str, lifecycle: str) -> None:
        from ..team.access import require_changed

        with self.store.write("run", run_id, lifecycle) as conn:
            self._run_row(conn, run_id)
            result = conn.execute(update(runs).where(runs.c.id == run_id).values(
                lifecycle=lifecycle))
            require_changed(self.store, result, 1, f"run {run_id[:8]}")

    @mlflow_errors
    def delete_run(self, run_id):
        self._set_lifecycle(run_id, "archived")

    @mlflow_errors
    def restore_run(self, run_id):
        self._set_lifecycle(run_id, "active")

    @mlflow_errors
    def get_run(self, run_id):
        with self.store.read() as conn:
            self._run_row(conn, run_id)
            return self._runs(conn, [run_id])[0]

    def _runs(self, conn, ids: list[str]) -> list[Run]:
        """MLflow's Run entities of `ids`, in that order: seven queries for any number, each
        taking the ids as one parameter. Python's garbage collector waits while a page of
        tens of thousands of small objects is built (its passes over a heap this young would
        cost a third of the time)."""
        if not ids:
            return []
        with _collector_paused():
            return self._build_runs(conn, ids)

    def _build_runs(self, conn, ids: list[str]) -> list[Run]:
        dialect = conn.dialect.name
        by_run = {i: ([], [], [], [], []) for i in ids}
        rows = {row.id: row for row in conn.execute(select(
            runs.c.id, runs.c.experiment_id, runs.c.name, runs.c.status, runs.c.user,
            runs.c.start_time, runs.c.end_time, runs.c.lifecycle).where(
            _among(runs.c.id, ids, dialect))).all()}
        for run_id, key, text in conn.execute(select(
                params.c.run_id, params.c.key, params.c.text).where(
                _among(params.c.run_id, ids, dialect))).all():
            by_run[run_id][0].append(Param(key, text))
        nan = float("nan")
        for run_id, key, value, step, ts in conn.execute(select(
                latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value,
                latest_metrics.c.step, latest_metrics.c.timestamp).where(
                _among(latest_metrics.c.run_id, ids, dialect))).all():
            by_run[run_id][1].append(Metric(key, nan if value is None else value,
                                            int(round(ts * 1000)), step))
        for run_id, key, value in conn.execute(select(tags.c.run_id, tags.c.key, tags.c.value)
                                               .where(_among(tags.c.run_id, ids, dialect))).all():
            by_run[run_id][2].append(RunTag(key, value))
        for row in conn.execute(select(run_datasets).where(
                _among(run_datasets.c.run_id, ids, dialect))):
            by_run[row.run_id][3].append(DatasetInput(
                Dataset(row.name, row.digest, row.source_type, row.source, row.schema,
                        row.profile),
                [InputTag(k, v) for k, v in json.loads(row.tags).items()]))
        for run_id, ref, role in conn.execute(select(
                run_links.c.run_id, run_links.c.ref, run_links.c.role).where(
                _among(run_links.c.run_id, ids, dialect), run_links.c.kind == "logged_model",
                run_links.c.direction == "output")):
            by_run[run_id][4].append(LoggedModelOutput(ref, int(role or 0)))
        experiment_ids = {
            exp_id: "0" if name == DEFAULT_EXPERIMENT else str(exp_id)
            for exp_id, name in conn.execute(select(experiments.c.id, experiments.c.name).where(
                experiments.c.id.in_({r.experiment_id for r in rows.values()})))}
        out = []
        for run_id in ids:
            row = rows[run_id]
            p, m, t, d, o = by_run[run_id]
            info = _run_info(row, experiment_ids[row.experiment_id])
            out.append(Run(info, RunData(metrics=m, params=p, tags=t), RunInputs(d, []),
                           RunOutputs(o)))
        return out

    @staticmethod
    def _info(conn, row) -> RunInfo:
        name = conn.execute(select(experiments.c.name).where(
            experiments.c.id == row.experiment_id)).scalar()
        return _run_info(row, "0" if name == DEFAULT_EXPERIMENT else str(row.experiment_id))

    @mlflow_errors
    def _search_runs(self, experiment_ids, filter_string, run_view_type, max_results, order_by,
                     page_token):
        runs_search.check_max_results(max_results)
        with self.store.read() as conn:
            exp_ids = self._searched_experiments(conn, experiment_ids)
            offset = SearchUtils.parse_start_offset_from_page_token(page_token)
            ids = runs_search.run_ids(conn, self.store.dialect, exp_ids, filter_string,
                                      run_view_type, order_by, offset, max_results)
            more = max_results is not None and len(ids) > max_results
            ids = ids[:max_results] if max_results is not None else ids
            found = self._runs(conn, ids)
        token = SearchUtils.create_page_token(offset + max_results) if more else None
        return found, token

    # -- logging -----------------------------------------------------------------------------

    @mlflow_errors
    def log_batch(self, run_id, metrics, params, tags):
        """Metrics, params and tags in one transaction: all of them, or none."""
        from ..tracking.writer import write_points

        _validate_run_id(run_id)
        metrics, params_, tags_ = _validate_batch_log_data(metrics, params, tags)
        _validate_batch_log_limits(metrics, params_, tags_)
        _validate_param_keys_unique(params_)
        store = self.store
        with store.write() as conn:
            row = self._run_row(conn, run_id, runs.c.id, runs.c.lifecycle, runs.c.experiment_id)
            self._check_active(row)
            if params_:
                self._write_params(conn, run_id, params_)
            if metrics:
                write_points(conn, store.dialect, [
                    (run_id, m.key, float(m.value), int(m.step or 0), seconds(m.timestamp))
                    for m in metrics])
                self.log_model_metrics(conn, run_id, row.experiment_id, metrics)
            if tags_:
                values = {t.key: t.value for t in tags_}
                write_tags(conn, run_id, values, store.dialect)
                if MLFLOW_RUN_NAME in values:
                    conn.execute(update(runs).where(runs.c.id == run_id).values(
                        name=values[MLFLOW_RUN_NAME][:255]))
            record_change(conn, "run", run_id, "logged")

    def _write_params(self, conn, run_id: str, given: list[Param]) -> None:
        keys = [p.key for p in given]
        existing = dict(conn.execute(select(params.c.key, params.c.text).where(
            params.c.run_id == run_id, params.c.key.in_(keys))).all())
        clash = [{"key": p.key, "old_value": existing[p.key], "new_value": p.value}
                 for p in given if p.key in existing and existing[p.key] != p.value]
        if clash:
            raise invalid(f"Changing param values is not allowed. Params were already logged="
                          f"'{clash}' for run ID='{run_id}'.")
        rows = [{"run_id": run_id, "key": p.key, "value": json.dumps(p.value),
                 "num": convert.param_number(p.value), "text": p.value}
                for p in given if p.key not in existing]
        if rows:
            conn.execute(params.insert(), rows)

    @mlflow_errors
    def get_metric_history(self, run_id, metric_key, max_results=None, page_token=None):
        """Every point of a metric in logging order (MLflow's paging when max_results)."""
        from ..store.series import unpack
        from ..store.tables import metric_chunks

        with self.store.read() as conn:
            self._run_row(conn, run_id)
            chunks = conn.execute(select(metric_chunks.c.count, metric_chunks.c.data).where(
                metric_chunks.c.run_id == run_id, metric_chunks.c.key == metric_key).order_by(
                metric_chunks.c.id)).all()
        points = []
        for count, data in chunks:
            steps, values, stamps = unpack(data, count)
            points.extend(Metric(metric_key, float(v), ms(float(t)), int(s))
                          for s, v, t in zip(steps.tolist(), values.tolist(), stamps.tolist(), strict=True))
        if max_results is None and page_token is None:
            return PagedList(points, None)
        start = SearchUtils.parse_start_offset_from_page_token(page_token)
        size = max_results or len(points)
        token = (SearchUtils.create_page_token(start + size)
                 if start + size < len(points) else None)
        return PagedList(points[start:start + size], token)

    @mlflow_errors
    def set_tag(self, run_id, tag):
        self.log_batch(run_id, [], [], [tag])

    @mlflow_errors
    def delete_tag(self, run_id, key):
        with self.store.write("run", run_id, "logged") as conn:
            self._check_active(self._run_row(conn, run_id))
            result = conn.execute(delete(tags).where(tags.c.run_id == run_id, tags.c.key == key))
            if result.rowcount == 0:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")

    @mlflow_errors
    def log_inputs(self, run_id, datasets=None, models=None):
        """Datasets (MLflow's name, digest, source and input tags) and logged models a run
        read; the same dataset again is kept once."""
        _validate_run_id(run_id)
        if datasets is not None:
            if not isinstance(datasets, list):
                raise TypeError(f"Argument 'datasets' should be a list, got '{type(datasets)}'")
            _validate_dataset_inputs(datasets)
        now = time.time()
        with self.store.write("run", run_id, "logged") as conn:
            self._check_active(self._run_row(conn, run_id))
            seen = set()
            for given in datasets or []:
                d = given.dataset
                if (d.name, d.digest) in seen:
                    continue
                seen.add((d.name, d.digest))
                input_tags = {t.key: t.value for t in given.tags or []}
                conn.execute(upsert(self.store.dialect, run_datasets, ["run_id", "name", "digest"],
                                    ["context", "tags"]), {
                    "run_id": run_id, "name": d.name, "digest": d.digest,
                    "context": input_tags.get("mlflow.data.context"),
                    "source_type": d.source_type, "source": d.source, "schema": d.schema,
                    "profile": d.profile, "tags": convert.json_text(input_tags),
                    "created_at": now})
            for model in models or []:
                conn.execute(run_links.insert().values(
                    run_id=run_id, direction="input", kind="logged_model", ref=model.model_id,
                    created_at=now))

    @mlflow_errors
    def link_traces_to_run(self, trace_ids, run_id):
        self.refuse("traces")


def _run_info(row, experiment_id: str) -> RunInfo:
    return RunInfo(
        run_id=row.id, experiment_id=experiment_id, user_id=row.user or "",
        status=convert.STATUS_OUT.get(row.status, row.status), start_time=ms(row.start_time),
        end_time=ms(row.end_time),
        lifecycle_stage=convert.LIFECYCLE_OUT.get(row.lifecycle, row.lifecycle),
        artifact_uri=uri.run_artifact_uri(row.id), run_name=row.name)


def _among(column, ids: list[str], dialect: str):
    """`column IN ids` with the ids as one parameter (a JSON array on SQLite, an array on
    PostgreSQL): no statement of thousands of parameters to build, and no parameter limit."""
    from sqlalchemy import String, any_, bindparam, literal_column
    from sqlalchemy.dialects.postgresql import ARRAY

    if dialect == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(String)))
    each = select(literal_column("value")).select_from(
        func.json_each(bindparam("ids", json.dumps(ids))))
    return column.in_(each)


@contextmanager
def _collector_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


