"""`%feature` / `%%feature`: define feature views from cells, materialize them, build
training sets and read online features."""

from __future__ import annotations

import ast
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %%feature NAME --entities COL[,COL] --timestamp COL [--ttl 30d] [--sql] "
        "[--description TEXT]\n"
        "       %feature list|show|materialize|get|online ... (%feature SUBCOMMAND --help)",
    "list": "usage: %feature list",
    "show": "usage: %feature show NAME[@VERSION]",
    "materialize": "usage: %feature materialize NAME [--online] [--start TIME] [--end TIME]",
    "get": "usage: %feature get ENTITY_VAR --features VIEW:F1,VIEW:F2 [--timestamp COL] "
           "[--into VAR] [--full-names]",
    "online": "usage: %feature online VIEW:F1[,VIEW:F2] --entity KEY=VALUE [--entity ...]",
}

DOC = """Define feature views from cells, build point-in-time training sets, read online features.

%%feature NAME --entities customer_id --timestamp event_time [--ttl 30d] [--sql]
    the cell is Python whose last expression is the view's DataFrame, or with --sql a DuckDB
    query that may read dataset versions: SELECT ... FROM dataset('transactions@latest').
    A changed cell is a new version of the view; the same cell again changes nothing.
%feature list                                   views, newest version each
%feature show NAME[@VERSION]                    schema, versions, profile and distributions
%feature materialize NAME [--online] [--start TIME] [--end TIME]
%feature get ENTITY_VAR --features VIEW:F1,VIEW:F2 [--timestamp COL] [--into VAR]
    ENTITY_VAR with the features joined as of each row's time (never later), within ttl
%feature online VIEW:F1[,VIEW:F2] --entity customer_id=1 [--entity customer_id=2]
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("feature", USAGE, sub)


def cell_function(name: str, cell: str) -> tuple[str, str]:
    """(source of a function returning the cell's last expression, its name)."""
    try:
        tree = ast.parse(cell)
    except SyntaxError as exc:
        raise MLOpsUsageError(f"the cell is not Python: {exc}") from None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        raise MLOpsUsageError("the cell's last line must be the view's DataFrame (an expression)")
    tree.body[-1] = ast.Return(tree.body[-1].value)
    function = "view_" + "".join(c if c.isalnum() else "_" for c in name)
    fn = ast.FunctionDef(name=function, args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                           kw_defaults=[], defaults=[]),
                         body=tree.body, decorator_list=[], returns=None, type_params=[])
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[]))), function


@magics_class
class FeatureMagics(Magics):
    @line_cell_magic
    @guarded(_usage)
    def feature(self, line: str = "", cell: str | None = None) -> Any:
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        if cell is not None:
            return self._define(args, cell)
        if args[0] in USAGE and args[0]:
            return getattr(self, f"_{args[0]}")(args[1:])
        raise MLOpsUsageError(f"unknown subcommand {args[0]!r} (a definition is a %%feature cell)")

    feature.__doc__ = DOC

    def _define(self, args: list[str], cell: str) -> Any:
        from ..features.views import define_view

        p = _parser("")
        p.add_argument("name")
        p.add_argument("--entities", required=True)
        p.add_argument("--timestamp", required=True)
        p.add_argument("--ttl")
        p.add_argument("--sql", action="store_true")
        p.add_argument("--description")
        opts = p.parse_args(args)
        if opts.sql:
            return define_view(opts.name, opts.entities, opts.timestamp, cell, ttl=opts.ttl,
                               description=opts.description, sql=True)
        text, function = cell_function(opts.name, cell)
        scope: dict[str, Any] = {}
        exec(compile(text, f"<%%feature {opts.name}>", "exec"), self.shell.user_ns, scope)  # noqa: S102
        return define_view(opts.name, opts.entities, opts.timestamp, scope[function],
                           ttl=opts.ttl, description=opts.description, text=text)

    def _list(self, rest: list[str]) -> Any:
        from ..features.views import list_views

        _parser("list").parse_args(rest)
        return list_views()

    def _show(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..features.catalog import describe_view

        p = _parser("show")
        p.add_argument("ref")
        described = describe_view(p.parse_args(rest).ref)
        display(described)
        if described.latest is not None:
            display(described.figure())
        return None

    def _materialize(self, rest: list[str]) -> Any:
        from ..features.offline import materialize

        p = _parser("materialize")
        p.add_argument("name")
        p.add_argument("--online", action="store_true")
        p.add_argument("--start")
        p.add_argument("--end")
        opts = p.parse_args(rest)
        done = materialize(opts.name, start=opts.start, end=opts.end, online=opts.online)
        print(done)
        return None

    def _get(self, rest: list[str]) -> Any:
        from ..features.offline import get_historical_features

        p = _parser("get")
        p.add_argument("var")
        p.add_argument("--features", required=True)
        p.add_argument("--timestamp")
        p.add_argument("--into")
        p.add_argument("--full-names", action="store_true")
        opts = p.parse_args(rest)
        if not opts.var.isidentifier() or opts.var not in self.shell.user_ns:
            raise MLOpsUsageError(f"no variable named {opts.var!r} holds an entity DataFrame")
        if opts.into is not None and not opts.into.isidentifier():
            raise MLOpsUsageError(f"--into takes a variable name, got {opts.into!r}")
        result = get_historical_features(
            self.shell.user_ns[opts.var], [f.strip() for f in opts.features.split(",")],
            timestamp=opts.timestamp, full_feature_names=opts.full_names)
        if opts.into:
            self.shell.user_ns[opts.into] = result
            return None
        return result

    def _online(self, rest: list[str]) -> Any:
        from ..features.online import get_online_features

        p = _parser("online")
        p.add_argument("features")
        p.add_argument("--entity", action="append", required=True, metavar="KEY=VALUE")
        opts = p.parse_args(rest)
        rows = []
        for item in opts.entity:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise MLOpsUsageError(f"--entity takes KEY=VALUE, got {item!r}")
            try:
                parsed: Any = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                parsed = value
            rows.append({key: parsed})
        return get_online_features([f.strip() for f in opts.features.split(",")], rows)
