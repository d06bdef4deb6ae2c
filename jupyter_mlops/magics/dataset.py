"""`%dataset`: version, load, list, show, diff and validate datasets from cells."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %dataset save|load|list|show|diff|validate ... (%dataset SUBCOMMAND --help)",
    "save": "usage: %dataset save VAR|PATH --name NAME [--role ROLE] [--no-copy] "
            "[--executor ADDRESS]",
    "load": "usage: %dataset load NAME@VERSION [--into VAR]",
    "list": "usage: %dataset list [NAME]",
    "show": "usage: %dataset show NAME@VERSION",
    "diff": "usage: %dataset diff A B [--key COL[,COL...]]",
    "validate": "usage: %dataset validate VAR --against NAME@VERSION",
}

DOC = """Version data from cells.

%dataset save VAR|PATH --name NAME [--role ROLE] [--no-copy] [--executor ADDRESS]
    version a DataFrame variable, a file or a folder (the same content keeps its version;
    inside a run it becomes an input with ROLE: train, test, reference…); a folder of
    parquet files is profiled a partition at a time, here or on the Dask cluster ADDRESS
%dataset load NAME@VERSION [--into VAR]    a DataFrame (tabular) or a path; @latest works
%dataset list [NAME]                       datasets, or the versions of one
%dataset show NAME@VERSION                 schema and profile
%dataset diff A B [--key COL,...]          schema, rows and profile changes; changed rows by key
%dataset validate VAR --against NAME@VERSION   check a DataFrame against a version's schema
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("dataset", USAGE, sub)


@magics_class
class DatasetMagics(Magics):
    @line_magic
    @guarded(_usage)
    def dataset(self, line: str = "", cell: str | None = None) -> Any:
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        sub, rest = args[0], args[1:]
        if sub not in USAGE or not sub:
            raise MLOpsUsageError(f"unknown subcommand {sub!r}")
        return getattr(self, f"_{sub}")(rest)

    dataset.__doc__ = DOC

    def _save(self, rest: list[str]) -> Any:
        from ..data.versions import version_dataset

        p = _parser("save")
        p.add_argument("target")
        p.add_argument("--name", required=True)
        p.add_argument("--role")
        p.add_argument("--no-copy", action="store_true")
        p.add_argument("--executor")
        opts = p.parse_args(rest)
        ns = self.shell.user_ns
        data = ns[opts.target] if opts.target.isidentifier() and opts.target in ns else opts.target
        return version_dataset(data, opts.name, role=opts.role, copy=not opts.no_copy,
                               executor=opts.executor)

    def _load(self, rest: list[str]) -> Any:
        from ..data.versions import load_dataset

        p = _parser("load")
        p.add_argument("ref")
        p.add_argument("--into")
        opts = p.parse_args(rest)
        if opts.into is not None and not opts.into.isidentifier():
            raise MLOpsUsageError(f"--into takes a variable name, got {opts.into!r}")
        value = load_dataset(opts.ref)
        if opts.into:
            self.shell.user_ns[opts.into] = value
            print(f"{opts.ref} loaded into {opts.into}")
            return None
        return value

    def _list(self, rest: list[str]) -> Any:
        from ..data.versions import list_datasets

        p = _parser("list")
        p.add_argument("name", nargs="?")
        return list_datasets(p.parse_args(rest).name)

    def _show(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..data.versions import get_version

        p = _parser("show")
        p.add_argument("ref")
        version = get_version(p.parse_args(rest).ref)
        display(version)
        return version.to_frame()

    def _diff(self, rest: list[str]) -> Any:
        from ..data.diff import diff_datasets

        p = _parser("diff")
        p.add_argument("a")
        p.add_argument("b")
        p.add_argument("--key")
        opts = p.parse_args(rest)
        key = [k.strip() for k in opts.key.split(",") if k.strip()] if opts.key else None
        return diff_datasets(opts.a, opts.b, key=key)

    def _validate(self, rest: list[str]) -> Any:
        from ..data.validate import validate

        p = _parser("validate")
        p.add_argument("var")
        p.add_argument("--against", required=True)
        opts = p.parse_args(rest)
        if opts.var not in self.shell.user_ns:
            raise MLOpsUsageError(f"no variable named {opts.var!r}")
        return validate(self.shell.user_ns[opts.var], opts.against)

