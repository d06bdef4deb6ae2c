"""Datasets: names, versions, one version's schema and profile, and diffs."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, Param, path
from .base import MLOpsHandler, reads

NAME = path("name", "the dataset's name")


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
    GET = Operation("Datasets with their number of versions and latest version", "Datasets")

    @reads
    async def get(self) -> None:
        from ...data.versions import list_datasets

        self.reply({"datasets": await self.call(list_datasets)})


class DatasetHandler(MLOpsHandler):
    GET = Operation("The versions of one dataset", "DatasetVersions", params=(NAME,),
                    errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        from ...data.versions import list_datasets

        self.reply({"name": name, "versions": await self.call(list_datasets, name)})


class DatasetVersionHandler(MLOpsHandler):
    GET = Operation("One version: schema, profile, summary table", "DatasetVersion",
                    params=(NAME, path("version", "a version number, latest, or sha:PREFIX "
                                                  "(8+ hex characters of its digest)")),
                    errors=(400, 404))

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_version, name, version))


class DatasetDiffHandler(MLOpsHandler):
    _BOTH = "give both versions: a=NAME@V&b=NAME@V"
    GET = Operation(
        "What changed between two versions: columns, rows, statistics (and, given key "
        "columns, rows added, removed and changed)", "DatasetDiff",
        params=(Param("a", "the version before: NAME@VERSION", required=True, missing=_BOTH),
                Param("b", "the version after: NAME@VERSION", required=True, missing=_BOTH),
                Param("key", "columns identifying a row, to count rows added, removed and "
                             "changed", many="csv")),
        errors=(400, 404))

    @reads
    async def get(self) -> None:
        q = self.query()
        self.reply(await self.call(_diff, q["a"], q["b"], q["key"]))


ROUTES = [
    ("/datasets", DatasetsHandler),
    ("/datasets/{name}", DatasetHandler),
    ("/datasets/{name}/versions/{version}", DatasetVersionHandler),
    ("/dataset-diff", DatasetDiffHandler),
]
