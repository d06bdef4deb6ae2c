"""`mlops/api/openapi.json`: the OpenAPI document, built from the route table itself, so every
endpoint is described and none is described that does not exist."""

from __future__ import annotations

import re
from typing import Any

from .base import MLOpsHandler, reads

PARAMS = re.compile(r"\{(\w+)(?::path)?\}")


def document(routes: list[tuple[str, type]]) -> dict[str, Any]:
    from ... import __version__

    paths: dict[str, Any] = {}
    for template, handler in routes:
        path = PARAMS.sub(r"{\1}", template)
        operations = {}
        for method, summary in handler.DOC.items():
            operations[method] = {
                "summary": summary,
                "operationId": f"{handler.__name__}_{method}",
                "parameters": [{"name": p, "in": "path", "required": True,
                                "schema": {"type": "string"}} for p in PARAMS.findall(template)],
                "responses": {"200": {"description": "JSON"},
                              "4XX": {"description": '{"error": "...", "detail": ...}'}},
                "security": [{"jupyter": []}],
            }
        paths[path] = {**paths.get(path, {}), **operations}
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter-mlops", "version": __version__,
                 "description": "The REST API of the JupyterLab sidebar, served by the "
                                "Jupyter server behind its own authentication."},
        "servers": [{"url": "/mlops/api"}],
        "components": {"securitySchemes": {"jupyter": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "token TOKEN, or the Jupyter session cookie with _xsrf"}}},
        "paths": paths,
    }


class OpenAPIHandler(MLOpsHandler):
    DOC = {"get": "This document"}

    @reads
    async def get(self) -> None:
        from ..routes import ROUTES

        self.reply(document(ROUTES))


ROUTES = [("/openapi.json", OpenAPIHandler)]
