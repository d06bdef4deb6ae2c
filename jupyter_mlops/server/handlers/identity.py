"""Who is asking and what they may do: the UI shows only the actions that will work (the
store, or on a team store its database, decides in the end)."""

from __future__ import annotations

from ..operations import Operation
from .base import MLOpsHandler, reads


def _whoami(user: str | None) -> dict:
    from ...team.identity import whoami

    return whoami(user)


class MeHandler(MLOpsHandler):
    GET = Operation("The user asking, its team role (on a team store) and what it may do: "
                    "start runs, move aliases that are not protected, request promotions, "
                    "approve or reject them, set alias policies", "Me")

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_whoami, self.actor))


ROUTES = [("/me", MeHandler)]
