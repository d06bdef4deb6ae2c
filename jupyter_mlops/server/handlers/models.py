"""Models: versions, aliases and their audit history, alias moves and gated promotions
(recorded under the Jupyter identity), and comparisons."""

from __future__ import annotations

from typing import Any

from ...errors import MLOpsUsageError
from .base import MLOpsHandler, reads, writes


def _model(name: str) -> dict[str, Any]:
    from ...registry.aliases import alias_history
    from ...registry.versions import list_models

    versions = list_models(name)
    aliases = {a: int(v) for v, held in zip(versions["version"], versions["aliases"], strict=True)
               for a in held.split(", ") if a}
    return {"name": name, "versions": versions, "aliases": aliases,
            "history": alias_history(name)}


def _version(name: str, version: str) -> dict[str, Any]:
    from ...registry.versions import get_model_version

    return get_model_version(f"{name}@{version}").to_dict()


def _compare(name: str, versions: list[str]) -> dict[str, Any]:
    from ...registry.compare import compare_models

    comparison = compare_models(name, versions)
    return {**comparison.to_dict(), "table": comparison.to_frame().reset_index(names="key"),
            "figure": comparison.figure()}


def _version_number(data: dict[str, Any]) -> int:
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise MLOpsUsageError(f"version must be a number, got {version!r}")
    return version


class ModelsHandler(MLOpsHandler):
    DOC = {"get": "Models with their versions, latest version and aliases"}

    @reads
    async def get(self) -> None:
        from ...registry.versions import list_models

        self.reply({"models": await self.call(list_models)})


class ModelHandler(MLOpsHandler):
    DOC = {"get": "One model: its versions, where each alias points, every alias move"}

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_model, name))


class ModelVersionHandler(MLOpsHandler):
    DOC = {"get": "One version (a number, an alias, latest): signature, run, training data"}

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_version, name, version))


class AliasHandler(MLOpsHandler):
    DOC = {"post": 'Move an alias: {"alias": "production", "version": 3, "comment": "..."}; '
                   "recorded under the Jupyter user",
           "delete": "Remove an alias (recorded)"}

    @writes
    async def post(self, name: str) -> None:
        from ...registry.aliases import set_alias

        data = self.body()
        version = await self.call(set_alias, name, str(data.get("alias", "")),
                                  _version_number(data), comment=data.get("comment"),
                                  actor=self.actor)
        self.reply(version.to_dict())

    @writes
    async def delete(self, name: str) -> None:
        from ...registry.aliases import delete_alias

        alias = self.arg("alias")
        if not alias:
            raise MLOpsUsageError("give alias=NAME")
        await self.call(delete_alias, name, alias, comment=self.arg("comment"), actor=self.actor)
        self.reply({"name": name, "alias": alias, "removed": True})


class PromoteHandler(MLOpsHandler):
    DOC = {"post": 'Promote behind a gate: {"version": 3, "alias": "production", "require": '
                   '"metrics.f1 >= production.metrics.f1", "comment": "..."}; 409 with the '
                   "gate's answer when it does not hold"}

    @writes
    async def post(self, name: str) -> None:
        from ...registry.aliases import promote

        data = self.body()
        version = await self.call(promote, name, _version_number(data),
                                  str(data.get("alias", "")), require=data.get("require") or None,
                                  comment=data.get("comment"), actor=self.actor)
        self.reply(version.to_dict())


class ModelCompareHandler(MLOpsHandler):
    DOC = {"get": "Versions side by side (versions=1,2,production): params, metrics, figure"}

    @reads
    async def get(self, name: str) -> None:
        versions = [v.strip() for v in (self.arg("versions") or "").split(",") if v.strip()]
        if len(versions) < 2:
            raise MLOpsUsageError("give at least two versions: versions=1,2")
        self.reply(await self.call(_compare, name, versions))


ROUTES = [
    ("/models", ModelsHandler),
    ("/models/{name}", ModelHandler),
    ("/models/{name}/versions/{version}", ModelVersionHandler),
    ("/models/{name}/aliases", AliasHandler),
    ("/models/{name}/promote", PromoteHandler),
    ("/models/{name}/compare", ModelCompareHandler),
]
