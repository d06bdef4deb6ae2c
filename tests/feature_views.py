"""The feature views the REST and browser tests share: customers (two versions, the newest
materialized online), stale (materialized, its only row 40 days old, past its 7-day ttl) and
orders (never materialized). Each view returns the frame SOURCE holds under its name."""

from __future__ import annotations

import pandas as pd

SOURCE: dict[str, pd.DataFrame] = {}


def define(mlops, customers: pd.DataFrame, now: pd.Timestamp,
           orders_age: pd.Timedelta = pd.Timedelta(0)) -> None:
    """Define the three views over `customers` (customer_id, ts and features), the others
    dated from `now`, and materialize customers (online) and stale."""
    SOURCE["customers"] = customers
    SOURCE["stale"] = pd.DataFrame({"customer_id": [1], "ts": [now - pd.Timedelta(days=40)],
                                    "x": [1.0]})
    SOURCE["orders"] = pd.DataFrame({"order_id": [7], "ts": [now - orders_age],
                                     "total": [9.5]})
    for ttl in ("7d", "30d"):  # two definitions: versions 1 and 2
        @mlops.feature_view("customers", entities=["customer_id"], timestamp="ts", ttl=ttl,
                            description="what customers spend")
        def customers():
            return SOURCE["customers"]

    @mlops.feature_view("stale", entities="customer_id", timestamp="ts", ttl="7d")
    def stale():
        return SOURCE["stale"]

    @mlops.feature_view("orders", entities="order_id", timestamp="ts")
    def orders():
        return SOURCE["orders"]

    mlops.materialize("customers", online=True)
    mlops.materialize("stale")
