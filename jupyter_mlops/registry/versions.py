"""`register_model`, `load_model`, `list_models`: numbered versions of saved models, each
one blob named by its content hash, linked to the run that made it and its training data."""

from __future__ import annotations

import html
import json
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .. import refs
from ..errors import MLOpsUsageError, NotFoundError
from ..store import get_store
from ..store.tables import model_aliases, model_versions, models, run_links
from ..team.events import deliver_after_commit
from .signature import Signature

if TYPE_CHECKING:
    import pandas as pd

    from ..tracking.run import Run


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: `.name`, `.version`, `.digest`, `.signature`, `.run_id`,
    `.aliases`, `.load()`."""

    name: str
    version: int
    digest: str
    flavor: str
    size: int
    signature: Signature | None
    run_id: str | None
    training_data: str | None = None
    description: str | None = None
    created_by: str | None = None
    created_at: float = 0.0
    aliases: tuple[str, ...] = ()
    # what the saver saw: types outside skops's defaults in the file (information only; a
    # loader trusts skops's defaults and the project's trusted_types, never this)
    untrusted_types: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def __str__(self) -> str:
        return self.ref

    def load(self, allow_pickle: bool | None = None) -> Any:
        """The model, its bytes checked against the digest first. A pickle (joblib) version
        loads only with `allow_pickle=True` (None: the project's allow_pickle setting); skops
        builds only its default types and the project's trusted_types. Refusals are a
        TrustError naming the setting that would allow the load."""
        from .. import config
        from . import flavors

        settings = config.load()
        if allow_pickle is None:
            allow_pickle = settings.allow_pickle
        data = get_store().artifacts.get_bytes(self.digest)
        return flavors.load(self.flavor, data, f"model {self.ref}", bool(allow_pickle),
                            settings.trusted_types)

    @property
    def run(self) -> Run | None:
        from ..tracking.fluent import get_run

        return get_run(self.run_id) if self.run_id else None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "ref": self.ref,
                "digest": self.digest, "flavor": self.flavor, "size": self.size,
                "signature": self.signature.to_dict() if self.signature else None,
                "run_id": self.run_id, "training_data": self.training_data,
                "description": self.description, "created_by": self.created_by,
                "created_at": self.created_at, "aliases": list(self.aliases),
                "untrusted_types": list(self.untrusted_types)}

    def _repr_html_(self) -> str:
        aliases = " ".join(f"<code>@{html.escape(a)}</code>" for a in self.aliases)
        columns = (", ".join(f"{html.escape(n)} ({k})" for n, k in self.signature.inputs)
                   if self.signature else "no signature")
        run = f"run <code>{self.run_id[:8]}</code>" if self.run_id else "no run"
        data = f" · trained on {html.escape(self.training_data)}" if self.training_data else ""
        return (f"<div><b>{html.escape(self.ref)}</b> {aliases} · {self.flavor} · "
                f"{self.size:,} bytes · <code>{self.digest[:12]}</code> · {run}{data}"
                f"<br>inputs: {columns}</div>")


def register_model(model: Any, name: str, alias: str | None = None, run: Any = None,
                   signature: Any = None, description: str | None = None,
                   flavor: str | None = None, comment: str | None = None) -> ModelVersion:
    """Store `model` as the next version of `name`, linked to `run` (the active run by
    default) and through it to its datasets. The signature is inferred from the training
    dataset the run recorded, or given (a Signature, its dict, or an example DataFrame).
    `alias` points an alias at the new version (an audited move). Then the registration
    hooks run (`on_register`: drift stores the training data's sketches there)."""
    from ..tracking.fluent import active_run, get_run
    from . import flavors
    from .aliases import move_alias

    name = refs.check_name(name, "model name")
    if alias is not None:
        refs.check_alias(alias)
    if flavor is None and not hasattr(model, "predict"):
        raise MLOpsUsageError(f"a {type(model).__name__} has no predict(): register a fitted "
                              "model (or plug in a flavor whose load gives one)")
    if run is None:
        run = active_run()
    elif isinstance(run, str):
        run = get_run(run)
    sig = _signature(signature, model)
    training = _training_data(run) if run is not None else None
    if sig is None and training is not None:
        from ..data.versions import get_version
        from .signature import from_schema

        sig = from_schema(get_version(training.removeprefix("dataset:")).schema, model)
    if sig is None:
        warnings.warn(f"model {name!r} has no signature, so scoring input will not be checked: "
                      "record the training data in the run (%dataset save ... --role train) or "
                      "give signature=an example DataFrame", UserWarning, stacklevel=2)
    chosen, data, untrusted = flavors.save(model, flavor)
    store = get_store()
    digest, size = store.artifacts.put_bytes(data)
    if run is not None:
        run._sync()
    row = {"digest": digest, "flavor": chosen.name, "size": size,
           "signature": json.dumps(sig.to_dict()) if sig else None,
           "untrusted_types": json.dumps(untrusted), "run_id": run.id if run is not None else None,
           "training_data": training, "description": description,
           "created_by": store.actor, "created_at": time.time()}
    from sqlalchemy.exc import IntegrityError as SAIntegrityError

    for _attempt in range(5):  # another process may take the same number: try the next
        try:
            with store.write("model", name, "registered") as conn:
                model_id = _model_id(conn, name, create=True, description=description,
                                     actor=store.actor)
                number = conn.execute(select(func.coalesce(func.max(model_versions.c.version), 0))
                                      .where(model_versions.c.model_id == model_id)).scalar() + 1
                conn.execute(model_versions.insert().values(model_id=model_id, version=number,
                                                            **row))
                if run is not None:
                    conn.execute(run_links.insert().values(
                        run_id=run.id, direction="output", kind="model",
                        ref=f"model:{name}@{number}", role=None, created_at=row["created_at"]))
                if alias is not None:
                    move_alias(conn, model_id, name, alias, number, row["created_by"], comment)
            break
        except SAIntegrityError:
            continue
    else:
        raise MLOpsUsageError(f"could not number a new version of {name!r}: too many writers")
    _warn_untrusted(name, untrusted)
    version = get_model_version(f"{name}@{number}")
    on_register(version, model)
    deliver_after_commit()
    return version


def _warn_untrusted(name: str, untrusted: list[str]) -> None:
    """Say which types outside skops's defaults a loader of this model will have to trust
    (those this project does not trust yet): registering works, loading waits for them."""
    from .. import config
    from .flavors import how_to_trust

    trusted = config.load().trusted_types
    missing = [t for t in untrusted if t not in trusted]
    if missing:
        warnings.warn(f"model {name!r} is registered, but a process loads it only if its project "
                      f"trusts types that are neither skops's defaults nor in trusted_types: "
                      f"{how_to_trust(missing, trusted)}", UserWarning, stacklevel=3)


def on_register(version: ModelVersion, model: Any) -> None:
    """Call every hook of the entry-point group `jupyter_mlops.on_register` with the version
    just registered (committed) and the model object. A hook that fails only warns: the
    registration stands."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="jupyter_mlops.on_register"):
        try:
            ep.load()(version, model)
        except Exception as exc:  # noqa: BLE001 - a hook never undoes a registration
            warnings.warn(f"the registration hook {ep.name!r} failed on {version.ref} ({exc})",
                          UserWarning, stacklevel=3)


def _signature(value: Any, model: Any) -> Signature | None:
    if value is None or isinstance(value, Signature):
        return value
    if isinstance(value, dict):
        return Signature.from_dict(value)
    if type(value).__module__.startswith("pandas") and hasattr(value, "dtypes"):
        return Signature.from_frame(value, model)
    raise MLOpsUsageError("signature= takes a Signature, its dict, or an example DataFrame, "
                          f"not a {type(value).__name__}")


def _training_data(run: Run) -> str | None:
    """The dataset the run trained on: its input with role 'train', else its only input."""
    datasets = [link for link in run.inputs if link.kind == "dataset"]
    train = [link for link in datasets if link.role == "train"]
    if train:
        return train[-1].ref
    return datasets[0].ref if len({link.ref for link in datasets}) == 1 else None


def _model_id(conn, name: str, create: bool = False, description: str | None = None,
              actor: str | None = None) -> int:
    model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar()
    if model_id is None:
        if not create:
            raise NotFoundError(f"no model named {name!r}")
        model_id = conn.execute(models.insert().values(
            name=name, description=description, created_at=time.time(), created_by=actor)
        ).inserted_primary_key[0]
    return model_id


def _entity(name: str, row: Any, aliases: tuple[str, ...]) -> ModelVersion:
    sig = row["signature"]
    return ModelVersion(
        name=name, version=row["version"], digest=row["digest"], flavor=row["flavor"],
        size=row["size"], signature=Signature.from_dict(json.loads(sig)) if sig else None,
        run_id=row["run_id"], training_data=row["training_data"],
        description=row["description"], created_by=row["created_by"],
        created_at=row["created_at"], aliases=aliases,
        untrusted_types=tuple(json.loads(row["untrusted_types"])))


def parse_model_ref(ref: str) -> refs.Ref:
    """A model reference: name, name/3, name@3, name@latest, name@alias, name@sha:…"""
    parsed = refs.parse(ref)
    if parsed.kind not in (None, "model"):
        raise MLOpsUsageError(f"{ref!r} is not a model reference (name@version or name@alias)")
    return parsed


def get_model_version(ref: str) -> ModelVersion:
    """The version a reference names; a bare name means its latest version."""
    parsed = parse_model_ref(ref)
    store = get_store()
    with store.read() as conn:
        return version_in(conn, parsed)


def version_in(conn, parsed: refs.Ref) -> ModelVersion:
    """The version `parsed` names, read on `conn` (inside the caller's transaction)."""
    model_id = _model_id(conn, parsed.name)
    query = select(model_versions).where(model_versions.c.model_id == model_id)
    if parsed.alias:
        number = conn.execute(select(model_aliases.c.version).where(
            model_aliases.c.model_id == model_id, model_aliases.c.alias == parsed.alias)).scalar()
        if number is None:
            raise NotFoundError(f"model {parsed.name!r} has no alias {parsed.alias!r}")
        query = query.where(model_versions.c.version == number)
    elif parsed.version is not None:
        query = query.where(model_versions.c.version == parsed.version)
    elif parsed.digest:
        query = query.where(model_versions.c.digest.like(parsed.digest + "%"))
    rows = conn.execute(query.order_by(model_versions.c.version.desc()).limit(2)).mappings().all()
    if not rows:
        raise NotFoundError(f"model {parsed.name!r} has no version {str(parsed).split('@', 1)[-1]}")
    if parsed.digest and len(rows) > 1 and rows[0]["digest"] != rows[1]["digest"]:
        raise MLOpsUsageError(f"digest prefix {parsed.digest} matches several versions")
    row = rows[0]
    aliases = tuple(conn.execute(select(model_aliases.c.alias).where(
        model_aliases.c.model_id == model_id, model_aliases.c.version == row["version"])
        .order_by(model_aliases.c.alias)).scalars())
    return _entity(parsed.name, row, aliases)


def load_model(ref: str, allow_pickle: bool | None = None) -> Any:
    """The model `ref` names ("name@production", "name/3", "name@latest"), its bytes checked
    against their content hash. A pickle (joblib) version loads only with
    `allow_pickle=True` (None: the project's allow_pickle setting), since unpickling runs
    whatever code the file holds. Inside a run, the version is recorded as an input."""
    version = get_model_version(ref)
    model = version.load(allow_pickle)
    from ..tracking.fluent import active_run

    run = active_run()
    if run is not None:
        _record_input(run, version)
    return model


def _record_input(run: Run, version: ModelVersion) -> None:
    ref = f"model:{version.ref}"
    with get_store().write("run", run.id, "inputs") as conn:
        seen = conn.execute(select(run_links.c.id).where(
            run_links.c.run_id == run.id, run_links.c.direction == "input",
            run_links.c.kind == "model", run_links.c.ref == ref)).first()
        if seen is None:
            conn.execute(run_links.insert().values(run_id=run.id, direction="input",
                                                   kind="model", ref=ref, role=None,
                                                   created_at=time.time()))


def list_models(name: str | None = None, details: bool = False) -> pd.DataFrame:
    """Every model (versions, latest, aliases, updated); or, given `name`, its versions.
    With `details`, each version also has `metrics` (its run's latest), `inputs` (its
    training datasets, [{ref, digest}]) and `drift` ({status, at, drift_share} of its newest
    monitoring batch): see registry/details.py."""
    import pandas as pd

    store = get_store()
    with store.read() as conn:
        alias_rows = conn.execute(select(models.c.name, model_aliases.c.alias,
                                         model_aliases.c.version)
                                  .join(models, models.c.id == model_aliases.c.model_id)
                                  .order_by(model_aliases.c.alias)).all()
        if name is None:
            rows = conn.execute(
                select(models.c.name, func.count(model_versions.c.id),
                       func.max(model_versions.c.version), func.max(model_versions.c.created_at),
                       models.c.description)
                .join(model_versions, model_versions.c.model_id == models.c.id)
                .group_by(models.c.name, models.c.description).order_by(models.c.name)).all()
        else:
            refs.check_name(name, "model name")
            model_id = _model_id(conn, name)
            rows = conn.execute(
                select(model_versions.c.version, model_versions.c.digest, model_versions.c.flavor,
                       model_versions.c.run_id, model_versions.c.training_data,
                       model_versions.c.created_at, model_versions.c.created_by,
                       model_versions.c.description)
                .where(model_versions.c.model_id == model_id)
                .order_by(model_versions.c.version)).all()
            if details:
                from .details import version_details

                extra = version_details(conn, model_id, [(r[0], r[3], r[4]) for r in rows])
    if name is None:
        aliases = {}
        for model_name, alias, version in alias_rows:
            aliases.setdefault(model_name, []).append(f"{alias}→{version}")
        frame = pd.DataFrame([(*r[:4], ", ".join(aliases.get(r[0], [])), r[4]) for r in rows],
                             columns=["name", "versions", "latest", "updated", "aliases",
                                      "description"])
        frame["updated"] = pd.to_datetime(frame["updated"].astype("float64"), unit="s", utc=True)
        return frame
    held: dict[int, list[str]] = {}
    for model_name, alias, version in alias_rows:
        if model_name == name:
            held.setdefault(version, []).append(alias)
    frame = pd.DataFrame([(r[0], ", ".join(held.get(r[0], [])), *r[1:]) for r in rows], columns=[
        "version", "aliases", "digest", "flavor", "run_id", "training_data", "created",
        "created_by", "description"])
    frame["created"] = pd.to_datetime(frame["created"].astype("float64"), unit="s", utc=True)
    if details:
        for key in ("metrics", "inputs", "drift"):
            frame[key] = [extra[v][key] for v in frame["version"]]
    return frame
