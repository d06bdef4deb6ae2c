"""Feature views: every view with its freshness, and one version in full with the figure of
its features' distributions. Read-only: views are defined and materialized from notebooks, the
CLI or pipelines."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, path
from .base import MLOpsHandler, reads

VIEW = path("name", "the feature view's name")


def _view(ref: str) -> dict[str, Any]:
    from ...features.catalog import describe_view

    described = describe_view(ref)
    return {**described.to_dict(), "figure": described.figure()}


class FeaturesHandler(MLOpsHandler):
    GET = Operation("Feature views, newest version each: entities, timestamp, ttl, features, "
                    "versions, and the last materialization with its freshness",
                    "FeatureViews")

    @reads
    async def get(self) -> None:
        from ...features.catalog import feature_catalog

        self.reply({"views": await self.call(feature_catalog)})


class FeatureViewHandler(MLOpsHandler):
    GET = Operation("A view's newest version: definition, versions, materializations, "
                    "freshness, profile table and the figure of its distributions",
                    "FeatureView", params=(VIEW,), errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_view, name))


class FeatureVersionHandler(MLOpsHandler):
    GET = Operation("One version of a view, as for the view", "FeatureView",
                    params=(VIEW, path("version", "a version number or latest")),
                    errors=(400, 404))

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_view, f"{name}@{version}"))


ROUTES = [
    ("/features", FeaturesHandler),
    ("/features/{name}", FeatureViewHandler),
    ("/features/{name}/versions/{version}", FeatureVersionHandler),
]
