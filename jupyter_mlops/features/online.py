"""Online features: each entity key's latest row of a view, for low-latency lookups.

Embedded default: a SQLite file (`.mlops/online.db`); for a team, Redis
(`MLOPS_ONLINE_STORE=redis://host:6379/0`). Each key holds one value (the row's time and its
features by name, as JSON), so re-materializing replaces a key in one write and a reader never sees
half of an update. Writes are batched (one transaction in SQLite, pipelines in Redis); keys
past the view's ttl read as missing (in Redis they also expire)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from .. import config
from ..errors import MLOpsUsageError, StoreError
from .views import FeatureView, get_view

if TYPE_CHECKING:
    import pandas as pd

BATCH = 10_000  # keys per pipeline or executemany


def _key_text(value: Any) -> str:
    if type(value) is int:  # the common key, at lookup speed
        return str(value)
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float):
        if value != value:
            return "null"
        if value.is_integer():
            value = int(value)
    elif value is None or (not isinstance(value, (str, int)) and _missing(value)):
        return "null"
    return json.dumps(value, default=str)


def _missing(value: Any) -> bool:
    import pandas as pd

    return pd.isna(value) is True


def entity_key(values: list[Any]) -> str:
    """The key of an entity: its key values as JSON (1.0 and 1 are the same key, and every
    missing value is null, as rows are grouped by entity)."""
    return "[" + ",".join(_key_text(v) for v in values) + "]"


def _keys(rows: pd.DataFrame, entities: tuple[str, ...]) -> Any:
    """`entity_key` of each row (a pyarrow string array), a column at a time: integer and
    boolean keys by Arrow, other values through `_key_text`."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = []
    for e in entities:
        column = rows[e]
        if (pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column)) \
                and not column.hasnans:
            texts.append(pc.cast(pa.array(column), pa.string()))
        else:
            texts.append(pa.array([_key_text(v) for v in column.tolist()], pa.string()))
    return pc.binary_join_element_wise("[", pc.binary_join_element_wise(*texts, ","), "]", "")


def _json_column(series: pd.Series) -> list[str]:
    """Each value of a column that is not numbers or booleans as JSON text (missing values as
    null), in Python: text, times, categories, objects."""
    import pandas as pd

    return ["null" if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)
            else json.dumps(v, default=str) for v in series.tolist()]


def _number_texts(series: pd.Series) -> Any:
    """A column of numbers or booleans as JSON texts, vectorized by Arrow (a pyarrow string
    array): each float its shortest exact text, whole floats keeping a ".0" (so they read back
    as floats), ±inf as ±Infinity (as Python's json writes them), NaN and missing values as
    null."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pd.api.types.is_float_dtype(series):
        return pc.cast(pa.array(series), pa.string()).fill_null("null")
    numbers = series.to_numpy(dtype="float64", na_value=np.nan)
    texts = pc.cast(pa.array(numbers, from_pandas=True), pa.string())  # NaN -> null
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
    if whole.any():  # Arrow writes 2.0 as "2" (but 1e+16 as it is)
        whole &= ~pc.match_substring(texts, "e").fill_null(True).to_numpy(zero_copy_only=False)
        texts = pc.if_else(whole, pc.binary_join_element_wise(texts, ".0", ""), texts)
    if np.isinf(numbers).any():
        texts = pc.replace_substring(texts, "inf", "Infinity")
    return texts.fill_null("null")


def _plain(series: pd.Series) -> bool:
    """Numbers or booleans, which Arrow encodes (not complex numbers)."""
    import pandas as pd

    return (pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series)
            or pd.api.types.is_float_dtype(series))


class OnlineStore(Protocol):
    def put(self, view: str, keys: Any, values: Any, lives: Any) -> None:
        """Each key's value JSON (`keys`, `values`: pyarrow string arrays), replacing what was
        there; `lives`: a numpy array of the seconds each key has left (None: they never
        expire)."""

    def get(self, view: str, keys: list[str]) -> list[str | None]:
        """The value JSON of each key, None where there is none."""


class SQLiteOnline:
    """The embedded online store: one table, (view, key) → value."""

    def __init__(self, path: str):
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS online_features (view TEXT NOT NULL, "
                         "key TEXT NOT NULL, value TEXT NOT NULL, expires REAL, "
                         "PRIMARY KEY (view, key)) WITHOUT ROWID")
            self._local.conn = conn
        return conn

    def put(self, view: str, keys: Any, values: Any, lives: Any) -> None:
        expires = [None] * len(keys) if lives is None else (time.time() + lives).tolist()
        rows = zip([view] * len(keys), keys.to_pylist(), values.to_pylist(), expires,
                   strict=True)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT INTO online_features (view, key, value, expires) "
                             "VALUES (?, ?, ?, ?) ON CONFLICT (view, key) DO UPDATE SET "
                             "value = excluded.value, expires = excluded.expires", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def get(self, view: str, keys: list[str]) -> list[str | None]:
        found: dict[str, tuple[str, float | None]] = {}
        conn = self._conn()
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            marks = ",".join("?" * len(part))
            for key, value, expires in conn.execute(
                    f"SELECT key, value, expires FROM online_features WHERE view = ? AND key IN "
                    f"({marks})", [view, *part]):
                found[key] = (value, expires)
        now = time.time()
        return [found[k][0] if k in found and (found[k][1] is None or found[k][1] > now)
                else None for k in keys]


def _millis(lives: Any) -> Any:
    """Seconds left as whole milliseconds, rounded up, at least 1 (Redis PX): an int64 array."""
    import numpy as np

    return np.maximum(1, np.ceil(np.asarray(lives, dtype="float64") * 1000)).astype("int64")


def _resp_sets(names: Any, values: Any, millis: Any) -> Any:
    """`SET name value [PX millis]` for each row, in the Redis protocol (RESP), as one
    pyarrow buffer: built a column at a time by Arrow, without the GIL and without a Python
    object per key (hiredis's pack_command, a call per key, took twice the CPU and held the
    GIL the parquet and profile threads wait for)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def bulk(texts: Any) -> list[Any]:  # a bulk string: $<bytes>\r\n<text>\r\n
        return ["$", pc.cast(pc.binary_length(texts), pa.string()), "\r\n", texts, "\r\n"]

    parts = [*bulk(names), *bulk(values)]
    if millis is not None:
        parts += ["$2\r\nPX\r\n", *bulk(pc.cast(pa.array(millis), pa.string()))]
    commands = pc.binary_join_element_wise(
        "*5\r\n$3\r\nSET\r\n" if millis is not None else "*3\r\n$3\r\nSET\r\n", *parts, "")
    whole = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(commands)], pa.int32()),
                                                    commands), "")
    return whole[0].as_buffer()


class RedisOnline:
    """The team online store: one Redis string per key, `mlops:fv:<view>:<key>`."""

    def __init__(self, url: str):
        import redis

        self.client, self.url = redis.Redis.from_url(url), config.redact(url)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            raise StoreError(f"online store {self.url}: {exc}") from None

    @staticmethod
    def _name(view: str, key: str) -> str:
        return f"mlops:fv:{view}:{key}"

    def put(self, view: str, keys: Any, values: Any, lives: Any) -> None:
        """SET (with PX when keys expire), written in the Redis protocol by Arrow straight
        onto one connection a batch at a time, each batch's replies read once the next one is
        on its way: the pipelining of redis-py's Pipeline without its per-command Python work
        (100k keys: 0.94 s through Pipeline; building the commands took 85 ms of GIL-held
        CPU with hiredis's pack_command, 30 ms without the GIL by Arrow). An error reply
        (out of memory, say) stops the writes with a StoreError; keys already written keep
        their new values."""
        import pyarrow.compute as pc
        import redis

        names = pc.binary_join_element_wise(self._name(view, ""), keys, "")
        millis = None if lives is None else _millis(lives)
        pool = self.client.connection_pool
        conn, pending = pool.get_connection(), 0
        try:
            for start in range(0, len(keys), BATCH):
                end = start + BATCH
                conn.send_packed_command([_resp_sets(
                    names[start:end], values[start:end],
                    None if millis is None else millis[start:end])], check_health=start == 0)
                for _ in range(pending):
                    conn.read_response()  # raises the first error reply
                pending = min(end, len(keys)) - start
            for _ in range(pending):
                conn.read_response()
        except BaseException as exc:
            conn.disconnect()  # replies may be left unread on it
            if isinstance(exc, redis.RedisError):
                raise StoreError(f"online store {self.url}: {exc}") from None
            raise
        finally:
            pool.release(conn)

    def get(self, view: str, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        values = self.client.mget([self._name(view, k) for k in keys])
        return [None if v is None else v.decode() for v in values]


_stores: dict[str, OnlineStore] = {}


def online_store() -> OnlineStore:
    """The online store the settings name (one per URI per process)."""
    uri = config.load().online_store
    if uri not in _stores:
        if uri.startswith(("redis://", "rediss://", "unix://")):
            _stores[uri] = RedisOnline(uri)
        elif uri.startswith("sqlite:///"):
            _stores[uri] = SQLiteOnline(uri.removeprefix("sqlite:///"))
        else:
            raise MLOpsUsageError(f"MLOPS_ONLINE_STORE must be sqlite:///PATH or redis://…, got "
                                  f"{config.redact(uri)}")
    return _stores[uri]


def _epoch_seconds(stamps: pd.Series) -> Any:
    """Event times as float seconds since the epoch (naive times are UTC), a numpy array."""
    return stamps.dt.as_unit("us").astype("int64").to_numpy() / 1e6


def _values(rows: pd.DataFrame, names: list[str], stamps: Any) -> Any:
    """Each row's value: `[time, {feature: value, ...}]` as JSON text (a pyarrow string
    array), joined by Arrow a column at a time; numbers and booleans are encoded by Arrow,
    other columns in Python."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    parts: list[Any] = ["[", _number_texts(pd.Series(stamps))]
    for i, name in enumerate(names):
        column = rows[name]
        parts.append(("," if i else ",{") + json.dumps(name) + ":")
        parts.append(_number_texts(column) if _plain(column)
                     else pa.array(_json_column(column), pa.string()))
    parts.append("}]")
    return pc.binary_join_element_wise(*parts, "")


def write(store: OnlineStore, view: FeatureView, latest: pd.DataFrame,
          now: float | None = None) -> int:
    """Each entity's latest row (`latest`: one row a key), unless past the ttl, into the
    store; the number of keys written. Keys and values are encoded a column at a time, by
    Arrow where they are numbers."""
    now = time.time() if now is None else now
    stamps = _epoch_seconds(latest[view.timestamp])
    lives = None
    if view.ttl is not None:
        left = view.ttl - (now - stamps)
        keep = left > 0
        latest, stamps, lives = latest[keep], stamps[keep], left[keep]
    keys = _keys(latest, view.entities)
    values = _values(latest, view.feature_names, stamps)
    for start in range(0, len(keys), BATCH * 10):
        part = slice(start, start + BATCH * 10)
        store.put(view.name, keys[part], values[part], None if lives is None else lives[part])
    return len(keys)


_views: dict[tuple[str, str], tuple[float, FeatureView]] = {}
VIEW_CACHE_SECONDS = 5.0  # a new view version reaches online lookups within this long


def _cached_view(ref: str) -> FeatureView:
    """View definitions for lookups, re-read from the metadata store at most every 5 s."""
    now, key = time.monotonic(), (config.load().store_uri, ref)
    hit = _views.get(key)
    if hit is None or now - hit[0] > VIEW_CACHE_SECONDS:
        hit = _views[key] = (now, get_view(ref))
    return hit[1]


def online_lookup(features: list[str], entity_rows: Any) -> dict[str, list[Any]]:
    """The lookup itself: {column: [value for each entity row]} for features named
    "view:feature" (column: the feature, or view__feature when two views share a name);
    `entity_rows` is a list of dicts or a DataFrame of key columns. Missing or expired keys
    give None."""
    import pandas as pd

    from .offline import _requested

    wanted = _requested(features)
    frame = isinstance(entity_rows, pd.DataFrame)
    if entity_rows is None or len(entity_rows) == 0:
        raise MLOpsUsageError("entity_rows is empty: give dicts (or a DataFrame) of entity keys")
    counts: dict[str, int] = {}
    for names in wanted.values():
        for f in names:
            counts[f] = counts.get(f, 0) + 1
    store, now, out = online_store(), time.time(), {}
    for ref, names in wanted.items():
        view = _cached_view(ref)
        present = entity_rows.columns if frame else entity_rows[0]
        absent = [e for e in view.entities if e not in present]
        if absent:
            raise MLOpsUsageError(f"entity_rows lack {', '.join(absent)}, the key of view "
                                  f"{view.name}")
        unknown = [f for f in names if f not in view.feature_names]
        if unknown:
            raise MLOpsUsageError(f"view {view.ref} has no feature {', '.join(unknown)}")
        try:
            key_rows = (entity_rows[list(view.entities)].to_numpy().tolist() if frame else
                        [[row[e] for e in view.entities] for row in entity_rows])
        except (KeyError, TypeError):
            raise MLOpsUsageError(f"every entity row needs {', '.join(view.entities)}") from None
        found = [json.loads(v) if v else None for v in
                 store.get(view.name, [entity_key(k) for k in key_rows])]
        oldest = -float("inf") if view.ttl is None else now - view.ttl
        rows = [f[1] if f is not None and f[0] >= oldest else {} for f in found]
        for feature in names:
            out[f"{view.name}__{feature}" if counts[feature] > 1 else feature] = [
                row.get(feature) for row in rows]
    return out


def get_online_features(features: list[str], entity_rows: Any) -> pd.DataFrame:
    """The features' latest values for each entity row (a list of dicts or a DataFrame of
    key columns), in that order, beside the keys; missing or expired keys give nulls."""
    import pandas as pd

    if not isinstance(entity_rows, (list, tuple, pd.DataFrame)):
        raise MLOpsUsageError("entity_rows is a list of dicts or a DataFrame of entity keys")
    values = online_lookup(features, entity_rows)
    if isinstance(entity_rows, pd.DataFrame):
        out = entity_rows.reset_index(drop=True).copy()
        for label, column in values.items():
            out[label if label not in out.columns else f"{label}_online"] = column
        return out
    # dicts: the frame built once from columns (what pd.DataFrame(list of dicts) gives, keys in
    # order of first appearance, a missing one null), not a column assigned at a time: 5x
    # faster for one row, where pandas' per-call overhead is most of the lookup
    names = dict.fromkeys(k for row in entity_rows for k in row)
    columns = {k: [row.get(k) for row in entity_rows] for k in names}
    for label, column in values.items():
        columns[label if label not in columns else f"{label}_online"] = column
    return pd.DataFrame(columns)
