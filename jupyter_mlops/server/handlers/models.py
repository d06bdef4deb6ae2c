"""Models: versions, aliases and their audit history, alias moves and gated promotions
(recorded under the Jupyter identity), comparisons; on a team store, alias policies and
promotion requests (the server connects with its user's own database role, so the database
decides what that user may do)."""

from __future__ import annotations

from typing import Any

from ..operations import Operation, Param, path
from .base import MLOpsHandler, reads, writes

MODEL = path("name", "the model's name")


def _model(name: str) -> dict[str, Any]:
    from ...registry.aliases import alias_history
    from ...registry.versions import list_models

    versions = list_models(name, details=True)
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


STATE = Param("state", "open, approved, rejected, or all", default="open",
              choices=("open", "approved", "rejected", "all"))
REQUEST = path("request_id", "a promotion request's id", kind=int, low=1)


class PoliciesHandler(MLOpsHandler):
    GET = Operation("The policies of a model's aliases (empty on a store that is not a team "
                    "store)", "AliasPolicies", params=(MODEL,), errors=(400, 404))

    @reads
    async def get(self, name: str) -> None:
        from ...team.promotions import alias_policies

        self.reply({"policies": await self.call(alias_policies, name)})


class PolicyHandler(MLOpsHandler):
    PUT = Operation("Set how an alias moves (maintainers of a team store): protected or not, "
                    "its gate, the two-person rule", "AliasPolicy",
                    params=(MODEL, path("alias", "the alias the policy is for")),
                    body="AliasPolicySet", errors=(400, 404))

    @writes
    async def put(self, name: str, alias: str) -> None:
        from ...team.promotions import set_alias_policy

        asked = self.body()
        policy = await self.call(set_alias_policy, name, alias, protected=asked.protected,
                                 gate=asked.gate, two_person=asked.two_person)
        self.reply(policy.to_dict())


class ModelRequestsHandler(MLOpsHandler):
    GET = Operation("A model's promotion requests (empty on a store that is not a team store)",
                    "PromotionRequests", params=(MODEL, STATE), errors=(400, 404))
    POST = Operation("Ask for a version to become a protected alias (team stores); 409 with "
                     "the gate's answer when it does not hold", "PromotionRequest",
                     params=(MODEL,), body="PromotionRequestNew", errors=(400, 404, 409))

    @reads
    async def get(self, name: str) -> None:
        from ...team.promotions import promotion_requests

        requests = await self.call(promotion_requests, name, state=self.query()["state"])
        self.reply({"requests": requests})

    @writes
    async def post(self, name: str) -> None:
        from ...team.promotions import request_promotion

        asked = self.body()
        request = await self.call(request_promotion, f"{name}@{asked.version}", asked.alias,
                                  comment=asked.comment)
        self.reply(request.to_dict())


class RequestsHandler(MLOpsHandler):
    GET = Operation("Every model's promotion requests (empty on a store that is not a team "
                    "store)", "PromotionRequests", params=(STATE,), errors=(400,))

    @reads
    async def get(self) -> None:
        from ...team.promotions import promotion_requests

        self.reply({"requests": await self.call(promotion_requests,
                                                state=self.query()["state"])})


class ApproveHandler(MLOpsHandler):
    POST = Operation("Approve a promotion request (maintainers; another person than the "
                     "requester under the two-person rule): its gate is checked again (409 when "
                     "it no longer holds) and the alias moves", "PromotionRequest",
                     params=(REQUEST,), body="Approval", errors=(400, 404, 409))

    @writes
    async def post(self, request_id: str) -> None:
        from ...team.promotions import approve

        done = await self.call(approve, self.path_value("request_id", request_id),
                               comment=self.body().comment)
        self.reply(done.to_dict())


class RejectHandler(MLOpsHandler):
    POST = Operation("Reject a promotion request, saying why (maintainers)", "PromotionRequest",
                     params=(REQUEST,), body="Rejection", errors=(400, 404))

    @writes
    async def post(self, request_id: str) -> None:
        from ...team.promotions import reject

        done = await self.call(reject, self.path_value("request_id", request_id),
                               self.body().comment)
        self.reply(done.to_dict())


ROUTES = [
    ("/models", ModelsHandler),
    ("/models/{name}", ModelHandler),
    ("/models/{name}/versions/{version}", ModelVersionHandler),
    ("/models/{name}/aliases", AliasHandler),
    ("/models/{name}/promote", PromoteHandler),
    ("/models/{name}/compare", ModelCompareHandler),
    ("/models/{name}/policies", PoliciesHandler),
    ("/models/{name}/policies/{alias}", PolicyHandler),
    ("/models/{name}/requests", ModelRequestsHandler),
    ("/requests", RequestsHandler),
    ("/requests/{request_id}/approve", ApproveHandler),
    ("/requests/{request_id}/reject", RejectHandler),
]
