"""The OpenAPI document describes every route of the table completely (parameters, bodies,
responses, no schema that says nothing), and the committed document and the TypeScript types
generated from it are what the code says today (`jlpm openapi` regenerates both)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jupyter_mlops.server.handlers.base import METHODS, MLOpsHandler
from jupyter_mlops.server.openapi import DOCUMENT, TYPES, document, dumps
from jupyter_mlops.server.routes import ROUTES

ROOT = Path(__file__).parents[1]
REGENERATE = "regenerate them with `jlpm openapi` (in the project's environment) and commit both"


@pytest.fixture(scope="module")
def doc():
    return document()


def empty_schemas(node, where="#"):
    """Every place of the document holding an empty object (`{}`: a schema that says
    nothing) or `true` where a schema goes."""
    if isinstance(node, dict):
        if not node:
            yield where
        for key, value in node.items():
            if key in ("items", "additionalProperties", "schema") and value is True:
                yield f"{where}/{key}"
            yield from empty_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from empty_schemas(value, f"{where}/{i}")


def test_no_schema_is_empty(doc):
    assert list(empty_schemas(doc)) == []
    assert list(empty_schemas({"a": [{"b": {}}], "items": True})) == ["#/a/0/b", "#/items"]


def test_every_route_is_described_completely(doc):
    schemas = doc["components"]["schemas"]
    seen = 0
    for template, handler in ROUTES:
        path = re.sub(r"\{(\w+)(?::path)?\}", r"{\1}", template)
        answered = {m for m in METHODS if getattr(handler, m) is not getattr(MLOpsHandler, m)}
        assert set(handler.operations()) == answered, (template, answered)
        for method in answered:
            op = doc["paths"][path][method]
            seen += 1
            assert op["summary"] and op["operationId"]
            names = re.findall(r"\{(\w+)\}", path)
            assert [p["name"] for p in op["parameters"] if p["in"] == "path"] == names
            for param in op["parameters"]:
                assert param["description"] and param["schema"].get("type"), (path, param)
            success = [s for s in op["responses"] if s.startswith("2")]
            assert len(success) == 1, (path, method)
            for status, response in op["responses"].items():
                (content,) = response["content"].values()
                ref = content["schema"].get("$ref")
                assert ref is None or ref.rsplit("/", 1)[1] in schemas
                if not status.startswith("2"):
                    assert ref == "#/components/schemas/Error"
            assert "403" in op["responses"]  # every route is behind Jupyter's auth
            if method in ("post", "put", "patch") and handler.operations()[method].body:
                assert op["requestBody"]["required"]
    assert seen == sum(len(h.operations()) for _, h in ROUTES) >= len(ROUTES)
    assert doc["security"] == [{"jupyter": []}]


def test_integer_parameters_are_parsed_as_documented(doc):
    """The handlers parse their query through the declarations the document is built from:
    the bounds a client reads are the ones the server enforces."""
    from jupyter_mlops.errors import MLOpsUsageError
    from jupyter_mlops.server.handlers.runs import RunsHandler

    limit = RunsHandler.GET.param("limit")
    documented = next(p for p in doc["paths"]["/runs"]["get"]["parameters"]
                      if p["name"] == "limit")["schema"]
    assert (documented["minimum"], documented["maximum"]) == (limit.low, limit.high)
    assert limit.read([str(limit.high)]) == limit.high
    for bad in (str(limit.high + 1), "-1", "1e3", " 5x", "٣", "1_0"):
        with pytest.raises(MLOpsUsageError, match="limit must be"):
            limit.read([bad])
    assert limit.read([]) == documented["default"] == 100


def test_the_committed_document_is_current(doc):
    committed = (ROOT / DOCUMENT).read_text(encoding="utf-8")
    assert committed == dumps(doc), f"{DOCUMENT} is out of date: {REGENERATE}"


def test_the_committed_types_are_current(doc, tmp_path):
    """openapi-typescript (the committed devDependency, offline from node_modules) turns
    the document the code builds into labextension/src/openapi.ts exactly."""
    node = shutil.which("node")
    generator = ROOT / "node_modules" / "openapi-typescript"
    if node is None or not generator.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("node and node_modules/openapi-typescript are needed (jlpm install)")
        pytest.skip("no node or node_modules/openapi-typescript: jlpm install")
    source = tmp_path / "openapi.json"
    source.write_text(dumps(doc), encoding="utf-8")
    subprocess.run([node, "labextension/openapi-types.mjs", str(source), str(tmp_path / "out.ts")],
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    expected = (tmp_path / "out.ts").read_text(encoding="utf-8")
    assert (ROOT / TYPES).read_text(encoding="utf-8") == expected, \
        f"{TYPES} is out of date: {REGENERATE}"


def test_loading_the_handlers_imports_no_pydantic():
    """pydantic (and the schemas) load when the document is built or a body is checked, not
    with the server extension's handlers."""
    import sys

    code = ("import sys, jupyter_mlops.server.routes; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic' "
            "or m.startswith('jupyter_mlops.server.schemas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, timeout=120).stdout
    assert out.strip() == "[]"
