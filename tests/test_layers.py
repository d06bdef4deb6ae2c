"""Which package may import which, read from the source (imports under `if TYPE_CHECKING:`
are for annotations only and do not count): charts draw what they are given and import no
capability logic; `data` never imports `features`."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_mlops"


def imported(path: Path, source: str | None = None) -> set[str]:
    """The jupyter_mlops modules the module at `path` (or `source` as if it were there)
    imports at run time, as dotted names."""
    package = path.relative_to(PACKAGE.parent).parts[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("jupyter_mlops"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    name = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    name = child.module or ""
                if name.startswith("jupyter_mlops"):
                    found.add(name)
                    if child.module is None:  # from . import x: x is a module of the package
                        found.update(f"{name}.{a.name}" for a in child.names)
            visit(child)

    visit(ast.parse(path.read_text() if source is None else source))
    return found


def test_the_import_reader_sees_relative_lazy_and_type_only_imports():
    source = ("from typing import TYPE_CHECKING\nfrom ..pipelines.spec import order\n"
              "from . import pipelines\nif TYPE_CHECKING:\n    from ..drift.report import X\n"
              "def f():\n    from ..errors import E\n    import jupyter_mlops.refs\n")
    assert imported(PACKAGE / "charts" / "probe.py", source) == {
        "jupyter_mlops.pipelines.spec", "jupyter_mlops.charts", "jupyter_mlops.charts.pipelines",
        "jupyter_mlops.errors", "jupyter_mlops.refs"}


def test_charts_import_no_capability_logic():
    leaks = {}
    for path in sorted((PACKAGE / "charts").glob("*.py")):
        outside = {m for m in imported(path) if not m.startswith("jupyter_mlops.charts")}
        if outside:
            leaks[path.name] = sorted(outside)
    assert leaks == {}


def test_data_never_imports_features():
    leaks = {path.name: sorted(m for m in imported(path)
                               if m.startswith("jupyter_mlops.features"))
             for path in sorted((PACKAGE / "data").glob("*.py"))}
    assert {k: v for k, v in leaks.items() if v} == {}
