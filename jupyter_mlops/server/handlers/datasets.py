"""Datasets: names, versions, one version's schema and profile, and diffs."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from .base import MLOpsHandler, reads


def _version(name: str, version: str) -> dict[str, Any]:
    from ...data.versions import get_version

    v = get_version(f"{name}@{version}")
    profile = {col: {k: x for k, x in stats.items() if k != "sketch"}
               for col, stats in v.profile.get("columns", {}).items()}
    return {"name": v.name, "version": v.version, "ref": v.ref, "digest": v.digest,
            "kind": v.kind, "format": v.format, "size": v.size, "rows": v.rows,
            "created_at": v.created_at, "run_id": v.run_id, "schema": v.schema,
            "profile": profile, "table": v.to_frame()}


def _diff(a: str, b: str, key: list[str] | None) -> dict[str, Any]:
    from ...data.diff import diff_datasets

    result = diff_datasets(a, b, key=key)
    return {**result.to_dict(), "figure": result.figure()}


class DatasetsHandler(MLOpsHandler):
    DOC = {"get": "Datasets with their number of versions and latest version"}

    @reads
    async def get(self) -> None:
        from ...data.versions import list_datasets

        self.reply({"datasets": await self.call(list_datasets)})


class DatasetHandler(MLOpsHandler):
    DOC = {"get": "The versions of one dataset"}

    @reads
    async def get(self, name: str) -> None:
        from ...data.versions import list_datasets

        self.reply({"name": name, "versions": await self.call(list_datasets, name)})


class DatasetVersionHandler(MLOpsHandler):
    DOC = {"get": "One version (a number, latest or sha:PREFIX): schema, profile, summary table"}

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_version, name, version))


class DatasetDiffHandler(MLOpsHandler):
    DOC = {"get": "What changed between two versions (a=NAME@V, b=NAME@V, key=COL,COL)"}

    @reads
    async def get(self) -> None:
        a, b = self.arg("a"), self.arg("b")
        if not a or not b:
            raise MLOpsUsageError("give both versions: a=NAME@V&b=NAME@V")
        key = [k.strip() for k in (self.arg("key") or "").split(",") if k.strip()] or None
        self.reply(await self.call(_diff, a, b, key))


ROUTES = [
    ("/datasets", DatasetsHandler),
    ("/datasets/{name}", DatasetHandler),
    ("/datasets/{name}/versions/{version}", DatasetVersionHandler),
    ("/dataset-diff", DatasetDiffHandler),
]
