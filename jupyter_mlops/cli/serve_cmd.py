"""`jupyter mlops serve NAME@ALIAS`: the scoring server (see serving/app.py)."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP, following its alias")
    p.add_argument("ref", help="NAME@ALIAS (followed when it moves), NAME@latest or NAME/VERSION")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--sample-rate", type=float, default=0.1,
                   help="share of scored rows kept for monitoring (0 to 1; default 0.1)")
    p.add_argument("--poll-interval", type=float, default=1.0,
                   help="seconds between checks of the alias (default 1)")
    p.add_argument("--sample-interval", type=float, default=60.0,
                   help="seconds between writes of the monitoring sample (default 60)")
    p.set_defaults(func=serve_)


def serve_(args) -> int:
    from ..errors import MLOpsUsageError
    from ..serving.app import serve

    if args.poll_interval <= 0 or args.sample_interval <= 0:
        raise MLOpsUsageError("--poll-interval and --sample-interval must be positive")
    serve(args.ref, host=args.host, port=args.port, sample_rate=args.sample_rate,
          poll_interval=args.poll_interval, sample_interval=args.sample_interval)
    return 0
