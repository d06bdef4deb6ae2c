"""`jupyter mlops config`: the settings in force and where each came from."""

from __future__ import annotations

import json


def add(sub) -> None:
    p = sub.add_parser("config", help="settings in force and where each value came from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=show)


def show(args) -> int:
    from .. import config

    rows = config.load().rows()
    if args.json:
        print(json.dumps({k: {"value": v, "source": src} for k, v, src in rows}, indent=2))
        return 0
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        print(f"{key:<{width}}  {value}  ({source})")
    return 0
