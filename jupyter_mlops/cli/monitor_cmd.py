"""`jupyter mlops monitor NAME@ALIAS [--window 1h] [--method auto|evidently]`: the scoring
server's sample → batches; or, with `--batch PATH`, one batch from a partitioned parquet
dataset (its predictions and actuals named as columns), on the executor `--executor` names."""

from __future__ import annotations

from . import add_executor


def add(sub) -> None:
    p = sub.add_parser("monitor", help="turn a served model's sample into monitoring batches, "
                                       "or record one batch of partitioned parquet (--batch)")
    p.add_argument("ref", help="NAME (every version), NAME@ALIAS or NAME@VERSION")
    p.add_argument("--window", default="1h", help="batch length: 30m, 1h, 1d … (default 1h)")
    p.add_argument("--include-current", action="store_true",
                   help="also monitor the window still open (its later rows are then skipped)")
    p.add_argument("--method", help="drift preset: auto or evidently (default: the preset of "
                                    "the model's latest batch; auto for a model never monitored)")
    p.add_argument("--batch", metavar="PATH",
                   help="one batch: a partitioned parquet dataset (data/, 'data/*.parquet', "
                        "s3://bucket/prefix/) of the model's inputs, instead of the sample")
    p.add_argument("--predictions", metavar="COLUMN", help="the batch's predictions column")
    p.add_argument("--actuals", metavar="COLUMN", help="the batch's actuals column")
    p.add_argument("--timestamp", help="when the batch was seen (default: now)")
    add_executor(p)
    p.set_defaults(func=monitor_)


def monitor_(args) -> int:
    from ..drift.monitor import monitor, monitor_serving
    from ..errors import MLOpsUsageError

    if args.batch is not None:
        batch = monitor(args.ref, _path(args.batch), predictions=args.predictions,
                        actuals=args.actuals, timestamp=args.timestamp, source="cli",
                        method=args.method, executor=args.executor)
        print(batch.summary())
        return 0
    given = [f"--{n}" for n in ("predictions", "actuals", "timestamp", "executor")
             if getattr(args, n) is not None]
    if given:
        raise MLOpsUsageError(f"{', '.join(given)} go with --batch PATH (the sample of the "
                              "scoring server carries its own)")
    batches = monitor_serving(args.ref, window=args.window,
                              include_current=args.include_current, method=args.method)
    for batch in batches:
        print(batch.summary())
    if not batches:
        print("no complete window of sampled rows to monitor yet")
    return 0


def _path(text: str):
    """The batch is always a path here: a bare name such as `batch.parquet` too."""
    from pathlib import Path

    from .. import refs

    return text if refs.is_path(text) else Path(text)
