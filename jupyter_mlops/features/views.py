"""Feature views: a named function (or DuckDB query) producing rows of entity keys, an event
timestamp and feature columns. Each distinct definition is a numbered version in the store;
defining the same one again changes nothing.

A Python view's stored source is its function without decorators; a fresh process (the CLI,
the scheduler) materializes it by running that source, so the function must import what it
uses. Its namespace holds `pd`, `np` and `mlops` (jupyter_mlops). A store is written by many
people, so a stored source (Python or SQL) runs in a process that did not define the view only
when the project's own configuration names its digest (`run_feature_sources`), computed here
from the source itself: the digest stored beside it in the row proves nothing."""

from __future__ import annotations

import ast
import functools
import hashlib
import html
import inspect
import json
import os
import re
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from .. import config, refs
from ..errors import MLOpsUsageError, NotFoundError, TrustError
from ..reads import record_read, recording_reads
from ..store import get_store
from ..store.tables import feature_views
from .frames import refuse_duplicates

if TYPE_CHECKING:
    import pandas as pd

# definitions made in this process, by (view, digest): run them rather than the stored source
_FUNCTIONS: dict[tuple[str, str], Callable[[], Any]] = {}
DATASET_CALL = re.compile(r"""dataset\(\s*'([^']+)'\s*\)""")


@dataclass(frozen=True)
class FeatureView:
    """One version of a view: `.name`, `.version`, `.entities`, `.timestamp`, `.ttl`
    (seconds or None), `.features` [(name, dtype)], `.kind` (python or sql), `.source`."""

    name: str
    version: int
    digest: str
    kind: str
    source: str
    entities: tuple[str, ...]
    timestamp: str
    ttl: float | None
    features: tuple[tuple[str, str], ...]
    function: str | None = None
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    partitions: str | None = None
    created_by: str | None = None
    created_at: float = 0.0

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def feature_names(self) -> list[str]:
        return [name for name, _ in self.features]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "digest": self.digest,
                "kind": self.kind, "entities": list(self.entities), "timestamp": self.timestamp,
                "ttl": self.ttl, "features": [{"name": n, "dtype": d} for n, d in self.features],
                "description": self.description, "tags": self.tags, "source": self.source,
                "created_by": self.created_by, "created_at": self.created_at,
                "partitions": self.partitions}

    def _repr_html_(self) -> str:
        feats = ", ".join(f"{html.escape(n)} <i>{html.escape(d)}</i>" for n, d in self.features)
        ttl = f"ttl {self.ttl:g} s" if self.ttl else "no ttl"
        return (f"<div><b>feature view {html.escape(self.ref)}</b> · entities "
                f"{html.escape(', '.join(self.entities))} · time {html.escape(self.timestamp)}"
                f" · {ttl} · {self.kind}<br>{feats}</div>")


def _duration(ttl: Any) -> float | None:
    from ..pipelines.spec import seconds

    if ttl is None:
        return None
    if hasattr(ttl, "total_seconds"):
        ttl = ttl.total_seconds()
    try:
        value = seconds(ttl)
    except ValueError as exc:
        raise MLOpsUsageError(f"ttl: {exc}") from None
    if value is None or value <= 0:
        raise MLOpsUsageError(f"ttl must be a positive duration, got {ttl!r}")
    return value


def _function_source(fn: Callable[[], Any]) -> tuple[str, str]:
    """(source without decorators, function name)."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        raise MLOpsUsageError(f"the source of {getattr(fn, '__name__', fn)!r} cannot be read "
                              "(define the view in a file or a notebook cell)") from None
    tree = ast.parse(text)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise MLOpsUsageError("a feature view is a function (def) returning a DataFrame")
    node.decorator_list = []
    return ast.unparse(node), node.name


def check_frame(frame: Any, entities: tuple[str, ...], timestamp: str,
                unique: bool = True) -> pd.DataFrame:
    """The view's rows, or one clear error: keys, timestamp, its type and zone, duplicates."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise MLOpsUsageError(f"a feature view returns a DataFrame, not a {type(frame).__name__}")
    missing = [c for c in (*entities, timestamp) if c not in frame.columns]
    if missing:
        raise MLOpsUsageError(f"the view's rows lack column{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} (they have: {', '.join(map(str, frame.columns))})")
    stamps = frame[timestamp]
    if stamps.dtype == object and len(stamps):
        zones = {getattr(v, "tzinfo", None) is None for v in stamps.dropna()}
        if len(zones) > 1:
            raise MLOpsUsageError(f"timestamp column {timestamp!r} mixes time zone-aware and "
                                  "naive times: make them all one or the other")
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        raise MLOpsUsageError(f"timestamp column {timestamp!r} holds {stamps.dtype}, not "
                              "datetimes (convert it with pd.to_datetime)")
    if stamps.isna().any():
        raise MLOpsUsageError(f"timestamp column {timestamp!r} has missing times")
    if unique:
        refuse_duplicates(frame, [*entities, timestamp])
    features = [c for c in frame.columns if c not in (*entities, timestamp)]
    if not features:
        raise MLOpsUsageError("the view has no feature columns besides its keys and timestamp")
    return frame


def definition_digest(kind: str, text: str, entities: Any, timestamp: str,
                      ttl: float | None, partitions: str | None = None) -> str:
    """The digest of a definition: what a version is named by, and what the project's
    run_feature_sources setting lists to let its stored source run elsewhere."""
    parts = [kind, text, list(entities), timestamp, ttl]
    if partitions is not None:  # a view over partitioned parquet: the data is its definition
        parts.append(partitions)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def check_source_allowed(view: FeatureView) -> None:
    """Refuse to run `view`'s stored source unless the project's configuration (never the
    store) lists the digest of that source, or 'all'. The digest is computed from the row's
    content, so a source changed in the store after it was allowed is refused."""
    digest = definition_digest(view.kind, view.source, view.entities, view.timestamp, view.ttl,
                               view.partitions)
    allowed = config.load().run_feature_sources
    if "all" in allowed or digest in allowed:
        return
    changed = ("" if digest == view.digest else
               f" (its row says digest {view.digest[:12]}…, but its content is {digest[:12]}…: "
               "the row was changed after the view was defined)")
    raise TrustError(
        f"feature view {view.ref} was not defined in this process, and its stored "
        f"{'query' if view.kind == 'sql' else 'source'} runs here only if this project "
        f"allows it{changed}. Read it (`jupyter mlops features show {view.ref}`); if you "
        f"trust it, add its digest to run_feature_sources under [tool.jupyter-mlops] in "
        f"pyproject.toml: run_feature_sources = [\"{digest}\"] (or "
        f"MLOPS_RUN_FEATURE_SOURCES={digest}; \"all\" runs every view's stored source)")


def run_source(kind: str, source: str, function: str | None,
               partition: pd.DataFrame | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Run a stored definition (on one partition's rows, for a view over partitioned
    parquet); (its rows, the dataset versions it read)."""
    with recording_reads() as reads:
        if kind == "sql":
            return _run_sql(source, partition), reads
        return compiled(source, function)(*(() if partition is None else (partition,))), reads


def compiled(source: str, function: str) -> Callable[..., Any]:
    """A stored Python definition as a function (its namespace holds pd, np and mlops)."""
    import numpy as np
    import pandas as pd

    import jupyter_mlops

    namespace: dict[str, Any] = {"pd": pd, "np": np, "mlops": jupyter_mlops}
    exec(compile(source, f"<feature view {function}>", "exec"), namespace)  # noqa: S102
    return namespace[function]


def _run_sql(query: str, partition: pd.DataFrame | None = None) -> pd.DataFrame:
    """A DuckDB query; dataset('name@version') reads a registered dataset version (noted as
    read, like `load_dataset` does), and the table `partition` is one partition's rows (a
    view over partitioned parquet)."""
    import duckdb

    from ..data.versions import get_version, local_path

    con = duckdb.connect()
    if partition is not None:
        con.register("partition", partition)
    try:
        def table(match: re.Match) -> str:
            version = get_version(match.group(1))
            record_read(f"dataset:{version.ref}")
            path = str(local_path(version)).replace("'", "''")
            reader = {"frame": "read_parquet", "parquet": "read_parquet",
                      "csv": "read_csv_auto", "jsonl": "read_json_auto"}.get(
                version.format if version.kind == "file" else version.kind)
            if reader is None:
                raise MLOpsUsageError(f"dataset {version.ref} is not a table DuckDB can read")
            return f"{reader}('{path}')"

        return con.execute(DATASET_CALL.sub(table, query)).df()
    except duckdb.Error as exc:
        raise MLOpsUsageError(f"the view's query failed: {exc}") from None
    finally:
        con.close()


def define_view(name: str, entities: Any, timestamp: str, source: Callable[[], Any] | str,
                ttl: Any = None, description: str | None = None,
                tags: dict[str, str] | None = None, sql: bool = False,
                text: str | None = None, partitions: Any = None) -> FeatureView:
    """Store a view defined by a function (or, with `sql=True`, a DuckDB query), after running
    it once to check its rows and record its features. Unchanged: the existing version.
    `text` is the function's source when it cannot be read from a file (a %%feature cell).

    With `partitions` (a partitioned parquet dataset: a folder, glob or object-store prefix)
    the view computes its rows one partition at a time: the function takes that partition's
    rows (a DataFrame) and returns its feature rows (a query reads them as the table
    `partition`); defining it runs it on the first partition. `materialize` then computes
    every partition, here or on a Dask cluster, in memory bounded by a partition."""
    name = refs.check_name(name, "feature view name")
    if isinstance(entities, str):
        entities = [e.strip() for e in entities.split(",") if e.strip()]
    entities = tuple(entities or ())
    if not entities:
        raise MLOpsUsageError("a feature view needs at least one entity column")
    if not isinstance(timestamp, str) or not timestamp:
        raise MLOpsUsageError("timestamp names the view's event-time column")
    seconds_ttl = _duration(ttl)
    if sql:
        if not isinstance(source, str) or not source.strip():
            raise MLOpsUsageError("a SQL view needs a query")
        kind, text, function = "sql", source.strip(), None
    else:
        if not callable(source):
            raise MLOpsUsageError("feature_view decorates a function returning a DataFrame")
        kind = "python"
        if text is None:
            text, function = _function_source(source)
        else:
            function = source.__name__
    first = None
    if partitions is not None:
        partitions, first = _first_partition(partitions, source if callable(source) else None)
    digest = definition_digest(kind, text, entities, timestamp, seconds_ttl, partitions)
    own = source if callable(source) else functools.partial(_run_sql, text)
    existing = _latest(name)
    if existing is not None and existing.digest == digest:
        _FUNCTIONS[(name, digest)] = own
        return existing
    given = () if first is None else (first,)
    frame = source(*given) if callable(source) else run_source(kind, text, function, first)[0]
    frame = check_frame(frame, entities, timestamp)
    features = tuple((str(c), str(frame[c].dtype)) for c in frame.columns
                     if c not in (*entities, timestamp))
    _FUNCTIONS[(name, digest)] = own
    with get_store().write("feature_view", name, "defined") as conn:
        number = conn.execute(select(func.coalesce(func.max(feature_views.c.version), 0))
                              .where(feature_views.c.name == name)).scalar() + 1
        conn.execute(feature_views.insert().values(
            name=name, version=number, digest=digest, kind=kind, source=text, function=function,
            entities=json.dumps(entities), timestamp=timestamp, ttl=seconds_ttl,
            features=json.dumps(features), description=description,
            tags=json.dumps(tags or {}), created_by=get_store().actor, created_at=time.time(),
            partitions=partitions))
    return get_view(f"{name}@{number}")


def _first_partition(path: Any, fn: Callable[..., Any] | None) -> tuple[str, pd.DataFrame]:
    """(the path as stored, the rows of its first partition) for a view over partitioned
    parquet, after checking the path is one and a function takes the partition."""
    from ..data.partitions import open_partitioned

    if not refs.is_path(path):
        raise MLOpsUsageError(f"partitions is a path (a folder ending in /, a glob, ./…, /… or "
                              f"s3://…), got {path!r}")
    if fn is not None:
        takes = [p for p in inspect.signature(fn).parameters.values()
                 if p.default is inspect.Parameter.empty
                 and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if len(takes) != 1:
            raise MLOpsUsageError("a view over partitions is a function of one argument (a "
                                  f"partition's rows), but {fn.__name__} takes {len(takes)}")
    text = os.fspath(path)
    if "://" not in text:
        text = str(Path(text).resolve()) + ("/" if text.endswith("/") else "")
    data = open_partitioned(text)
    return text, data.partitions[0].frame()


def feature_view(name: str, entities: Any, timestamp: str, ttl: Any = None,
                 description: str | None = None, tags: dict[str, str] | None = None,
                 partitions: Any = None):
    """Decorator: `@mlops.feature_view("customer", entities=["customer_id"],
    timestamp="event_time", ttl="30d")` over a function returning the view's rows (with
    `partitions="events/"`, a function of one partition's rows: see `define_view`)."""
    def decorate(fn: Callable[..., Any]) -> FeatureView:
        return define_view(name, entities, timestamp, fn, ttl, description, tags,
                           partitions=partitions)

    return decorate


def _entity(row: Any) -> FeatureView:
    return FeatureView(
        name=row["name"], version=row["version"], digest=row["digest"], kind=row["kind"],
        source=row["source"], entities=tuple(json.loads(row["entities"])),
        timestamp=row["timestamp"], ttl=row["ttl"],
        features=tuple(tuple(f) for f in json.loads(row["features"])), function=row["function"],
        description=row["description"], tags=json.loads(row["tags"]),
        created_by=row["created_by"], created_at=row["created_at"],
        partitions=row["partitions"])


def _latest(name: str) -> FeatureView | None:
    with get_store().read() as conn:
        row = conn.execute(select(feature_views).where(feature_views.c.name == name)
                           .order_by(feature_views.c.version.desc()).limit(1)).mappings().first()
    return _entity(row) if row else None


def get_view(ref: str) -> FeatureView:
    """A view version: `name` or `name@latest` (the newest), `name@3`."""
    parsed = refs.parse(ref)
    if parsed.kind not in (None, "feature") or parsed.alias or parsed.digest:
        raise MLOpsUsageError(f"{ref!r} is not a feature view reference (name or name@N)")
    query = select(feature_views).where(feature_views.c.name == parsed.name)
    if parsed.version is not None:
        query = query.where(feature_views.c.version == parsed.version)
    with get_store().read() as conn:
        row = conn.execute(query.order_by(feature_views.c.version.desc()).limit(1)
                           ).mappings().first()
        if row is None:
            known = conn.execute(select(feature_views.c.id).where(
                feature_views.c.name == parsed.name)).first()
    if row is None:
        raise NotFoundError(f"feature view {parsed.name!r} has no version {parsed.version}"
                            if known else f"no feature view named {parsed.name!r}")
    return _entity(row)


def partition_function(view: FeatureView) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """What computes a partition's rows of a view over partitioned parquet: its source, which
    runs where the partitions are computed (a Dask worker imports nothing of this process).
    A view defined in this process runs; a stored one only if the project allows it (decided
    here, so a worker runs only what this process trusts)."""
    if (view.name, view.digest) not in _FUNCTIONS:
        check_source_allowed(view)
    if view.kind == "sql":
        return functools.partial(_run_sql, view.source)
    return functools.partial(_stored, view.source, view.function)


def _stored(source: str, function: str, partition: pd.DataFrame) -> pd.DataFrame:
    return compiled(source, function)(partition)


def rows_of(view: FeatureView) -> tuple[pd.DataFrame, list[str]]:
    """Compute the view's rows: the definition made in this process if it is this version,
    else the stored source, if the project allows it (`check_source_allowed`). (rows, dataset
    versions read). Repeated (entity, timestamp) pairs are left to the caller, which finds
    them faster once the rows are sorted."""
    if view.partitions is not None:
        raise MLOpsUsageError(f"view {view.ref} computes its rows a partition at a time "
                              f"(of {view.partitions}): materialize it")
    fn = _FUNCTIONS.get((view.name, view.digest))
    if fn is None:
        check_source_allowed(view)
        frame, reads = run_source(view.kind, view.source, view.function)
    else:
        with recording_reads() as reads:
            frame = fn()
    return check_frame(frame, view.entities, view.timestamp, unique=False), reads


def list_views() -> pd.DataFrame:
    """Every view's newest version: name, version, entities, timestamp, ttl, features."""
    import pandas as pd

    with get_store().read() as conn:
        rows = conn.execute(select(feature_views).order_by(
            feature_views.c.name, feature_views.c.version.desc())).mappings().all()
    seen: dict[str, dict] = {}
    for row in rows:
        if row["name"] not in seen:
            view = _entity(row)
            seen[view.name] = {"name": view.name, "version": view.version,
                               "entities": ", ".join(view.entities),
                               "timestamp": view.timestamp, "ttl": view.ttl,
                               "features": len(view.features), "kind": view.kind,
                               "created_at": pd.Timestamp(view.created_at, unit="s", tz="UTC")}
    return pd.DataFrame(list(seen.values()), columns=["name", "version", "entities", "timestamp",
                                                      "ttl", "features", "kind", "created_at"])
