"""`jupyter mlops monitor NAME@ALIAS [--window 1h] [--method auto|evidently]`: the scoring
server's sample → batches."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("monitor", help="turn a served model's sample into monitoring batches")
    p.add_argument("ref", help="NAME (every version), NAME@ALIAS or NAME@VERSION")
    p.add_argument("--window", default="1h", help="batch length: 30m, 1h, 1d … (default 1h)")
    p.add_argument("--include-current", action="store_true",
                   help="also monitor the window still open (its later rows are then skipped)")
    p.add_argument("--method", help="drift preset: auto or evidently (default: the preset of "
                                    "the model's latest batch; auto for a model never monitored)")
    p.set_defaults(func=monitor_)


def monitor_(args) -> int:
    from ..drift.monitor import monitor_serving

    batches = monitor_serving(args.ref, window=args.window,
                              include_current=args.include_current, method=args.method)
    for batch in batches:
        print(batch.summary())
    if not batches:
        print("no complete window of sampled rows to monitor yet")
    return 0
