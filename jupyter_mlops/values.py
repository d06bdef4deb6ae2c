"""The one `k=v` parser: `%track param`, `-p` options, CLI arguments all read values here.

A value is a Python literal when it parses as one (`1`, `0.5`, `True`, `'x'`, `[1, 2]`),
otherwise the text itself. Params keep this type in the store (as JSON).
"""

from __future__ import annotations

import ast
import json
import math
import numbers
from collections.abc import Iterable
from typing import Any

from .errors import MLOpsUsageError


def parse_value(text: str) -> Any:
    """Return the Python literal `text` spells, or `text` itself when it is not one."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def parse_assignments(items: Iterable[str], what: str = "value") -> dict[str, Any]:
    """Parse `["k=v", ...]` into a dict; a token without `=` or with an empty key is an error."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MLOpsUsageError(f"expected KEY=VALUE for a {what}, got {item!r}")
        out[key] = parse_value(raw)
    return out


def parse_number(key: str, value: Any) -> float:
    """A metric value as float; anything that is not a real number (bools included) is refused."""
    if type(value) is float:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MLOpsUsageError(f"metric {key!r} must be a number, got {value!r}")
    return float(value)


def to_json(value: Any) -> str:
    """Serialize a param value as JSON; numpy scalars become Python numbers, other objects text."""
    try:
        return json.dumps(value, allow_nan=True, default=_jsonable)
    except (TypeError, ValueError):
        return json.dumps(str(value))


def _jsonable(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def as_text(value: Any) -> str:
    """The text form used for string comparisons: strings as they are, others as JSON."""
    return value if isinstance(value, str) else to_json(value)


def as_number(value: Any) -> float | None:
    """The numeric form used for numeric comparisons, or None when the value is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return None if math.isnan(f) else f
