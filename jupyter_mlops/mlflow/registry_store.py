"""MLflow's model registry store over this registry: registered models, their versions,
aliases and tags. A version MLflow creates is stored like any other here: its MLflow model
directory packed into one blob (the `mlflow` flavor), its run as lineage. Alias moves go
through the registry's own audited move, so they land in the alias history, and on a team
store a protected alias refuses MLflow too (PERMISSION_DENIED, naming request_promotion).

Searches use MLflow's own filter and ordering over the (few) models of a store. Stage
transitions, deprecated in MLflow, are refused with a clear error.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from mlflow.entities.model_registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from mlflow.store.entities.paged_list import PagedList
from mlflow.store.model_registry.abstract_store import AbstractStore
from mlflow.utils.search_utils import SearchModelUtils, SearchModelVersionUtils, SearchUtils
from sqlalchemy import delete, func, select, update

from .. import refs
from ..store.tables import (
    alias_events,
    logged_models,
    model_aliases,
    model_versions,
    models,
    run_links,
    runs,
)
from . import convert, uri
from .convert import invalid, mlflow_errors, ms, not_found

SEARCH_MAX = 1000


class MlopsRegistryStore(AbstractStore):
    """The registry store MLflow builds for an `mlops` URI."""

    @mlflow_errors
    def __init__(self, store_uri: str = "mlops:", tracking_uri: str | None = None):
        super().__init__(store_uri=store_uri, tracking_uri=tracking_uri)
        self.store_uri = store_uri
        self.tracking_uri = tracking_uri if uri.is_mlops_uri(tracking_uri) else store_uri
        uri.store_for(store_uri)  # a bad URI fails here, when MLflow builds the store

    @property
    def store(self):
        """The store the URI names now (see MlopsTrackingStore.store)."""
        return uri.store_for(self.store_uri)

    # -- entities ----------------------------------------------------------------------------

    def _model(self, conn, name: str):
        row = conn.execute(select(models).where(models.c.name == name)).first()
        if row is None:
            raise not_found(f"Registered Model with name={name} not found")
        return row

    def _version_row(self, conn, name: str, version: Any):
        model = self._model(conn, name)
        number = _number(version)
        row = conn.execute(select(model_versions).where(
            model_versions.c.model_id == model.id, model_versions.c.version == number)).first()
        if row is None:
            raise not_found(f"Model Version (name={name}, version={version}) not found")
        return model, row

    def _versions(self, conn, name: str, rows) -> list[ModelVersion]:
        model = self._model(conn, name) if rows else None
        aliases: dict[int, list[str]] = {}
        if model is not None:
            for alias, number in conn.execute(select(model_aliases.c.alias, model_aliases.c.version)
                                              .where(model_aliases.c.model_id == model.id)):
                aliases.setdefault(number, []).append(alias)
        return [ModelVersion(
            name=name, version=str(r.version), creation_timestamp=ms(r.created_at),
            last_updated_timestamp=ms(r.updated_at or r.created_at), description=r.description,
            user_id=r.created_by, current_stage="None", source=r.source or _ours(name, r),
            run_id=r.run_id, status="READY", tags=[ModelVersionTag(k, v) for k, v in
                                                   convert.tags_of(r.tags).items()],
            run_link=r.run_link, aliases=sorted(aliases.get(r.version, [])),
            model_id=r.logged_model_id) for r in rows]

    def _registered(self, conn, row) -> RegisteredModel:
        latest = conn.execute(select(model_versions).where(
            model_versions.c.model_id == row.id).order_by(
            model_versions.c.version.desc()).limit(1)).all()
        aliases = conn.execute(select(model_aliases.c.alias, model_aliases.c.version).where(
            model_aliases.c.model_id == row.id)).all()
        return RegisteredModel(
            name=row.name, creation_timestamp=ms(row.created_at),
            last_updated_timestamp=ms(row.updated_at or row.created_at),
            description=row.description, latest_versions=self._versions(conn, row.name, latest),
            tags=[RegisteredModelTag(k, v) for k, v in convert.tags_of(row.tags).items()],
            aliases=[RegisteredModelAlias(a, str(v)) for a, v in sorted(aliases)])

    # -- registered models -------------------------------------------------------------------

    @mlflow_errors
    def create_registered_model(self, name, tags=None, description=None, deployment_job_id=None):
        name = refs.check_name(name, "model name")
        now = time.time()
        values = {t.key: t.value for t in tags or []}
        with self.store.write("model", name, "created") as conn:
            if conn.execute(select(models.c.id).where(models.c.name == name)).first():
                raise convert.exists(f"Registered Model (name={name}) already exists.")
            conn.execute(models.insert().values(
                name=name, description=description, created_at=now, updated_at=now,
                created_by=self.store.actor, tags=convert.json_text(values) if values else None))
            return self._registered(conn, self._model(conn, name))

    def _update_model(self, model: str, action: str, **values) -> None:
        from ..team.access import require_changed

        with self.store.write("model", values.get("name", model), action) as conn:
            row = self._model(conn, model)
            result = conn.execute(update(models).where(models.c.id == row.id).values(
                updated_at=time.time(), **values))
            require_changed(self.store, result, 1, f"model {model!r}")

    @mlflow_errors
    def update_registered_model(self, name, description, deployment_job_id=None):
        self._update_model(name, "updated", description=description)
        return self.get_registered_model(name)

    @mlflow_errors
    def rename_registered_model(self, name, new_name):
        new_name = refs.check_name(new_name, "model name")
        with self.store.read() as conn:
            if conn.execute(select(models.c.id).where(models.c.name == new_name)).first():
                raise convert.exists(f"Registered Model (name={new_name}) already exists.")
        self._update_model(name, "renamed", name=new_name)
        return self.get_registered_model(new_name)

    @mlflow_errors
    def delete_registered_model(self, name):
        """The model with its versions, aliases, their history, policies, requests and
        events; refused while production monitoring (batches, drift, alert rules) refers to
        it, which only this store's own API removes."""
        from ..store.tables import (
            alert_rules,
            alias_policies,
            drift_batches,
            event_deliveries,
            event_hooks,
            monitoring_batches,
            promotion_requests,
            registry_events,
        )
        from ..team.access import require_changed

        with self.store.write("model", name, "deleted") as conn:
            row = self._model(conn, name)
            for table in (monitoring_batches, drift_batches, alert_rules):
                if conn.execute(select(table.c.id).where(table.c.model_id == row.id)
                                .limit(1)).first():
                    raise invalid(f"model {name!r} has production monitoring ({table.name}); "
                                  "it is not deleted through MLflow")
            events = select(registry_events.c.id).where(registry_events.c.model_id == row.id)
            conn.execute(delete(event_deliveries).where(event_deliveries.c.event_id.in_(events)))
            for table in (registry_events, event_hooks, promotion_requests, alias_policies,
                          model_aliases, alias_events):
                conn.execute(delete(table).where(table.c.model_id == row.id))
            conn.execute(delete(run_links).where(run_links.c.kind == "model",
                                                 run_links.c.ref.startswith(f"model:{name}@",
                                                                            autoescape=True)))
            conn.execute(delete(model_versions).where(model_versions.c.model_id == row.id))
            require_changed(self.store, conn.execute(delete(models).where(models.c.id == row.id)),
                            1, f"model {name!r}")

    @mlflow_errors
    def get_registered_model(self, name):
        with self.store.read() as conn:
            return self._registered(conn, self._model(conn, name))

    @mlflow_errors
    def search_registered_models(self, filter_string=None, max_results=None, order_by=None,
                                 page_token=None):
        max_results = _max(max_results)
        with self.store.read() as conn:
            found = [self._registered(conn, r) for r in conn.execute(select(models)).all()]
        found = SearchModelUtils.filter(found, filter_string)
        found = SearchModelUtils.sort(found, order_by or ["name ASC"])
        return _page(found, page_token, max_results)

    @mlflow_errors
    def get_latest_versions(self, name, stages=None):
        """Stages are deprecated in MLflow; every version here is in stage "None"."""
        if stages and "None" not in stages and "none" not in [s.lower() for s in stages]:
            return []
        with self.store.read() as conn:
            model = self._model(conn, name)
            rows = conn.execute(select(model_versions).where(
                model_versions.c.model_id == model.id).order_by(
                model_versions.c.version.desc()).limit(1)).all()
            return self._versions(conn, name, rows)

    def _model_tags(self, name: str, change) -> None:
        from ..team.access import require_changed

        with self.store.write("model", name, "tagged") as conn:
            row = self._model(conn, name)
            values = convert.tags_of(row.tags)
            change(values)
            result = conn.execute(update(models).where(models.c.id == row.id).values(
                tags=convert.json_text(values), updated_at=time.time()))
            require_changed(self.store, result, 1, f"model {name!r}")

    @mlflow_errors
    def set_registered_model_tag(self, name, tag):
        self._model_tags(name, lambda values: values.__setitem__(tag.key, tag.value))

    @mlflow_errors
    def delete_registered_model_tag(self, name, key):
        self._model_tags(name, lambda values: values.pop(key, None))

    # -- versions ----------------------------------------------------------------------------

    @mlflow_errors
    def create_model_version(self, name, source, run_id=None, tags=None, run_link=None,
                             description=None, local_model_path=None, model_id=None):
        """The next version of `name` (created if new): the MLflow model at `source` (or
        `local_model_path`) packed into one blob, linked to its run."""
        from .flavor import pack

        name = refs.check_name(name, "model name")
        data = pack(local_model_path) if local_model_path else self._fetch(source)
        digest, size = self.store.artifacts.put_bytes(data)
        now = time.time()
        values = {t.key: t.value for t in tags or []}
        from sqlalchemy.exc import IntegrityError

        for _attempt in range(5):  # another writer may take the number: try the next
            try:
                with self.store.write("model", name, "registered") as conn:
                    if run_id is None and model_id:  # MLflow 3 names the logged model only
                        run_id = conn.execute(select(logged_models.c.source_run_id).where(
                            logged_models.c.id == model_id)).scalar()
                    known = run_id and conn.execute(select(runs.c.id).where(
                        runs.c.id == run_id)).first()
                    model = conn.execute(select(models).where(models.c.name == name)).first()
                    if model is None:
                        conn.execute(models.insert().values(
                            name=name, created_at=now, updated_at=now,
                            created_by=self.store.actor))
                        model = self._model(conn, name)
                    number = conn.execute(select(func.coalesce(func.max(
                        model_versions.c.version), 0)).where(
                        model_versions.c.model_id == model.id)).scalar() + 1
                    conn.execute(model_versions.insert().values(
                        model_id=model.id, version=number, digest=digest, flavor="mlflow",
                        size=size, signature=None, untrusted_types="[]",
                        run_id=run_id if known else None, description=description,
                        created_by=self.store.actor, created_at=now, updated_at=now,
                        tags=convert.json_text(values) if values else None, source=source,
                        logged_model_id=model_id, run_link=run_link))
                    if known:
                        conn.execute(run_links.insert().values(
                            run_id=run_id, direction="output", kind="model",
                            ref=f"model:{name}@{number}", role=None, created_at=now))
                    conn.execute(update(models).where(models.c.id == model.id).values(
                        updated_at=now))
                    out = self._versions(conn, name, [self._version_row(conn, name, number)[1]])
                break
            except IntegrityError:
                continue
        else:
            raise invalid(f"could not number a new version of {name!r}: too many writers")
        from ..team.events import deliver_after_commit

        deliver_after_commit()
        return out[0]

    def _fetch(self, source: str) -> bytes:
        """The MLflow model at `source` (any URI MLflow resolves), packed."""
        import mlflow.artifacts

        from .flavor import pack

        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=source, dst_path=tmp, tracking_uri=self.tracking_uri)
            return pack(path)

    @mlflow_errors
    def update_model_version(self, name, version, description):
        from ..team.access import require_changed

        with self.store.write("model", name, "updated") as conn:
            _model, row = self._version_row(conn, name, version)
            require_changed(self.store, conn.execute(update(model_versions).where(
                model_versions.c.id == row.id).values(description=description,
                                                        updated_at=time.time())), 1,
                f"version {version} of model {name!r}")
            return self._versions(conn, name, [self._version_row(conn, name, version)[1]])[0]

    @mlflow_errors
    def transition_model_version_stage(self, name, version, stage, archive_existing_versions):
        raise invalid("model stages are deprecated in MLflow and not kept by the mlops "
                      "registry: use aliases (set_registered_model_alias)")

    @mlflow_errors
    def delete_model_version(self, name, version):
        """The version, and the aliases that point at it (each removal in the history)."""
        from ..registry.aliases import move_alias
        from ..team.access import require_changed

        with self.store.write("model", name, "deleted") as conn:
            model, row = self._version_row(conn, name, version)
            for alias in conn.execute(select(model_aliases.c.alias).where(
                    model_aliases.c.model_id == model.id,
                    model_aliases.c.version == row.version)).scalars().all():
                move_alias(conn, model.id, name, alias, None, self.store.actor,
                           f"version {row.version} deleted through MLflow", store=self.store)
            conn.execute(delete(run_links).where(run_links.c.kind == "model",
                                                 run_links.c.ref == f"model:{name}@{row.version}"))
            require_changed(self.store, conn.execute(delete(model_versions).where(
                model_versions.c.id == row.id)), 1, f"version {version} of model {name!r}")

    @mlflow_errors
    def get_model_version(self, name, version):
        with self.store.read() as conn:
            return self._versions(conn, name, [self._version_row(conn, name, version)[1]])[0]

    @mlflow_errors
    def get_model_version_download_uri(self, name, version):
        return self.get_model_version(name, version).source

    @mlflow_errors
    def search_model_versions(self, filter_string=None, max_results=None, order_by=None,
                              page_token=None):
        max_results = _max(max_results, default=10_000)
        found = []
        with self.store.read() as conn:
            for model in conn.execute(select(models)).all():
                rows = conn.execute(select(model_versions).where(
                    model_versions.c.model_id == model.id)).all()
                found += self._versions(conn, model.name, rows)
        found = SearchModelVersionUtils.filter(found, filter_string)
        found = SearchModelVersionUtils.sort(found, order_by or ["last_updated_timestamp DESC",
                                                                 "name ASC", "version_number DESC"])
        return _page(found, page_token, max_results)

    def _version_tags(self, name: str, version: Any, change) -> None:
        from ..team.access import require_changed

        with self.store.write("model", name, "tagged") as conn:
            _model, row = self._version_row(conn, name, version)
            values = convert.tags_of(row.tags)
            change(values)
            require_changed(self.store, conn.execute(update(model_versions).where(
                model_versions.c.id == row.id).values(tags=convert.json_text(values),
                                                        updated_at=time.time())), 1,
                f"version {version} of model {name!r}")

    @mlflow_errors
    def set_model_version_tag(self, name, version, tag):
        self._version_tags(name, version, lambda values: values.__setitem__(tag.key, tag.value))

    @mlflow_errors
    def delete_model_version_tag(self, name, version, key):
        self._version_tags(name, version, lambda values: values.pop(key, None))

    # -- aliases -----------------------------------------------------------------------------

    @mlflow_errors
    def set_registered_model_alias(self, name, alias, version):
        """An audited move (the alias history shows it); protected aliases of a team store
        move only by an approved request."""
        from ..registry.aliases import _locked_model, move_alias
        from ..team.events import deliver_after_commit

        alias = refs.check_alias(alias)
        with self.store.write("model", name, "alias") as conn:
            self._model(conn, name)
            model_id = _locked_model(conn, name)
            _model, row = self._version_row(conn, name, version)
            move_alias(conn, model_id, name, alias, row.version, self.store.actor,
                       "set through MLflow", store=self.store)
        deliver_after_commit()

    @mlflow_errors
    def delete_registered_model_alias(self, name, alias):
        from ..registry.aliases import _locked_model, move_alias
        from ..team.events import deliver_after_commit

        with self.store.write("model", name, "alias") as conn:
            self._model(conn, name)
            model_id = _locked_model(conn, name)
            if move_alias(conn, model_id, name, alias, None, self.store.actor,
                          "removed through MLflow", store=self.store) is None:
                raise not_found(f"Registered model alias {alias} not found.")
        deliver_after_commit()

    @mlflow_errors
    def get_model_version_by_alias(self, name, alias):
        with self.store.read() as conn:
            model = self._model(conn, name)
            number = conn.execute(select(model_aliases.c.version).where(
                model_aliases.c.model_id == model.id, model_aliases.c.alias == alias)).scalar()
            if number is None:
                raise not_found(f"Registered model alias {alias} not found.")
            return self._versions(conn, name, [self._version_row(conn, name, number)[1]])[0]


def _number(version: Any) -> int:
    text = str(version)
    if not text.isdigit() or int(text) < 1:
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.")
    return int(text)


def _ours(name: str, row) -> str:
    """Where a version registered by jupyter-mlops itself (no MLflow source) is: a URI that
    says how to load it, since MLflow cannot."""
    return f"mlops-model:{name}/{row.version}?flavor={row.flavor}"


def _max(max_results: int | None, default: int = 100) -> int:
    if max_results is None:
        return default
    if not isinstance(max_results, int) or max_results < 1:
        raise invalid(f"Invalid value for max_results. It must be a positive integer, but got "
                      f"{max_results}")
    return max_results


def _page(found: list, page_token: str | None, max_results: int) -> PagedList:
    start = SearchUtils.parse_start_offset_from_page_token(page_token)
    token = (SearchUtils.create_page_token(start + max_results)
             if start + max_results < len(found) else None)
    return PagedList(found[start:start + max_results], token)

