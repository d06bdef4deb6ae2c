"""The OpenAPI document of the REST API, built from the route table and the `Operation` each
handler declares (parameters, body, responses; schemas from server/schemas), so every endpoint
is described completely and none is described that does not exist.

The document and the TypeScript types generated from it (openapi-typescript) are committed
(labextension/openapi.json, labextension/src/openapi.ts): the wheel's labextension build runs
without this package's dependencies. Regenerate both after changing a route or a schema with

    jlpm openapi        (python -m jupyter_mlops.server.openapi, then openapi-typescript)

tests/test_openapi.py fails while they differ from what the code says."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .operations import Operation

PARAMS = re.compile(r"\{(\w+)(?::path)?\}")
REF = "#/components/schemas/{}"
ERRORS = {
    400: "Bad input: the message names what is wrong and what is expected",
    403: "Not authenticated, not authorized (read for GET, write for changes), a change "
         "authenticated by cookie without its XSRF token, or (team stores) refused to the "
         "user's database role: the message names the role it has and the one it needs",
    404: "Nothing of that name or id",
    409: "The gate did not hold (detail: its comparisons), or the store's schema does not "
         "match this version",
    422: "The data does not match the model's signature",
    503: "The store could not answer (unreachable, locked, or newer than this version)",
}
ALWAYS = (403, 503)  # every route is authorized and reads the store
SECURITY = {
    "jupyter": {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`token TOKEN` (the Jupyter server's token; `?token=TOKEN` works "
                               "too), or JupyterLab's login cookie, with which requests that "
                               "change anything also send the `_xsrf` cookie's value in the "
                               "X-XSRFToken header"},
}
DOCUMENT = Path("labextension") / "openapi.json"
TYPES = Path("labextension") / "src" / "openapi.ts"


def _schema(name: str) -> dict[str, str]:
    return {"$ref": REF.format(name)}


def _responses(op: Operation) -> dict[str, Any]:
    if op.response is None:  # bytes of any media type: any JSON value when they are JSON
        success = {"schema": {**_schema("JsonValue"),
                              "description": "the bytes, in the media type recorded with them"}}
    else:
        success = {"schema": _schema(op.response)}
    out: dict[str, Any] = {str(op.status): {"description": op.summary,
                                            "content": {op.media_type: success}}}
    for status in sorted({*op.errors, *ALWAYS}):
        out[str(status)] = {"description": ERRORS[status],
                            "content": {"application/json": {"schema": _schema("Error")}}}
    return out


def _operation(template: str, handler: type, method: str, op: Operation) -> dict[str, Any]:
    declared = [p.name for p in op.params if p.where == "path"]
    if declared != PARAMS.findall(template):
        raise ValueError(f"{handler.__name__}.{method.upper()} declares the path parameters "
                         f"{declared}, the route {template} has {PARAMS.findall(template)}")
    name = handler.__name__.removesuffix("Handler")
    out: dict[str, Any] = {"operationId": f"{method}{name}", "summary": op.summary}
    if op.description:
        out["description"] = op.description
    out["parameters"] = [p.describe() for p in op.params]
    if op.body is not None:
        out["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": _schema(op.body)}}}
    out["responses"] = _responses(op)
    return out


def document(routes: list[tuple[str, type]] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes` (the route table by default)."""
    from .. import __version__
    from .schemas import components

    if routes is None:
        from .routes import ROUTES as routes
    paths: dict[str, Any] = {}
    for template, handler in routes:
        path = PARAMS.sub(r"{\1}", template)
        operations = {method: _operation(template, handler, method, op)
                      for method, op in handler.operations().items()}
        if not operations:
            raise ValueError(f"{handler.__name__} describes no operation")
        paths[path] = {**paths.get(path, {}), **operations}
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter-mlops", "version": __version__,
                 "description": "The REST API of the JupyterLab sidebar, served by the Jupyter "
                                "server under {base_url}mlops/api behind its own "
                                "authentication and authorization (resource `mlops`)."},
        "servers": [{"url": "/mlops/api"}],
        "security": [{"jupyter": []}],
        "components": {"securitySchemes": SECURITY, "schemas": components()},
        "paths": paths,
    }


def dumps(doc: dict[str, Any]) -> str:
    """The document as committed: indented, keys in the order built, a final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the document (to the path given, else labextension/openapi.json)."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DOCUMENT
    target.write_text(dumps(document()), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
