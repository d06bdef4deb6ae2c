"""The monitoring sample: a share of the rows a served model scored, with its predictions,
kept as batches (one parquet blob each, listed in `monitoring_batches`) for drift monitoring.

The server samples each row with probability `rate` and writes a batch when it holds
`max_rows` rows or `interval` seconds have passed, and when it stops, so a request never
waits for the store."""

from __future__ import annotations

import io
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..store import get_store
from ..store.tables import models, monitoring_batches

if TYPE_CHECKING:
    import pandas as pd

PREDICTION = "prediction"
TIMESTAMP = "timestamp"


def record_batch(name: str, version: int, frame: pd.DataFrame, source: str) -> int:
    """Store one batch of rows (inputs plus `prediction`, `timestamp` columns) for version
    `version` of model `name`; returns the number of rows stored."""
    store = get_store()
    buf = io.BytesIO()
    frame.to_parquet(buf, compression="zstd", index=False)
    digest, _ = store.artifacts.put_bytes(buf.getvalue())
    stamps = frame[TIMESTAMP]
    with store.write("model", name, "monitoring") as conn:
        model_id = conn.execute(select(models.c.id).where(models.c.name == name)).scalar_one()
        conn.execute(monitoring_batches.insert().values(
            model_id=model_id, version=version, source=source, rows=len(frame),
            blob_digest=digest, first_at=float(stamps.min().timestamp()),
            last_at=float(stamps.max().timestamp()), created_at=time.time()))
    return len(frame)


def monitoring_data(name: str, version: int | None = None, source: str | None = None,
                    since: float | None = None) -> pd.DataFrame:
    """Every stored sample row of model `name` (one version, one source, rows newer than
    `since` seconds since the epoch), with `version` and `source` columns."""
    import pandas as pd

    store = get_store()
    query = (select(monitoring_batches.c.version, monitoring_batches.c.source,
                    monitoring_batches.c.blob_digest)
             .join(models, models.c.id == monitoring_batches.c.model_id)
             .where(models.c.name == name).order_by(monitoring_batches.c.id))
    if version is not None:
        query = query.where(monitoring_batches.c.version == version)
    if source is not None:
        query = query.where(monitoring_batches.c.source == source)
    if since is not None:
        query = query.where(monitoring_batches.c.last_at >= since)
    with store.read() as conn:
        if conn.execute(select(models.c.id).where(models.c.name == name)).first() is None:
            from ..errors import NotFoundError

            raise NotFoundError(f"no model named {name!r}")
        rows = conn.execute(query).all()
    frames = []
    for number, src, digest in rows:
        part = pd.read_parquet(io.BytesIO(store.artifacts.get_bytes(digest)))
        frames.append(part.assign(version=number, source=src))
    if not frames:
        return pd.DataFrame(columns=[TIMESTAMP, PREDICTION, "version", "source"])
    out = pd.concat(frames, ignore_index=True)
    if since is not None:
        out = out[out[TIMESTAMP] >= pd.Timestamp(since, unit="s", tz="UTC")]
    return out.reset_index(drop=True)


class Sampler:
    """Buffers sampled rows per model version and writes them as batches off the request
    path (`flush` is called by the server's background thread and at shutdown)."""

    def __init__(self, name: str, rate: float, max_rows: int = 10_000, interval: float = 60.0):
        import numpy as np

        if not 0.0 <= rate <= 1.0:
            from ..errors import MLOpsUsageError

            raise MLOpsUsageError(f"the sample rate is a share from 0 to 1, got {rate}")
        self.name, self.rate, self.max_rows, self.interval = name, rate, max_rows, interval
        self._rng = np.random.default_rng()
        self._lock = threading.Lock()
        self._pending: dict[int, list[pd.DataFrame]] = {}
        self._rows = 0
        self._last_flush = time.monotonic()
        self.stored = 0

    def add(self, version: int, inputs: pd.DataFrame, predictions: list) -> None:
        """Keep each row with probability `rate` (cheap: one random draw per row)."""
        import pandas as pd

        if self.rate <= 0.0 or not len(inputs):
            return
        keep = self._rng.random(len(inputs)) < self.rate
        if not keep.any():
            return
        rows = inputs[keep].copy() if not keep.all() else inputs.copy()
        kept = [p for p, k in zip(predictions, keep, strict=True) if k]
        rows[PREDICTION] = [p if not isinstance(p, (dict, list)) else str(p) for p in kept]
        rows[TIMESTAMP] = pd.Timestamp.now(tz="UTC")
        with self._lock:
            self._pending.setdefault(version, []).append(rows)
            self._rows += len(rows)

    def due(self) -> bool:
        return self._rows >= self.max_rows or (
            self._rows > 0 and time.monotonic() - self._last_flush >= self.interval)

    def flush(self) -> int:
        """Write what is buffered; returns the rows written."""
        import pandas as pd

        with self._lock:
            pending, self._pending, self._rows = self._pending, {}, 0
            self._last_flush = time.monotonic()
        written = 0
        for version, parts in pending.items():
            written += record_batch(self.name, version, pd.concat(parts, ignore_index=True),
                                    "serving")
        self.stored += written
        return written

