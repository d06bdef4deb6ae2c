"""What every magic shares: argparse that raises instead of exiting, and the error policy.

User mistakes become IPython UsageErrors (one line and the usage, no traceback); failures of
the store or of jupyter-mlops itself are reported once on stderr and never break the kernel."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
from collections.abc import Callable
from typing import Any

from ..errors import MLOpsError, MLOpsUsageError


class HelpShown(Exception):
    """--help was asked for and printed."""


class MagicParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("add_help", True)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise MLOpsUsageError(message)

    def exit(self, status: int = 0, message: str | None = None):
        raise HelpShown()

    def print_help(self, file=None) -> None:
        print(self.format_help())


def subcommand_parser(magic: str, usage: dict[str, str], sub: str) -> MagicParser:
    """A parser for `%magic sub`, its usage line taken from the magic's table."""
    # argparse %-formats the usage text: the magic's own % signs must be escaped
    text = usage.get(sub, usage[""]).removeprefix("usage: ").replace("%", "%%")
    return MagicParser(prog=f"%{magic} {sub}".strip(), usage=text)


def split(line: str) -> list[str]:
    """The words of a magic's line as a shell splits them: quotes group, and a word that
    starts with an unquoted `#` begins a comment to the end of the line (`# note` is dropped,
    `color=#ff0000` and `'#1'` are kept)."""
    try:
        return shlex.split(_without_comment(line))
    except ValueError as exc:
        raise MLOpsUsageError(f"cannot split the line: {exc}") from None


def _without_comment(line: str) -> str:
    quote, escaped, word_start = "", False, True
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and word_start:
            return line[:i]
        word_start = not quote and char.isspace()
    return line


def guarded(usage: Callable[[str], str]):
    """Wrap a magic so bad input raises a UsageError with `usage(subcommand)` and nothing else
    escapes as a traceback from jupyter-mlops itself."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(self, line: str = "", cell: str | None = None):
            from IPython.core.error import UsageError

            __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
            try:
                return fn(self, line, cell)
            except HelpShown:
                return None
            except MLOpsUsageError as exc:
                words = line.split()
                raise UsageError(f"{exc}\n{usage(words[0] if words else '')}") from None
            except MLOpsError as exc:
                print(f"jupyter-mlops: {exc}", file=sys.stderr)
                return None
            except UserCodeError as exc:
                raise exc.original.with_traceback(exc.original.__traceback__) from None
            except Exception as exc:  # a bug of ours: say so, keep the kernel healthy
                print(f"jupyter-mlops internal error ({type(exc).__name__}): {exc}",
                      file=sys.stderr)
                return None

        return wrapper

    return decorate


class UserCodeError(Exception):
    """An exception raised by the user's own cell code: it reaches the user unchanged."""

    def __init__(self, original: BaseException):
        super().__init__(str(original))
        self.original = original
