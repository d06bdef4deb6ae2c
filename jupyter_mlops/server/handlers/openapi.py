"""`mlops/api/openapi.json`: the OpenAPI document (built by server/openapi.py from the route
table and each handler's `Operation`s)."""

from __future__ import annotations

import functools
from typing import Any

from ..operations import Operation
from .base import MLOpsHandler, reads


@functools.cache
def _document() -> dict[str, Any]:
    from ..openapi import document

    return document()


class OpenAPIHandler(MLOpsHandler):
    GET = Operation("This document", "OpenAPIDocument")

    @reads
    async def get(self) -> None:
        self.reply(await self.call(_document))


ROUTES = [("/openapi.json", OpenAPIHandler)]
