"""`import_mlflow`: copy an MLflow store (SQLite, PostgreSQL, an `./mlruns` folder or an MLflow
server) into the store in force, read with MLflow's own client (import_source.py).

Runs keep their MLflow ids and are written parents first, each in one transaction after its
blobs are stored, so an import killed midway leaves whole runs only; a re-run skips the runs
(by id), logged models (by id) and model versions (by model and number) already here, and so
resumes where it stopped and adds nothing once complete. Then MLflow 3's logged models, and
the registry: models, versions (the MLflow model directory packed by the `mlflow` flavor),
and aliases, moved through the audited alias move so the history shows the import.
"""

from __future__ import annotations

import html
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AccessError, MLOpsError, MLOpsUsageError

COUNTS = ("experiments", "runs", "metric_points", "params", "tags", "datasets", "artifacts",
          "artifact_bytes", "logged_models", "registered_models", "versions", "aliases")
SKIPS = ("skipped_runs", "skipped_logged_models", "skipped_versions")


@dataclass
class ImportSummary:
    """What an import copied (or, for a dry run, would copy), what it found already here
    (skipped), and what it could not copy (warnings)."""

    source: str
    dry_run: bool = False
    experiments: int = 0
    runs: int = 0
    metric_points: int = 0
    params: int = 0
    tags: int = 0
    datasets: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    logged_models: int = 0
    registered_models: int = 0
    versions: int = 0
    aliases: int = 0
    skipped_runs: int = 0
    skipped_logged_models: int = 0
    skipped_versions: int = 0
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return sum(getattr(self, k) for k in SKIPS)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "skipped": self.skipped}

    def _rows(self) -> list[tuple[str, str]]:
        return [(k.replace("_", " "), f"{getattr(self, k):,}") for k in COUNTS + SKIPS]

    def __str__(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        head = f"MLflow import from {self.source}: {verb} ({self.seconds:.1f} s)"
        width = max(len(k) for k, _ in self._rows())
        lines = [head] + [f"  {k:<{width}}  {v:>12}" for k, v in self._rows()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<ImportSummary {self.source}: {self.runs} runs, {self.versions} versions, "
                f"{self.skipped} skipped{' (dry run)' if self.dry_run else ''}>")

    def _repr_html_(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>"
                       for k, v in self._rows())
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (f"<div class='mlops-import'><b>MLflow import</b> from "
                f"<code>{html.escape(self.source)}</code>: {verb} in {self.seconds:.1f} s"
                f"<table>{rows}</table>" + (f"<ul>{warnings}</ul>" if warnings else "")
                + "</div>")


def import_mlflow(source_uri: str, experiments: list[str] | None = None,
                  dry_run: bool = False) -> ImportSummary:
    """Copy the MLflow store at `source_uri` (`sqlite:///mlflow.db`, `./mlruns`,
    `postgresql://…`, `http(s)://host:port`) into the store in force: experiments, runs
    (params, every metric point, tags, times, parents, dataset inputs, artifacts), logged
    models, registered models, versions and aliases. `experiments` names the experiments to
    copy (and the model versions made from their runs); `dry_run` writes nothing and
    reports what would be copied. Runs, logged models and versions already here are skipped."""
    import importlib.util

    from ..store import get_store

    if importlib.util.find_spec("mlflow") is None:
        raise MLOpsError("import_mlflow needs MLflow: pip install 'jupyter-mlops[mlflow]'")
    from .import_source import open_source

    if isinstance(experiments, str):
        experiments = [experiments]
    if experiments is not None and (not experiments or not all(
            isinstance(e, str) and e for e in experiments)):
        raise MLOpsUsageError("experiments must be a list of experiment names, or None for all")
    store = get_store()
    started = time.monotonic()
    with open_source(source_uri) as source:
        summary = ImportSummary(source=source.display, dry_run=dry_run)
        chosen = source.experiments(experiments)
        found = source.runs([e.experiment_id for e in chosen])
        Importer(store, source, summary, dry_run).run(chosen, found, experiments is None)
    summary.seconds = time.monotonic() - started
    return summary


class Importer:
    """One import: the source, the store, and what is here already."""

    def __init__(self, store, source, summary: ImportSummary, dry_run: bool):
        self.store = store
        self.source = source
        self.summary = summary
        self.dry_run = dry_run
        self.experiment_ids: dict[str, int | None] = {}
        self.runs_here: set[str] = set()

    def run(self, chosen: list[Any], found: list[Any], whole_registry: bool) -> None:
        for exp in chosen:
            self._experiment(exp)
        self._runs(found)
        self._logged_models([e.experiment_id for e in chosen])
        imported = {r.info.run_id for r in found}
        self._registry(None if whole_registry else imported)

    # -- experiments and runs ----------------------------------------------------------------

    def _experiment(self, exp: Any) -> None:
        from sqlalchemy import select

        from ..store.tables import experiments
        from .convert import DEFAULT_EXPERIMENT
        from .import_write import experiment_row

        name = DEFAULT_EXPERIMENT if str(exp.experiment_id) == "0" else exp.name
        with self.store.read() as conn:
            here = conn.execute(select(experiments.c.id).where(
                experiments.c.name == name)).scalar()
        if here is None:
            self.summary.experiments += 1
            if not self.dry_run:
                with self.store.write("experiment", name, "imported") as conn:
                    here = experiment_row(conn, exp, self.store.actor)
        self.experiment_ids[str(exp.experiment_id)] = here

    def _present(self, table, ids: list[str]) -> set[str]:
        from sqlalchemy import select

        out: set[str] = set()
        with self.store.read() as conn:
            for start in range(0, len(ids), 900):
                out.update(conn.execute(select(table.c.id).where(
                    table.c.id.in_(ids[start:start + 900]))).scalars())
        return out

    def _runs(self, found: list[Any]) -> None:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
        from tqdm.auto import tqdm

        from ..store.tables import runs

        parents = {r.data.tags.get(MLFLOW_PARENT_RUN_ID) for r in found} - {None}
        self.runs_here = self._present(runs, sorted({r.info.run_id for r in found} | parents))
        todo = [r for r in found if r.info.run_id not in self.runs_here]
        self.summary.skipped_runs = len(found) - len(todo)
        with tqdm(total=len(todo), unit="run", desc="importing MLflow runs",
                  disable=not todo) as bar:
            for batch, histories in self.source.prefetch(todo):
                for run in batch:
                    self._run(run, histories[run.info.run_id])
                    bar.update()

    def _run(self, run: Any, history: dict[str, list[tuple[float, int, int]]]) -> None:
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        from .import_write import run_counts, write_run

        run_id = run.info.run_id
        counts = run_counts(run, history)
        if self.dry_run:
            listed = self.source.artifact_listing(run)
            counts.update(artifacts=len(listed), artifact_bytes=sum(s for _, s in listed))
        else:
            with tempfile.TemporaryDirectory(prefix="mlops-import-") as tmp:
                files = self._put(self.source.artifacts(run, tmp))
            counts.update(artifacts=len(files), artifact_bytes=sum(s for _, _, s in files))
            parent = run.data.tags.get(MLFLOW_PARENT_RUN_ID)
            with self.store.write("run", run_id, "imported") as conn:
                write_run(conn, self.store.dialect, run,
                          self.experiment_ids[str(run.info.experiment_id)],
                          parent if parent in self.runs_here else None, history, files)
        self.runs_here.add(run_id)
        self.summary.runs += 1
        for key, value in counts.items():
            setattr(self.summary, key, getattr(self.summary, key) + value)

    def _put(self, files: list[tuple[str, Path]]) -> list[tuple[str, str, int]]:
        """Downloaded files into the blob store (one transaction for all): (name, digest,
        size) for the rows that name them."""
        from ..store.artifacts import digest_file

        entries = [(name, *digest_file(path)) for name, path in files]
        self.store.artifacts.put_files([(path, d, s) for (_, path), (_, d, s)
                                        in zip(files, entries, strict=True)])
        return entries

    # -- logged models -----------------------------------------------------------------------

    def _logged_models(self, experiment_ids: list[str]) -> None:
        from ..store.tables import logged_models
        from .import_write import write_logged_model

        found = self.source.logged_models(experiment_ids)
        here = self._present(logged_models, [m.model_id for m in found])
        self.summary.skipped_logged_models = len(here)
        for model in found:
            if model.model_id in here:
                continue
            self.summary.logged_models += 1
            if self.dry_run:
                continue
            with tempfile.TemporaryDirectory(prefix="mlops-import-") as tmp:
                files = self._put(self.source.download(model.artifact_location, tmp))
            source_run = model.source_run_id if model.source_run_id in self.runs_here else None
            with self.store.write("logged_model", model.model_id, "imported") as conn:
                write_logged_model(conn, model, self.experiment_ids[str(model.experiment_id)],
                                   source_run, files, self.store.actor)

    # -- the registry ------------------------------------------------------------------------

    def _registry(self, runs: set[str] | None) -> None:
        """Registered models with their versions and aliases; with `runs`, only the versions
        made from those runs (an import of chosen experiments)."""
        from .. import refs

        for model in self.source.registered_models():
            try:
                refs.check_name(model.name, "model name")
            except MLOpsUsageError as exc:
                self.summary.warnings.append(f"registered model not copied: {exc}")
                continue
            versions = [v for v in self.source.versions(model.name)
                        if runs is None or v.run_id in runs]
            if versions or runs is None:
                self._model(model, versions)

    def _model(self, model: Any, versions: list[Any]) -> None:
        """A registered model, its versions not here yet, then its aliases. A version number
        this store already holds with another source is another model's: left alone, and
        said so."""
        from sqlalchemy import select

        from ..store.tables import models
        from .import_write import model_row, present_versions

        with self.store.read() as conn:
            model_id = conn.execute(select(models.c.id).where(
                models.c.name == model.name)).scalar()
            here = present_versions(conn, model_id) if model_id is not None else {}
        if model_id is None:
            self.summary.registered_models += 1
            if not self.dry_run:
                with self.store.write("model", model.name, "imported") as conn:
                    model_id, _created = model_row(conn, model, self.store.actor)
        copied = set()
        for version in versions:
            number = int(version.version)
            if number not in here:
                if self._version(model_id, model.name, version):
                    copied.add(number)
            elif here[number] == version.source:
                self.summary.skipped_versions += 1
                copied.add(number)
            else:
                self.summary.warnings.append(
                    f"version {number} of model {model.name!r} not copied: this store's "
                    f"version {number} of {model.name!r} is another model")
        self._aliases(model_id, model, copied)

    def _version(self, model_id: int | None, name: str, version: Any) -> bool:
        from .flavor import pack
        from .import_write import write_version

        if str(version.status).upper() != "READY":
            self.summary.warnings.append(f"version {version.version} of model {name!r} not "
                                         f"copied: its status is {version.status}")
            return False
        self.summary.versions += 1
        if self.dry_run:
            return True
        with tempfile.TemporaryDirectory(prefix="mlops-import-") as tmp:
            self.source.download(self.source.version_uri(name, version.version), tmp)
            found = sorted(Path(tmp).rglob("MLmodel"), key=lambda p: len(p.parts))
            folder = found[0].parent if found else None
            if folder is None:
                self.summary.versions -= 1
                self.summary.warnings.append(f"version {version.version} of model {name!r} "
                                             "not copied: its source has no MLmodel file")
                return False
            digest, size = self.store.artifacts.put_bytes(pack(folder))
        with self.store.write("model", name, "imported") as conn:
            write_version(conn, model_id, name, version, digest, size,
                          version.run_id in self.runs_here, self.store.actor)
        return True

    def _aliases(self, model_id: int | None, model: Any, versions: set[int]) -> None:
        """MLflow's aliases of the model that point at copied versions, each an audited move.
        An alias already here stays where it is (moved here after an import, or this
        store's own): a different target is said in the warnings."""
        from .. import refs
        from ..registry.aliases import move_alias
        from .import_write import alias_version

        for alias, number in sorted(dict(model.aliases or {}).items()):
            number = int(number)
            try:
                refs.check_alias(alias)
            except MLOpsUsageError as exc:
                self.summary.warnings.append(f"alias of model {model.name!r} not copied: {exc}")
                continue
            if number not in versions:
                continue
            current = None
            if model_id is not None:
                with self.store.read() as conn:
                    current = alias_version(conn, model_id, alias)
            if current is not None:
                if current != number:
                    self.summary.warnings.append(
                        f"alias {alias!r} of model {model.name!r} points at version {current} "
                        f"here (at {number} in MLflow): left as it is")
                continue
            if not self.dry_run:
                try:
                    with self.store.write("model", model.name, "alias") as conn:
                        move_alias(conn, model_id, model.name, alias, number, self.store.actor,
                                   f"imported from MLflow ({self.source.display})",
                                   store=self.store)
                except AccessError as exc:
                    self.summary.warnings.append(str(exc))
                    continue
            self.summary.aliases += 1
