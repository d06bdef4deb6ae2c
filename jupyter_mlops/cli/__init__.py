"""`jupyter mlops` (also `jupyter-mlops`): one module per command group, each parsing its
arguments, calling the Python API and printing. Exit codes: 0 done, 1 the work failed,
2 bad usage."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..config import redact
from ..errors import MLOpsError, MLOpsUsageError

GROUPS = ("runs", "experiments", "datasets", "models", "features", "drift", "pipeline", "serve",
          "monitor", "scheduler", "automl", "store", "team", "import", "config", "gc", "demo")


class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    def parse_known_args(self, args=None, namespace=None):
        """Also keep the usage of the innermost command parsed (`_usage`), which the errors
        the API finds in the arguments print, as argparse does for its own."""
        namespace, extras = super().parse_known_args(args, namespace)
        if not hasattr(namespace, "_usage"):  # subcommands finish first
            namespace._usage = self.format_usage()
        return namespace, extras


def build() -> Parser:
    from importlib import import_module

    parser = Parser(prog="jupyter mlops", description="The MLOps loop, from the command line.")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for name in GROUPS:
        import_module(f"{__name__}.{name}_cmd").add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MLOpsUsageError as exc:
        print(f"{args._usage}jupyter mlops: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except MLOpsError as exc:
        print(f"jupyter mlops: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def emit(frame, fmt: str) -> None:
    """Print a DataFrame as a table, JSON lines or CSV."""
    if fmt == "json":
        print(frame.to_json(orient="records", lines=True, date_format="iso"), end="")
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    elif frame.empty:
        print("(none)")
    else:
        import pandas as pd

        with pd.option_context("display.max_columns", 50, "display.width", 200,
                               "display.max_colwidth", 40):
            print(frame.to_string(index=False))


def add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")


def add_executor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", metavar="ADDRESS",
                        help="where the work runs: local, or a Dask scheduler (dask://host:8786)"
                             "; default: the executor setting (MLOPS_EXECUTOR)")
