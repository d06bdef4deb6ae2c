"""Who is asking and what they may do."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Strict

__all__ = ["Me"]


class Permissions(Strict):
    run: bool = Field(description="start runs")
    promote: bool = Field(description="move an alias that is not protected")
    request: bool = Field(description="request a promotion (team stores)")
    approve: bool = Field(description="approve or reject a promotion request (team stores)")
    policy: bool = Field(description="set alias policies")


class Me(Strict):
    user: str = Field(description="the Jupyter user (a team store: its database user)")
    team: bool = Field(description="a team store")
    role: Literal["viewer", "contributor", "maintainer"] | None = Field(
        description="the team role (null on a store that is not a team store)")
    may: Permissions
