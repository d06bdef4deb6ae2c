"""The expression language: parsing, errors that point at the mistake, Python evaluation."""

from __future__ import annotations

import pytest

from jupyter_mlops import expr
from jupyter_mlops.errors import FilterSyntaxError
from jupyter_mlops.tracking.search import RUN_FIELDS


def test_parses_precedence_and_parentheses():
    tree = expr.parse("a.x = 1 or b.y = 2 and not (c.z > 3)")
    assert isinstance(tree, expr.Or)
    assert isinstance(tree.items[1], expr.And)
    assert isinstance(tree.items[1].items[1], expr.Not)


def test_fields_backticks_and_spec():
    tree = expr.parse("metrics.`val/loss` < metrics.train.loss", RUN_FIELDS)
    assert tree.left.path == ("metrics", "val/loss")
    assert tree.right.path == ("metrics", "train.loss")
    assert expr.parse("STATUS = 'finished'", RUN_FIELDS).left.path == ("status",)


def test_literals_and_keywords():
    tree = expr.parse("params.a IN (1, 2.5, 'x', true, null) and params.b NOT LIKE 'r%' "
                      "and tags.t IS NOT NULL and params.c <> -1e3")
    values = [lit.value for lit in tree.items[0].values]
    assert values == [1, 2.5, "x", True, None]
    assert tree.items[1].op == "NOT LIKE"
    assert tree.items[2].negated is True
    assert tree.items[3].op == "!=" and tree.items[3].right.value == -1000.0


def test_quotes_escape():
    assert expr.parse("name = 'it''s'").right.value == "it's"
    assert expr.parse('name = "say \\"hi\\""').right.value == 'say "hi"'


@pytest.mark.parametrize("text, position, fragment", [
    ("metrics.acc >", 13, "expected a value"),
    ("metrics.acc > 0.9 and", 21, "expected a field name"),
    ("(metrics.acc > 1", 16, "closing parenthesis"),
    ("metrics.acc ~ 1", 12, "unexpected character"),
    ("bogus = 1", 0, "unknown field 'bogus'"),
    ("metrics.acc > 1 params.x = 2", 16, "expected AND, OR or the end"),
    ("", 0, "empty expression"),
    ("name LIKE 3", 10, "needs a quoted pattern"),
])
def test_errors_point_at_the_mistake(text, position, fragment):
    with pytest.raises(FilterSyntaxError) as info:
        expr.parse(text, RUN_FIELDS)
    assert fragment in str(info.value)
    assert info.value.position == position
    if text:
        assert "^" in str(info.value)


def test_sql_text_is_only_data():
    tree = expr.parse("name = '; DROP TABLE runs; --'", RUN_FIELDS)
    assert tree.right.value == "; DROP TABLE runs; --"
    with pytest.raises(FilterSyntaxError):
        expr.parse("name = 'x'; DROP TABLE runs; --", RUN_FIELDS)


@pytest.mark.parametrize("text, expected", [
    ("m.a > 1", True),
    ("m.a > 2", False),
    ("m.missing != 1", False),
    ("not (m.missing = 1)", True),
    ("p.s = 'rf'", True),
    ("p.s LIKE 'r_'", True),
    ("p.s LIKE 'R%'", False),
    ("p.s ILIKE 'R%'", True),
    ("p.n = '5'", True),
    ("p.n > 10", False),
    ("p.s IN ('gbm', 'rf')", True),
    ("p.s NOT IN ('gbm', 'rf')", False),
    ("m.missing IS NULL", True),
    ("m.a < m.b", True),
    ("p.flag = true", True),
])
def test_evaluate(text, expected):
    values = {("m", "a"): 1.5, ("m", "b"): 2.0, ("p", "s"): "rf", ("p", "n"): 5,
              ("p", "flag"): True}
    assert expr.evaluate(expr.parse(text), lambda f: values.get(f.path)) is expected
