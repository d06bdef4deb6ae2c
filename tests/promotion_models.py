"""Model `m` on a team store for the promotion tests (tests/test_promotions.py and
tests/test_promotion_adapters.py): versions registered from runs that logged `f1`, and a
second maintainer when a test needs one."""

from __future__ import annotations

import pandas as pd
from sklearn.linear_model import LinearRegression

X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})


def register(mlops, f1: float, slope: float = 1.0, **kwargs):
    """A new version of model `m` from a run that logged `f1`."""
    with mlops.start_run(name=f"f1={f1}") as run:
        mlops.log_metric("f1", f1)
        version = mlops.register_model(LinearRegression().fit(X, X.x * slope), "m",
                                       signature=X, **kwargs)
    return version, run


def production(mlops) -> int | None:
    held = mlops.list_models("m").set_index("version")["aliases"]
    return next((v for v, a in held.items() if "production" in a.split(", ")), None)


def in_production(team, mlops):
    """Model `m`: version 1 (f1 0.8) in production, version 2 (f1 0.9, predicting 2x)
    registered, both by the contributor; production was moved by request 1, which the
    maintainer approved. Returns version 2's run."""
    alice, carol = team.users["contributor"], team.users["maintainer"]
    with team.acting_as(alice):
        register(mlops, 0.8)
        first = mlops.request_promotion("m@1", "production")
        _, run = register(mlops, 0.9, slope=2.0)
    with team.acting_as(carol):
        mlops.approve(first.id)
    return run


def second_maintainer(team) -> str:
    from jupyter_mlops.store import Store
    from jupyter_mlops.team import setup

    name = team.users["maintainer"] + "_2"
    store = Store(team.uri, team.artifacts)
    try:
        setup.add(name, "maintainer", store=store)
    finally:
        store.dispose()
    team.users["maintainer2"] = name  # dropped with the others
    return name
