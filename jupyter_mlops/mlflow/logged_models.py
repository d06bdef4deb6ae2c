"""MLflow 3's logged models in this store: what `log_model` and the autologgers create,
finalize, tag, search and link to runs (a run's outputs and inputs). Params, tags and
metrics of a model are JSON on its row; its files are in the artifact store
(`logged_model_artifacts`, written through the artifact repository)."""

from __future__ import annotations

import json
import time
import uuid

from mlflow.entities import LoggedModel, LoggedModelStatus, Metric
from mlflow.store.tracking import SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT
from mlflow.utils.mlflow_tags import MLFLOW_LOGGED_MODELS
from mlflow.utils.search_utils import SearchLoggedModelsUtils
from mlflow.utils.validation import _validate_tag
from sqlalchemy import select, update

from ..store import record_change
from ..store.sql import upsert
from ..store.tables import experiments, logged_models, run_links, tags
from . import convert, uri
from .convert import DEFAULT_EXPERIMENT, invalid, mlflow_errors, ms, not_found


class LoggedModelsMixin:
    """The logged-model methods of the tracking store (`self.store` is the Store)."""

    def _model_row(self, conn, model_id: str, allow_deleted: bool = False):
        row = conn.execute(select(logged_models).where(logged_models.c.id == model_id)).first()
        if row is None or (row.lifecycle != "active" and not allow_deleted):
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return row

    def _model_entities(self, conn, rows) -> list[LoggedModel]:
        names = dict(conn.execute(select(experiments.c.id, experiments.c.name).where(
            experiments.c.id.in_({r.experiment_id for r in rows}))).all())
        out = []
        for row in rows:
            exp_id = "0" if names[row.experiment_id] == DEFAULT_EXPERIMENT else str(
                row.experiment_id)
            out.append(LoggedModel(
                experiment_id=exp_id, model_id=row.id, name=row.name,
                artifact_location=uri.model_artifact_uri(row.id),
                creation_timestamp=ms(row.created_at), last_updated_timestamp=ms(row.updated_at),
                model_type=row.model_type, source_run_id=row.source_run_id,
                status=LoggedModelStatus(row.status), tags=json.loads(row.tags),
                params=json.loads(row.params),
                metrics=[Metric(**m) for m in json.loads(row.metrics)],
            ))
        return out

    @mlflow_errors
    def create_logged_model(self, experiment_id, name=None, source_run_id=None, tags=None,
                            params=None, model_type=None):
        from mlflow.utils.name_utils import _generate_random_name

        model_id = f"m-{uuid.uuid4().hex}"
        now = round(time.time(), 3)
        with self.store.write("logged_model", model_id, "created") as conn:
            exp_id = self._experiment_id(conn, experiment_id, create_default=True)
            if conn.execute(select(experiments.c.lifecycle).where(
                    experiments.c.id == exp_id)).scalar() != "active":
                raise invalid(f"The experiment {experiment_id} must be in the 'active' state.")
            if source_run_id is not None:
                self._run_row(conn, source_run_id)
            conn.execute(logged_models.insert().values(
                id=model_id, experiment_id=exp_id, name=name or _generate_random_name(),
                source_run_id=source_run_id, status=str(LoggedModelStatus.PENDING),
                model_type=model_type,
                params=convert.json_text({p.key: p.value for p in params or []}),
                tags=convert.json_text({t.key: t.value for t in tags or []}), metrics="[]",
                lifecycle="active", created_at=now, updated_at=now,
                created_by=self.store.actor))
            return self._model_entities(conn, [self._model_row(conn, model_id)])[0]

    @mlflow_errors
    def get_logged_model(self, model_id, allow_deleted=False):
        with self.store.read() as conn:
            return self._model_entities(conn, [self._model_row(conn, model_id, allow_deleted)])[0]

    def _update_model(self, model_id: str, change) -> LoggedModel:
        from ..team.access import require_changed

        with self.store.write("logged_model", model_id, "updated") as conn:
            row = self._model_row(conn, model_id)
            values = change(row)
            result = conn.execute(update(logged_models).where(logged_models.c.id == model_id)
                                  .values(updated_at=round(time.time(), 3), **values))
            require_changed(self.store, result, 1, f"logged model {model_id}")
            return self._model_entities(conn, [self._model_row(conn, model_id, True)])[0]

    @mlflow_errors
    def finalize_logged_model(self, model_id, status):
        return self._update_model(model_id, lambda row: {"status": str(LoggedModelStatus(
            status))})

    @mlflow_errors
    def set_logged_model_tags(self, model_id, tags):
        def change(row):
            values = json.loads(row.tags)
            values.update({t.key: t.value for t in tags})
            return {"tags": convert.json_text(values)}

        self._update_model(model_id, change)

    @mlflow_errors
    def delete_logged_model_tag(self, model_id, key):
        def change(row):
            values = json.loads(row.tags)
            if key not in values:
                raise not_found(f"No tag with key {key!r} found for model with ID {model_id!r}.")
            del values[key]
            return {"tags": convert.json_text(values)}

        self._update_model(model_id, change)

    @mlflow_errors
    def delete_logged_model(self, model_id):
        self._update_model(model_id, lambda row: {"lifecycle": "archived"})

    @mlflow_errors
    def search_logged_models(self, experiment_ids, filter_string=None, datasets=None,
                             max_results=None, order_by=None, page_token=None):
        """MLflow's own filter, ordering and paging over the models of the experiments."""
        from mlflow.store.entities.paged_list import PagedList

        if datasets and not all(d.get("dataset_name") for d in datasets):
            raise invalid("`dataset_name` in the `datasets` clause must be specified.")
        with self.store.read() as conn:
            ids = self._searched_experiments(conn, experiment_ids)
            rows = conn.execute(select(logged_models).where(
                logged_models.c.experiment_id.in_(ids),
                logged_models.c.lifecycle == "active")).all()
            found = self._model_entities(conn, rows)
        found = SearchLoggedModelsUtils.filter_logged_models(found, filter_string, datasets)
        found = SearchLoggedModelsUtils.sort(found, order_by)
        page, token = SearchLoggedModelsUtils.paginate(
            found, page_token, max_results or SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT)
        return PagedList(page, token)

    @mlflow_errors
    def log_outputs(self, run_id, models):
        now = time.time()
        with self.store.write("run", run_id, "logged") as conn:
            self._check_active(self._run_row(conn, run_id))
            for model in models:
                self._model_row(conn, model.model_id)
                conn.execute(run_links.insert().values(
                    run_id=run_id, direction="output", kind="logged_model", ref=model.model_id,
                    role=str(model.step), created_at=now))

    @mlflow_errors
    def record_logged_model(self, run_id, mlflow_model):
        """The model's summary appended to the run's `mlflow.log-model.history` tag."""
        from mlflow.models import Model

        if not isinstance(mlflow_model, Model):
            raise TypeError(
                f"Argument 'mlflow_model' should be mlflow.models.Model, got '{type(mlflow_model)}'")
        with self.store.write("run", run_id, "logged") as conn:
            self._check_active(self._run_row(conn, run_id))
            previous = conn.execute(select(tags.c.value).where(
                tags.c.run_id == run_id, tags.c.key == MLFLOW_LOGGED_MODELS)).scalar()
            value = json.dumps((json.loads(previous) if previous else [])
                               + [mlflow_model.get_tags_dict()])
            _validate_tag(MLFLOW_LOGGED_MODELS, value)
            conn.execute(upsert(self.store.dialect, tags, ["run_id", "key"], ["value"]),
                         {"run_id": run_id, "key": MLFLOW_LOGGED_MODELS, "value": value})

    def log_model_metrics(self, conn, run_id: str, experiment_id: int,
                          metrics: list[Metric]) -> None:
        """Metrics logged with a model id also belong to that model (MLflow 3)."""
        by_model: dict[str, list[dict]] = {}
        for m in metrics:
            if m.model_id:
                by_model.setdefault(m.model_id, []).append({
                    "key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step,
                    "model_id": m.model_id, "dataset_name": m.dataset_name,
                    "dataset_digest": m.dataset_digest, "run_id": run_id})
        for model_id, added in by_model.items():
            row = conn.execute(select(logged_models.c.metrics).where(
                logged_models.c.id == model_id)).first()
            if row is None:
                raise not_found(f"Logged model with ID '{model_id}' not found.")
            conn.execute(update(logged_models).where(logged_models.c.id == model_id).values(
                metrics=json.dumps(json.loads(row.metrics) + added),
                updated_at=round(time.time(), 3)))
            record_change(conn, "logged_model", model_id, "logged")

    @mlflow_errors
    def filter_active_experiment_ids(self, experiment_ids):
        with self.store.read() as conn:
            active = {r.id for r in conn.execute(select(experiments.c.id).where(
                experiments.c.lifecycle == "active"))}
            return [e for e in experiment_ids if self._experiment_id(conn, e) in active]

