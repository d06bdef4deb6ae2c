"""The one expression language: filters for `search_runs`, promotion gates, alert rules.

    metrics.acc > 0.9 and params.model = 'rf' and not (status = 'failed' or tags.x != 'y')
    name LIKE 'rf%'   metrics.`val/loss` < metrics.`train/loss`   tags.team IS NULL
    params.model IN ('rf', 'gbm')

Text is parsed once into a tree of the dataclasses below; callers name their fields (a
`FieldSpec`) and turn the tree into SQL (`tracking.search`) or evaluate it in Python
(`evaluate`). It is never pasted into SQL. Semantics shared by both: a comparison involving a
missing value is false (so is `!=`); `not` negates that; comparisons are numeric when both sides
are numbers, else textual; LIKE is case-sensitive (`%` any run, `_` one character), ILIKE not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import FilterSyntaxError

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE")


@dataclass(frozen=True)
class Field:
    """A dotted name such as ("metrics", "acc"); `position` points into the source text."""

    path: tuple[str, ...]
    position: int = 0

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Literal:
    value: Any  # str, int, float, bool or None


@dataclass(frozen=True)
class Compare:
    left: Field
    op: str  # one of COMPARISONS
    right: Field | Literal


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Compare | In | IsNull | And | Or | Not


@dataclass(frozen=True)
class FieldSpec:
    """Which fields a caller accepts: exact names (`status`) and prefixes taking one key
    (`metrics` accepts `metrics.acc`, `metrics.val.loss`, ``metrics.`a b` ``)."""

    names: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def resolve(self, field: Field, text: str) -> Field:
        """Normalise `field` to (prefix, key) or (name,); unknown fields are a syntax error."""
        path = field.path
        for prefix in sorted(self.prefixes, key=lambda p: -p.count(".")):
            parts = tuple(prefix.split("."))
            if path[: len(parts)] == parts and len(path) > len(parts):
                return Field((prefix, ".".join(path[len(parts):])), field.position)
        joined = ".".join(path).lower()
        if joined in self.names:
            return Field((joined,), field.position)
        expected = [*self.names, *(f"{p}.<key>" for p in self.prefixes)]
        raise FilterSyntaxError(
            f"unknown field {field.name!r}; expected one of {', '.join(expected)}",
            text,
            field.position,
        )


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.`]))
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<op><=|>=|!=|<>|==|=|<|>|\(|\)|,)
  | (?P<ident>(?:[A-Za-z_][\w-]*|`[^`]+`)(?:\.(?:[A-Za-z_0-9][\w-]*|`[^`]+`))*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "is", "null", "true", "false", "none"}


@dataclass
class _Tok:
    kind: str  # number, string, op, ident, kw, end
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            toks.append(_Tok("end", None, pos))
            return toks
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            ch = text[pos]
            hint = " (strings take single or double quotes)" if ch.isalpha() is False else ""
            raise FilterSyntaxError(f"unexpected character {ch!r}{hint}", text, pos)
        start = m.start(m.lastgroup)
        kind, raw = m.lastgroup, m.group(m.lastgroup)
        if kind == "number":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
        elif kind == "string":
            q = raw[0]
            body = raw[1:-1].replace(q + q, q)
            value = re.sub(r"\\(.)", r"\1", body)
        elif kind == "ident" and raw.lower() in _KEYWORDS:
            kind, value = "kw", raw.lower()
        elif kind == "ident":
            value = tuple(_segments(raw))
        else:
            value = {"<>": "!=", "==": "="}.get(raw, raw)
        toks.append(_Tok(kind, value, start))
        pos = m.end()


def _segments(raw: str) -> Iterable[str]:
    for seg in re.findall(r"`[^`]+`|[^.`]+", raw):
        yield seg[1:-1] if seg.startswith("`") else seg


class _Parser:
    def __init__(self, text: str, spec: FieldSpec | None):
        self.text = text
        self.spec = spec
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: _Tok | None = None):
        tok = tok or self.peek()
        raise FilterSyntaxError(message, self.text, tok.pos)

    def kw(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "kw" and tok.value == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Node:
        if self.peek().kind == "end":
            self.fail("empty expression")
        node = self.or_()
        if self.peek().kind != "end":
            self.fail(f"unexpected {self._show(self.peek())}; expected AND, OR or the end")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.kw("or"):
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.kw("and"):
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.kw("not"):
            return Not(self.not_())
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(":
            self.take()
            node = self.or_()
            close = self.take()
            if not (close.kind == "op" and close.value == ")"):
                self.fail("missing closing parenthesis", close)
            return node
        return self.comparison()

    def field(self) -> Field:
        tok = self.take()
        if tok.kind != "ident":
            self.fail(f"expected a field name, got {self._show(tok)}", tok)
        field = Field(tok.value, tok.pos)
        return self.spec.resolve(field, self.text) if self.spec else field

    def literal(self) -> Literal:
        tok = self.take()
        if tok.kind in ("number", "string"):
            return Literal(tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false", "null", "none"):
            return Literal({"true": True, "false": False}.get(tok.value))
        self.fail(f"expected a value (a number or a quoted string), got {self._show(tok)}", tok)

    def comparison(self) -> Node:
        left = self.field()
        tok = self.peek()
        if self.kw("is"):
            negated = self.kw("not")
            if not self.kw("null"):
                self.fail("expected NULL after IS")
            return IsNull(left, negated)
        negated = self.kw("not")
        if self.kw("in"):
            return In(left, self._list(), negated)
        if self.kw("like"):
            op = "LIKE"
        elif self.kw("ilike"):
            op = "ILIKE"
        elif negated:
            self.fail("expected LIKE, ILIKE or IN after NOT")
        elif tok.kind == "op" and tok.value in ("=", "!=", "<", "<=", ">", ">="):
            op = self.take().value
        else:
            self.fail(f"expected a comparison (=, !=, <, <=, >, >=, LIKE, IN, IS) after "
                      f"{left.name!r}, got {self._show(tok)}", tok)
        if negated:
            op = "NOT " + op
        nxt = self.peek()
        right = self.field() if nxt.kind == "ident" else self.literal()
        if op.endswith("LIKE") and not (isinstance(right, Literal) and isinstance(right.value, str)):
            self.fail(f"{op} needs a quoted pattern", nxt)
        return Compare(left, op, right)

    def _list(self) -> tuple[Literal, ...]:
        tok = self.take()
        if not (tok.kind == "op" and tok.value == "("):
            self.fail("expected ( after IN", tok)
        values = [self.literal()]
        while self.peek().kind == "op" and self.peek().value == ",":
            self.take()
            values.append(self.literal())
        tok = self.take()
        if not (tok.kind == "op" and tok.value == ")"):
            self.fail("expected , or ) in the IN list", tok)
        return tuple(values)

    @staticmethod
    def _show(tok: _Tok) -> str:
        if tok.kind == "end":
            return "the end of the expression"
        if tok.kind == "ident":
            return repr(".".join(tok.value))
        return repr(tok.value)


def parse(text: str, spec: FieldSpec | None = None) -> Node:
    """Parse `text` into a tree; with `spec`, unknown fields are errors naming the known ones."""
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter must be a string, got {type(text).__name__}")
    return _Parser(text, spec).parse()


def parse_field(text: str, spec: FieldSpec | None = None) -> Field:
    """Parse a lone field name (an `order_by` key, say)."""
    parser = _Parser(text, spec)
    field = parser.field()
    if parser.peek().kind != "end":
        parser.fail(f"unexpected {parser._show(parser.peek())} after the field name")
    return field


def like_to_regex(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """SQL LIKE as a regular expression (`%` any run, `_` one character)."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.S | (re.I if ignore_case else 0))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (
        isinstance(v, float) and math.isnan(v)
    )


def _as_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(v)
    return str(v)


def compare_values(a: Any, op: str, b: Any) -> bool:
    """One comparison under the language's rules (missing → false; numeric if both numbers)."""
    if a is None or b is None:
        return False
    if op.endswith("LIKE"):
        match = like_to_regex(str(b), "ILIKE" in op).match(_as_text(a)) is not None
        return not match if op.startswith("NOT") else match
    if _is_number(a) and _is_number(b):
        x, y = float(a), float(b)
    else:
        if (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
            return False
        x, y = _as_text(a), _as_text(b)
    return {
        "=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y,
    }[op]


def evaluate(node: Node, lookup: Callable[[Field], Any]) -> bool:
    """Evaluate the tree in Python; `lookup` returns a field's value or None when missing."""
    if isinstance(node, And):
        return all(evaluate(item, lookup) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, lookup) for item in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, lookup)
    if isinstance(node, IsNull):
        return (lookup(node.field) is None) != node.negated
    if isinstance(node, In):
        value = lookup(node.field)
        if value is None:
            return False
        hit = any(compare_values(value, "=", lit.value) for lit in node.values)
        return hit != node.negated
    right = lookup(node.right) if isinstance(node.right, Field) else node.right.value
    return compare_values(lookup(node.left), node.op, right)


def explain(node: Node, lookup: Callable[[Field], Any]) -> list[str]:
    """Why `node` is false: the comparisons that failed, each with the values it saw
    ("metrics.f1 = 0.81 is not >= production.metrics.f1 = 0.84"). Empty when it holds."""
    if evaluate(node, lookup):
        return []
    if isinstance(node, And):
        return [line for item in node.items for line in explain(item, lookup)]
    if isinstance(node, Or):
        return [" or ".join("; ".join(explain(item, lookup)) or "?" for item in node.items)]
    if isinstance(node, Not):
        return [f"expected the opposite of: {_render(node.item, lookup, holds=True)}"]
    return [_render(node, lookup)]


def reasons(node: Node, lookup: Callable[[Field], Any]) -> list[str]:
    """Why `node` holds: the comparisons that made it true, each with the values it saw
    ("drift_share = 0.4 is > 0.3"). Empty when it does not hold."""
    if not evaluate(node, lookup):
        return []
    if isinstance(node, And):
        return [line for item in node.items for line in reasons(item, lookup)]
    if isinstance(node, Or):
        return [line for item in node.items for line in reasons(item, lookup)]
    if isinstance(node, Not):
        return explain(node.item, lookup)
    return [_render(node, lookup, holds=True)]


def _render(node: Node, lookup: Callable[[Field], Any], holds: bool = False) -> str:
    """A comparison with the values it saw; `holds` words it as true, else as false."""
    neg = "" if holds else "not "
    def show(side: Field | Literal) -> str:
        if isinstance(side, Literal):
            return repr(side.value)
        value = lookup(side)
        shown = "missing" if value is None else f"{value:.6g}" if isinstance(value, float) \
            else repr(value)
        return f"{side.name} = {shown}"

    if isinstance(node, Compare):
        return f"{show(node.left)} is {neg}{node.op} {show(node.right)}"
    if isinstance(node, IsNull):
        null = node.negated != holds
        return f"{show(node.field)} is {'' if null else 'not '}null"
    if isinstance(node, In):
        values = ", ".join(repr(v.value) for v in node.values)
        inside = node.negated != holds
        return f"{show(node.field)} is {'' if inside else 'not '}in ({values})"
    return "; ".join(explain(node, lookup)) or "it holds"
