"""Models: versions, aliases and their audit history, alias moves and gated promotions
(recorded under the Jupyter identity), and comparisons."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, Param, path
from .base import MLOpsHandler, reads, writes

MODEL = path("name", "the model's name")


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


class ModelsHandler(MLOpsHandler):
    GET = Operation("Models with their number of versions, latest version and aliases",
                    "Models")

    @reads
    async def get(self) -> None:
        from ...registry.versions import list_models

        self.reply({"models": await self.call(list_models)})


class ModelHandler(MLOpsHandler):
    GET = Operation("One model: its versions, where each alias points, every alias move",
                    "Model", params=(MODEL,), errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_model, name))


class ModelVersionHandler(MLOpsHandler):
    GET = Operation("One version: signature, run, training data, aliases", "ModelVersion",
                    params=(MODEL, path("version", "a version number, an alias, latest or "
                                                  "sha:PREFIX")),
                    errors=(400, 404))

    @reads
    async def get(self, name: str, version: str) -> None:
        self.reply(await self.call(_version, name, version))


class AliasHandler(MLOpsHandler):
    POST = Operation("Move an alias to a version, recorded under the Jupyter user",
                     "ModelVersion", params=(MODEL,), body="AliasMove", errors=(400, 404, 409))
    DELETE = Operation("Remove an alias, recorded under the Jupyter user", "AliasRemoved",
                       params=(MODEL,
                               Param("alias", "the alias to remove", required=True,
                                     missing="give alias=NAME"),
                               Param("comment", "why, kept in the alias history")),
                       errors=(400, 404, 409))

    @writes
    async def post(self, name: str) -> None:
        from ...registry.aliases import set_alias

        move = self.body()
        version = await self.call(set_alias, name, move.alias, move.version,
                                  comment=move.comment, actor=self.actor)
        self.reply(version.to_dict())

    @writes
    async def delete(self, name: str) -> None:
        from ...registry.aliases import delete_alias

        q = self.query()
        await self.call(delete_alias, name, q["alias"], comment=q["comment"], actor=self.actor)
        self.reply({"name": name, "alias": q["alias"], "removed": True})


class PromoteHandler(MLOpsHandler):
    POST = Operation("Promote a version behind a gate; 409 with the gate's answer when it "
                     "does not hold", "ModelVersion", params=(MODEL,), body="Promotion",
                     errors=(400, 404, 409))

    @writes
    async def post(self, name: str) -> None:
        from ...registry.aliases import promote

        asked = self.body()
        version = await self.call(promote, name, asked.version, asked.alias,
                                  require=asked.require or None, comment=asked.comment,
                                  actor=self.actor)
        self.reply(version.to_dict())


class ModelCompareHandler(MLOpsHandler):
    GET = Operation("Versions side by side: params, metrics, their figure", "ModelComparison",
                    params=(MODEL, Param("versions", "two or more versions: numbers, aliases "
                                                     "or latest", many="csv", required=True,
                                         min_items=2,
                                         missing="give at least two versions: versions=1,2")),
                    errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        self.reply(await self.call(_compare, name, self.query()["versions"]))


ROUTES = [
    ("/models", ModelsHandler),
    ("/models/{name}", ModelHandler),
    ("/models/{name}/versions/{version}", ModelVersionHandler),
    ("/models/{name}/aliases", AliasHandler),
    ("/models/{name}/promote", PromoteHandler),
    ("/models/{name}/compare", ModelCompareHandler),
]
