"""Batch scoring: a parquet or CSV file through a registered model, in chunks, to a parquet
or CSV file with a prediction column, with a progress bar. Memory stays at one chunk."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import MLOpsUsageError
from ..registry.versions import get_model_version
from .payload import predictions_json

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass(frozen=True)
class ScoreReport:
    model: str
    rows: int
    seconds: float
    output: str

    def __str__(self) -> str:
        rate = self.rows / self.seconds if self.seconds else float("inf")
        return (f"scored {self.rows:,} rows with {self.model} in {self.seconds:.2f} s "
                f"({rate:,.0f} rows/s) -> {self.output}")


def _format(path: Path, what: str) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MLOpsUsageError(f"the {what} {path} must end in .parquet or .csv")
    return fmt


def score_batch(ref: str, input: str | os.PathLike, output: str | os.PathLike,
                batch_size: int = 65_536, prediction_column: str = "prediction",
                progress: bool = True, allow_pickle: bool | None = None) -> ScoreReport:
    """Score every row of `input` with the model `ref` names and write the rows with their
    predictions to `output`. Input is checked against the signature before anything is
    written; columns the model does not take (ids, say) pass through to the output, which
    appears whole (written beside it, then renamed) or not at all. A pickle (joblib) model
    loads only with `allow_pickle` (None: the project's setting), as in `load_model`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    source, target = Path(input), Path(output)
    if not source.is_file():
        raise MLOpsUsageError(f"no input file at {source}")
    in_fmt, out_fmt = _format(source, "input"), _format(target, "output")
    if batch_size < 1:
        raise MLOpsUsageError("batch_size must be at least 1")
    version = get_model_version(ref)
    model = version.load(allow_pickle)
    if in_fmt == "parquet":
        reader = pq.ParquetFile(source)
        total = reader.metadata.num_rows
        batches = reader.iter_batches(batch_size=batch_size)
    else:
        total = None
        batches = pacsv.open_csv(source, read_options=pacsv.ReadOptions(
            block_size=max(1 << 20, batch_size * 64)))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="row", desc=f"scoring with {version.ref}")
    started = time.perf_counter()
    tmp = target.with_name(f".{target.name}.partial")
    writer = None
    rows = 0
    try:
        for batch in batches:
            frame = batch.to_pandas()
            if version.signature is not None:
                frame = version.signature.check(frame, allow_extra=True)
            try:
                predicted = predictions_json(model.predict(frame))
            except (ValueError, TypeError, KeyError) as exc:
                raise MLOpsUsageError(f"{version.ref} could not score rows {rows:,}+: {exc}") \
                    from None
            scored = batch.append_column(prediction_column, pa.array(predicted))
            if writer is None:
                tmp.parent.mkdir(parents=True, exist_ok=True)
                writer = (pq.ParquetWriter(tmp, scored.schema, compression="zstd")
                          if out_fmt == "parquet" else pacsv.CSVWriter(tmp, scored.schema))
            writer.write_batch(scored)
            rows += batch.num_rows
            if bar is not None:
                bar.update(batch.num_rows)
        if writer is None:
            raise MLOpsUsageError(f"{source} has no rows to score")
        writer.close()
        writer = None
        os.replace(tmp, target)
    finally:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        if bar is not None:
            bar.close()
    return ScoreReport(version.ref, rows, time.perf_counter() - started, str(target))
