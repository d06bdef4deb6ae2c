"""Feature views: every view with its freshness, and one version in full with the figure of
its features' distributions. Read-only: views are defined and materialized from notebooks, the
CLI or pipelines."""

from __future__ import annotations

from typing import Any

from .base import MLOpsHandler, reads


def _view(ref: str) -> dict[str, Any]:
    from ...features.catalog import describe_view

    described = describe_view(ref)
    return {**described.to_dict(), "figure": described.figure()}


class FeaturesHandler(MLOpsHandler):
    DOC = {"get": "Feature views, newest version each: entities, timestamp, ttl, features, "
                  "versions, and the last materialization with its freshness"}

    @reads
    async def get(self) -> None:
        from ...features.catalog import feature_catalog

        self.reply({"views": await self.call(feature_catalog)})


class FeatureViewHandler(MLOpsHandler):
    DOC = {"get": "A view's newest version: definition, versions, materializations, "
                  "freshness, profile table and the figure of its distributions"}

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_view, name))


class FeatureVersionHandler(MLOpsHandler):
    DOC = {"get": "One version of a view (a number or latest), as for the view"}

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_view, f"{name}@{version}"))


ROUTES = [
    ("/features", FeaturesHandler),
    ("/features/{name}", FeatureViewHandler),
    ("/features/{name}/versions/{version}", FeatureVersionHandler),
]
