"""Offline features: `materialize` computes a view into parquet in the artifact store, and
`get_historical_features` joins views to an entity frame point-in-time correct with DuckDB's
ASOF JOIN over those files (out of core: the feature rows are never all in memory)."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from .. import config
from ..errors import MLOpsUsageError
from ..store import get_store
from ..store.tables import feature_materializations, feature_views
from .frames import key_arrays, last_positions, refuse_duplicates, row_order
from .views import FeatureView, get_view, rows_of

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 1_000_000  # rows per parquet row group (and per step of the progress bar)


@dataclass(frozen=True)
class Materialization:
    """One computed version of a view: `.view` (name@N), `.rows`, `.digest`, `.inputs` (the
    dataset versions it read), `.online` (keys written to the online store, if asked)."""

    view: str
    rows: int
    digest: str
    start: float | None
    end: float | None
    inputs: tuple[str, ...]
    created_at: float
    online: int | None = None
    profile: dict[str, Any] = field(default_factory=dict, repr=False)
    first_event: float | None = None
    last_event: float | None = None

    def __str__(self) -> str:
        online = f", {self.online:,} keys online" if self.online is not None else ""
        return f"{self.view}: {self.rows:,} rows{online}"


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    from ..drift.monitor import epoch

    return epoch(value)


def _in_window(stamps: pd.Series, start: float | None, end: float | None) -> Any:
    """A numpy mask of the times with start <= time < end (naive times are UTC)."""
    import pandas as pd

    keep = pd.Series(True, index=stamps.index)
    for bound, op in ((start, "ge"), (end, "lt")):
        if bound is None:
            continue
        at = pd.Timestamp(bound, unit="s", tz="UTC")
        if stamps.dt.tz is None:
            at = at.tz_localize(None)
        keep &= getattr(stamps, op)(at)
    return keep.to_numpy()


def _parquet(frame: pd.DataFrame, order: Any) -> bytes:
    """The frame's rows in `order` as zstd parquet, written a row group at a time under a
    progress bar on large views (Arrow takes the rows, without the GIL). Only text and
    other non-numeric columns are dictionary encoded: numbers and times are left to zstd
    (a dictionary of floats or times is mostly built to be dropped: a third of the write
    time, for a larger file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    table = pa.Table.from_pandas(frame, preserve_index=False).take(order)
    repeating = [f.name for f in table.schema if not (
        pa.types.is_floating(f.type) or pa.types.is_integer(f.type)
        or pa.types.is_temporal(f.type))]
    buf = io.BytesIO()
    with pq.ParquetWriter(buf, table.schema, compression="zstd",
                          use_dictionary=repeating) as writer, \
            tqdm(total=len(table), unit="row", desc="materialize",
                 disable=len(table) < 2 * CHUNK) as bar:
        for start in range(0, max(len(table), 1), CHUNK):
            writer.write_table(table.slice(start, CHUNK))
            bar.update(min(CHUNK, len(table) - start))
    return buf.getvalue()


def _store_parquet(frame: pd.DataFrame, order: Any) -> str:
    """The frame's rows in `order` as zstd parquet in the artifact store; its digest."""
    return get_store().artifacts.put_bytes(_parquet(frame, order))[0]


def materialize(name: str, start: Any = None, end: Any = None,
                online: bool = False, executor: Any = None) -> Materialization:
    """Compute view `name` (its newest version, or name@N), keep rows with start <= time <
    end, and store them as parquet linked to the dataset versions they were read from, with
    a profile of every feature. `online=True` also writes each key's latest row (within the
    ttl) to the online store.

    The rows stay as the view returned them. The profile starts first, on its own thread;
    meanwhile the order by entity and time is computed once, and then the parquet in that
    order (Arrow and zstd hold no GIL) and the online writes (Arrow builds the commands, then
    it mostly waits on the store) run beside it.

    A view over partitioned parquet (defined with `partitions=`) is computed a partition at
    a time where `executor` says: here (the default: the `executor` setting), or one task per
    partition on a Dask cluster ("dask://host:8786", a distributed.Client); see
    features/partitioned.py."""
    view = get_view(name)
    lo, hi = _epoch(start), _epoch(end)
    if lo is not None and hi is not None and hi <= lo:
        raise MLOpsUsageError("end must be after start")
    if view.partitions is None and executor not in (None, "local") and not getattr(
            executor, "local", False):
        raise MLOpsUsageError(f"view {view.ref} computes all its rows at once: an executor "
                              "computes views over partitioned parquet (partitions=)")
    target = None
    if online:
        from .online import online_store, write

        target = online_store()  # an unreachable store fails here, before anything is written
    if view.partitions is not None:
        from .partitioned import compute

        done = compute(view, lo, hi, online, executor)
        written = None if target is None or done["latest"] is None else write(
            target, view, done["latest"])
        written = 0 if target is not None and written is None else written
        return _keep(view, done["digest"], done["rows"], lo, hi, done["profile"], (), online,
                       done["first"], done["last"], written)
    from ..data.profile import describe

    frame, reads = rows_of(view)
    keys = [*view.entities, view.timestamp]
    arrays = key_arrays(frame, keys)
    keep = None if lo is None and hi is None else _in_window(frame[view.timestamp], lo, hi)
    kept = frame if keep is None else frame[keep]
    with ThreadPoolExecutor(3) as pool:
        profiled = pool.submit(describe, kept[view.feature_names])
        order = row_order(arrays)
        refuse_duplicates(frame, keys, arrays, order)
        if keep is not None:  # the order of the rows kept, as their new positions
            order = (keep.cumsum() - 1)[order[keep[order]]]
            arrays = [a[keep] for a in arrays]
        blob = pool.submit(_store_parquet, kept, order)
        keys_online = None if target is None else pool.submit(
            write, target, view, kept.take(last_positions(arrays[:-1], order)))
        first, last = _event_range(kept[view.timestamp])
        _, profile = profiled.result()
        digest = blob.result()
        written = None if keys_online is None else keys_online.result()
    return _keep(view, digest, len(kept), lo, hi, profile, tuple(dict.fromkeys(reads)),
                   online, first, last, written)


def _keep(view: FeatureView, digest: str, rows: int, lo: float | None, hi: float | None,
            profile: dict[str, Any], inputs: tuple[str, ...], online: bool,
            first: float | None, last: float | None, written: int | None) -> Materialization:
    """Record a materialization whose parquet is stored."""
    now = time.time()
    with get_store().write("feature_view", view.name, "materialized") as conn:
        view_id = conn.execute(select(feature_views.c.id).where(
            feature_views.c.name == view.name, feature_views.c.version == view.version)
        ).scalar_one()
        conn.execute(feature_materializations.insert().values(
            view_id=view_id, blob_digest=digest, rows=rows, start=lo, end=hi,
            profile=json.dumps(profile), inputs=json.dumps(inputs), online=online,
            created_at=now, first_event=first, last_event=last,
            online_keys=written, created_by=get_store().actor))
    return Materialization(view.ref, rows, digest, lo, hi, inputs, now, written, profile,
                           first, last)


def _event_range(stamps: pd.Series) -> tuple[float | None, float | None]:
    """The oldest and newest event time as epoch seconds (naive times are UTC)."""
    if stamps.empty:
        return None, None
    return _epoch(stamps.min()), _epoch(stamps.max())


def materializations(view: FeatureView, limit: int | None = None) -> list[Materialization]:
    """The materializations of one view version, newest first."""
    query = (select(feature_materializations).join(
        feature_views, feature_views.c.id == feature_materializations.c.view_id)
        .where(feature_views.c.name == view.name, feature_views.c.version == view.version)
        .order_by(feature_materializations.c.id.desc()).limit(limit))
    with get_store().read() as conn:
        rows = conn.execute(query).mappings().all()
    return [materialization_of(view.ref, row) for row in rows]


def materialization_of(ref: str, row: Any) -> Materialization:
    """The entity of a feature_materializations row of view version `ref`."""
    return Materialization(ref, row["rows"], row["blob_digest"], row["start"], row["end"],
                           tuple(json.loads(row["inputs"])), row["created_at"],
                           online=row["online_keys"] if row["online"] else None,
                           profile=json.loads(row["profile"]),
                           first_event=row["first_event"], last_event=row["last_event"])


def latest_materialization(view: FeatureView) -> Materialization | None:
    """The view version's newest materialization, or None."""
    found = materializations(view, limit=1)
    return found[0] if found else None


def local_parquet(digest: str) -> Path:
    """A local copy of a materialization's parquet (fetched once from the artifact store)."""
    path = config.load().mlops_dir / "cache" / "features" / f"{digest}.parquet"
    if not path.exists():
        get_store().artifacts.get_file(digest, path)
    return path


def _requested(features: list[str]) -> dict[str, list[str]]:
    """{view reference: [feature, ...]} from "view:feature" names, in the order given."""
    if isinstance(features, str) or not features:
        raise MLOpsUsageError('features is a list of "view:feature" names')
    wanted: dict[str, list[str]] = {}
    for item in features:
        view, sep, feature = str(item).rpartition(":")
        if not sep or not view or not feature:
            raise MLOpsUsageError(f'{item!r} is not a "view:feature" name')
        wanted.setdefault(view, []).append(feature)
    return wanted


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def get_historical_features(entity_df: pd.DataFrame, features: list[str],
                            timestamp: str | None = None,
                            full_feature_names: bool = False) -> pd.DataFrame:
    """`entity_df` with the features joined point-in-time correct: for each row, the latest
    feature row of its entity at or before the row's time and within the view's ttl (never a
    later one); no match gives nulls, and every entity row is kept, in order. The row's time
    is the column `timestamp`; by default `event_timestamp`, else the frame's only datetime
    column. Columns are named by feature, or view__feature when asked or when names collide.
    Views never materialized are materialized first. Inside a run, the views and the
    training set are recorded as its inputs."""
    import duckdb
    import numpy as np
    import pandas as pd

    if not isinstance(entity_df, pd.DataFrame):
        raise MLOpsUsageError(f"entity_df is a DataFrame, not a {type(entity_df).__name__}")
    timestamp = entity_time_column(entity_df, timestamp)
    if not pd.api.types.is_datetime64_any_dtype(entity_df[timestamp]):
        raise MLOpsUsageError(f"entity_df[{timestamp!r}] holds {entity_df[timestamp].dtype}, "
                              "not datetimes")
    wanted = _requested(features)
    views = {ref: get_view(ref) for ref in wanted}
    for ref, view in views.items():
        unknown = [f for f in wanted[ref] if f not in view.feature_names]
        if unknown:
            raise MLOpsUsageError(f"view {view.ref} has no feature {', '.join(unknown)} "
                                  f"(it has: {', '.join(view.feature_names)})")
        absent = [e for e in view.entities if e not in entity_df.columns]
        if absent:
            raise MLOpsUsageError(f"entity_df lacks {', '.join(absent)}, the entity key of "
                                  f"view {view.name}")
    counts: dict[str, int] = {}
    for names in wanted.values():
        for f in names:
            counts[f] = counts.get(f, 0) + 1
    taken = set(entity_df.columns)
    entity_zone = getattr(entity_df[timestamp].dtype, "tz", None) is not None
    con = duckdb.connect()
    try:
        base = entity_df.assign(__mlops_row=np.arange(len(entity_df)))
        con.register("entities", base)
        select_list, joins = ["e.* EXCLUDE (__mlops_row)"], []
        for i, (ref, view) in enumerate(views.items()):
            done = latest_materialization(view) or materialize(view.ref)
            path = str(local_parquet(done.digest)).replace("'", "''")
            _check_zones(path, view, entity_zone)
            alias = f"v{i}"
            keys = " AND ".join(f"e.{_quote(k)} = {alias}.{_quote(k)}" for k in view.entities)
            joins.append(f"ASOF LEFT JOIN read_parquet('{path}') {alias} ON {keys} AND "
                         f"e.{_quote(timestamp)} >= {alias}.{_quote(view.timestamp)}")
            fresh = "TRUE" if view.ttl is None else (
                f"{alias}.{_quote(view.timestamp)} >= e.{_quote(timestamp)} - "
                f"to_microseconds({int(view.ttl * 1e6)})")
            for feature in wanted[ref]:
                label = feature
                if full_feature_names or counts[feature] > 1 or feature in taken:
                    label = f"{view.name}__{feature}"
                taken.add(label)
                select_list.append(f"CASE WHEN {fresh} THEN {alias}.{_quote(feature)} END "
                                   f"AS {_quote(label)}")
        query = (f"SELECT {', '.join(select_list)} FROM entities e {' '.join(joins)} "
                 f"ORDER BY e.__mlops_row")
        result = con.execute(query).df()
    except duckdb.Error as exc:
        raise MLOpsUsageError(f"the point-in-time join failed: {exc}") from None
    finally:
        con.close()
    result.index = entity_df.index
    _record(views, result)
    return result


def entity_time_column(entity_df: pd.DataFrame, timestamp: str | None) -> str:
    """The entity frame's time column: `timestamp` when given; else `event_timestamp` when
    there is one; else the frame's only datetime column, time zone-aware or naive (as Feast
    infers it). Anything else is one error naming the datetime columns found."""
    import pandas as pd

    if timestamp is not None:
        if timestamp not in entity_df.columns:
            raise MLOpsUsageError(f"entity_df has no timestamp column {timestamp!r}")
        return timestamp
    if "event_timestamp" in entity_df.columns:
        return "event_timestamp"
    found = [c for c, dtype in entity_df.dtypes.items()
             if pd.api.types.is_datetime64_any_dtype(dtype)]
    if len(found) == 1:
        return found[0]
    named = ", ".join(repr(c) for c in found)
    what = (f"{len(found)} datetime columns ({named})" if found else
            "no datetime column (convert the time column with pd.to_datetime)")
    raise MLOpsUsageError(f"entity_df has no event_timestamp column and {what}: name the "
                          "column holding each row's time with timestamp=")


def _check_zones(path: str, view: FeatureView, entity_zone: bool) -> None:
    import pyarrow.parquet as pq

    field_type = pq.read_schema(path).field(view.timestamp).type
    view_zone = getattr(field_type, "tz", None) is not None
    if view_zone != entity_zone:
        raise MLOpsUsageError(
            f"view {view.name}'s times are {'time zone-aware' if view_zone else 'naive'} but "
            f"entity_df's are {'time zone-aware' if entity_zone else 'naive'}: make them agree")


def _record(views: dict[str, FeatureView], result: pd.DataFrame) -> None:
    """Inside a run: the view versions and the training set become its inputs."""
    from ..data.versions import version_dataset
    from ..store.tables import run_links
    from ..tracking.fluent import active_run

    run = active_run()
    if run is None:
        return
    now = time.time()
    with get_store().write("run", run.id, "inputs") as conn:
        for view in views.values():
            conn.execute(run_links.insert().values(
                run_id=run.id, direction="input", kind="feature_view",
                ref=f"feature:{view.ref}", role=None, created_at=now))
    name = "training-set-" + "-".join(sorted(v.name for v in views.values()))
    version_dataset(result, name[:200], role="train")
