"""What is known of feature views, for people: every view's newest version with the freshness
of its last materialization (`feature_catalog`), and one version in full (`describe_view`:
versions, materializations, profile table, distributions). The sidebar, `%feature show` and
`jupyter mlops features show` all read these."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..store import get_store
from ..store.tables import feature_materializations, feature_views
from .offline import Materialization, materialization_of, materializations
from .views import FeatureView, _entity, get_view

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

RECENT = 20  # materializations a description lists


def freshness(done: Materialization | None, ttl: float | None,
              now: float | None = None) -> dict[str, Any]:
    """How current a view's offline and online data are: when it was last materialized, the
    newest event time in it, that event's age, and whether it is older than the ttl (then
    online lookups of every key read as missing)."""
    if done is None:
        return {"materialized_at": None, "last_event": None, "age": None, "expired": None}
    now = time.time() if now is None else now
    age = None if done.last_event is None else max(0.0, now - done.last_event)
    return {"materialized_at": done.created_at, "last_event": done.last_event, "age": age,
            "expired": None if age is None or ttl is None else age > ttl}


def _materialization_dict(done: Materialization) -> dict[str, Any]:
    return {"view": done.view, "rows": done.rows, "digest": done.digest, "at": done.created_at,
            "start": done.start, "end": done.end, "first_event": done.first_event,
            "last_event": done.last_event, "online": done.online, "inputs": list(done.inputs)}


def feature_catalog(now: float | None = None) -> list[dict[str, Any]]:
    """Every view's newest version (name order): entities, timestamp, ttl, features, number of
    versions, and its last materialization with its freshness. Two queries however many
    views there are."""
    store = get_store()
    newest = (select(feature_views.c.name, func.max(feature_views.c.version).label("version"),
                     func.count().label("versions"))
              .group_by(feature_views.c.name).subquery())
    last = (select(feature_materializations.c.view_id,
                   func.max(feature_materializations.c.id).label("id"))
            .group_by(feature_materializations.c.view_id).subquery())
    with store.read() as conn:
        views = conn.execute(
            select(feature_views, newest.c.versions).join(
                newest, (feature_views.c.name == newest.c.name)
                & (feature_views.c.version == newest.c.version))
            .order_by(feature_views.c.name)).mappings().all()
        done = {row["view_id"]: row for row in conn.execute(
            select(feature_materializations).join(last, feature_materializations.c.id == last.c.id)
        ).mappings()}
    out = []
    for row in views:
        view, m = _entity(row), done.get(row["id"])
        latest = None if m is None else materialization_of(view.ref, m)
        out.append({"name": view.name, "version": view.version, "versions": row["versions"],
                    "kind": view.kind, "entities": list(view.entities),
                    "timestamp": view.timestamp, "ttl": view.ttl,
                    "features": [{"name": n, "dtype": d} for n, d in view.features],
                    "description": view.description, "created_at": view.created_at,
                    "materialized": None if latest is None else _materialization_dict(latest),
                    "freshness": freshness(latest, view.ttl, now)})
    return out


@dataclass(frozen=True)
class ViewDescription:
    """One view version in full: `.view`, `.versions` (every version of the name, oldest
    first), `.materializations` (this version's, newest first), `.to_frame()` (the profile of
    each feature at its last materialization), `.figure()` (their distributions)."""

    view: FeatureView
    versions: tuple[dict[str, Any], ...]
    materializations: tuple[Materialization, ...]

    @property
    def latest(self) -> Materialization | None:
        return self.materializations[0] if self.materializations else None

    def to_frame(self) -> pd.DataFrame:
        from ..data.profile import profile_table

        return profile_table(list(self.view.features), self.latest.profile if self.latest else {})

    def figure(self) -> go.Figure:
        from ..charts.features import feature_distributions

        return feature_distributions(self.latest.profile if self.latest else {},
                                     f"{self.view.ref}: feature distributions")

    def to_dict(self) -> dict[str, Any]:
        latest = self.latest
        return {**self.view.to_dict(), "versions": list(self.versions),
                "materialized": None if latest is None else _materialization_dict(latest),
                "materializations": [_materialization_dict(m) for m in self.materializations],
                "freshness": freshness(latest, self.view.ttl),
                "profile": self.to_frame().to_dict(orient="records")}

    def _repr_html_(self) -> str:
        latest = self.latest
        if latest is None:
            state = (f"never materialized: <code>%feature materialize "
                     f"{html.escape(self.view.name)}</code>")
        else:
            state = html.escape(str(latest))
        table = self.to_frame().to_html(index=False, na_rep="–") if latest else ""
        return f"{self.view._repr_html_()}<div>{state}</div>{table}"


def describe_view(ref: str) -> ViewDescription:
    """A view version (`name`, `name@latest` or `name@3`) with every version of its name and
    its recent materializations."""
    view = get_view(ref)
    with get_store().read() as conn:
        rows = conn.execute(
            select(feature_views.c.version, feature_views.c.digest, feature_views.c.kind,
                   feature_views.c.features, feature_views.c.created_by,
                   feature_views.c.created_at)
            .where(feature_views.c.name == view.name)
            .order_by(feature_views.c.version)).mappings().all()
    versions = tuple({"version": r["version"], "digest": r["digest"], "kind": r["kind"],
                      "features": len(json.loads(r["features"])), "created_by": r["created_by"],
                      "created_at": r["created_at"]} for r in rows)
    return ViewDescription(view, versions, tuple(materializations(view, limit=RECENT)))
