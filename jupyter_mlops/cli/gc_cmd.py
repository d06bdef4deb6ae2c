"""`jupyter mlops gc`: remove blobs nothing references."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("gc", help="remove artifact blobs that nothing references")
    p.add_argument("--grace", type=float, help="keep blobs touched in the last SECONDS "
                   "(default: the gc_grace setting, 3600)")
    p.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import MLOpsUsageError
    from ..store.gc import gc

    if args.grace is not None and args.grace < 0:
        raise MLOpsUsageError("--grace must not be negative")
    print(gc(grace=args.grace, dry_run=args.dry_run))
    return 0
