"""`search_runs`: the expression language compiled to SQL over runs, their latest metrics,
params and tags, returned as a DataFrame with one row a run and native dtypes."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, false, func, literal, not_, or_, select
from sqlalchemy.sql import ColumnElement

from .. import config, expr
from ..errors import FilterSyntaxError, MLOpsUsageError
from ..store import get_store
from ..store.tables import experiments, latest_metrics, params, runs, tags
from ..values import as_text
from . import records

if TYPE_CHECKING:
    import pandas as pd

RUN_FIELDS = expr.FieldSpec(
    names=("status", "name", "run_id", "experiment", "user", "host", "notebook",
           "parent_run_id", "start_time", "end_time", "git_commit", "duration"),
    prefixes=("metrics", "params", "tags"),
)
TIME_FIELDS = ("start_time", "end_time")
NUMERIC_FIELDS = (*TIME_FIELDS, "duration")  # seconds: end_time - start_time, null while running
MAX_ROWS = 2**63 - 1  # the largest LIMIT or OFFSET the databases take
_CHUNK = 5000  # run ids per IN (...) list, well under SQLite's bound-parameter limit
BASE_COLUMNS = ["run_id", "name", "experiment", "status", "start_time", "end_time",
                "parent_run_id", "user", "notebook"]


class _Compiler:
    """Turns a tree into a SQLAlchemy condition, adding one outer join per key it mentions."""

    def __init__(self, now: float, timeout: float):
        self.status = records.status_expr(now, timeout)
        self.joins: dict[tuple[str, str], Any] = {}

    def _joined(self, prefix: str, key: str):
        if (prefix, key) not in self.joins:
            table = {"metrics": latest_metrics, "params": params, "tags": tags}[prefix]
            self.joins[(prefix, key)] = table.alias(f"{prefix[0]}{len(self.joins)}")
        return self.joins[(prefix, key)]

    def attribute(self, name: str):
        return {
            "status": self.status, "name": runs.c.name, "run_id": runs.c.id,
            "experiment": experiments.c.name, "user": runs.c.user, "host": runs.c.host,
            "notebook": runs.c.notebook, "parent_run_id": runs.c.parent_run_id,
            "start_time": runs.c.start_time, "end_time": runs.c.end_time,
            "git_commit": runs.c.git_commit,
            "duration": runs.c.end_time - runs.c.start_time,
        }[name]

    def sides(self, field: expr.Field) -> tuple[Any, Any]:
        """(numeric column or None, text column or None) for a field."""
        if len(field.path) == 1:
            col = self.attribute(field.path[0])
            return (col, None) if field.path[0] in NUMERIC_FIELDS else (None, col)
        prefix, key = field.path
        t = self._joined(prefix, key)
        if prefix == "metrics":
            return t.c.value, None
        if prefix == "params":
            return t.c.num, t.c.text
        return None, t.c.value

    def literal_sides(self, lit: expr.Literal, field: expr.Field) -> tuple[Any, Any]:
        v = lit.value
        if field.path[0] in TIME_FIELDS and isinstance(v, str):
            return _parse_time(v), None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v), as_text(v)
        return None, None if v is None else as_text(v)

    def compile(self, node: expr.Node) -> ColumnElement:
        if isinstance(node, expr.And):
            return and_(*(self.compile(n) for n in node.items))
        if isinstance(node, expr.Or):
            return or_(*(self.compile(n) for n in node.items))
        if isinstance(node, expr.Not):
            return not_(self.compile(node.item))
        if isinstance(node, expr.IsNull):
            num, text = self.sides(node.field)
            col = num if num is not None else text
            return col.isnot(None) if node.negated else col.is_(None)
        if isinstance(node, expr.In):
            hit = or_(*(self.compare(node.field, "=", v) for v in node.values))
            num, text = self.sides(node.field)
            present = (num if num is not None else text).isnot(None)
            return and_(present, not_(hit)) if node.negated else hit
        return self.compare(node.left, node.op, node.right)

    def compare(self, left: expr.Field, op: str, right) -> ColumnElement:
        lnum, ltext = self.sides(left)
        if isinstance(right, expr.Field):
            rnum, rtext = self.sides(right)
        else:
            rnum, rtext = self.literal_sides(right, left)
            if right.value is None:
                return false()
        if op.endswith("LIKE"):
            col = ltext if ltext is not None else None
            if col is None:
                raise FilterSyntaxError(f"{left.name} is a number: LIKE needs a text field")
            cond = col.ilike(rtext) if "ILIKE" in op else col.like(rtext)
            cond = and_(col.isnot(None), not_(cond)) if op.startswith("NOT") else cond
            return func.coalesce(cond, false())
        options = []
        if lnum is not None and rnum is not None:
            options.append((and_(_notnull(lnum), _notnull(rnum)), _op(lnum, op, rnum)))
        if ltext is not None and rtext is not None:
            options.append((and_(_notnull(ltext), _notnull(rtext)), _op(ltext, op, rtext)))
        if not options:
            raise FilterSyntaxError(
                f"cannot compare {left.name} with "
                f"{right.name if isinstance(right, expr.Field) else repr(right.value)}: "
                "metrics and times compare with numbers"
            )
        # numeric when both sides are numbers, else textual: the first option that applies
        return case(*options, else_=false())


def _notnull(x):
    return x.isnot(None) if hasattr(x, "isnot") else literal(True)


def _op(a, op: str, b):
    return {"=": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b,
            "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()


def _parse_time(text: str) -> float:
    from datetime import datetime, timezone

    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise FilterSyntaxError(f"{text!r} is not an ISO date or time (2026-11-23T10:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _order_terms(order_by: str | list[str] | None, compiler: _Compiler) -> list:
    if order_by is None:
        return [runs.c.start_time.desc(), runs.c.id]
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    terms = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise MLOpsUsageError(f"order_by items are 'key [ASC|DESC]', got {item!r}")
        words = item.strip().rsplit(None, 1)
        direction = "asc"
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            item, direction = words[0], words[1].lower()
        num, text = compiler.sides(expr.parse_field(item, RUN_FIELDS))
        for col in (num, text):
            if col is not None:
                terms.append(getattr(col, direction)().nulls_last())
    return [*terms, runs.c.id]


def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    include_archived: bool = False,
) -> pd.DataFrame:
    """Runs matching `filter` (see `jupyter_mlops.expr`), as a DataFrame: `run_id`, `name`,
    `experiment`, `status`, `start_time`, `end_time`, `parent_run_id`, `user`, `notebook`,
    then `params.<k>`, `metrics.<k>` (latest values) and `tags.<k>` columns.

    `order_by` takes any field of the filter and `duration` (end_time - start_time, seconds);
    runs missing the value sort last in either direction: so do runs still going (or killed)
    when ordered by duration or end_time."""
    store = get_store()
    settings = config.load()
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= MAX_ROWS):
            raise MLOpsUsageError(f"{name} must be an integer between 0 and {MAX_ROWS}, "
                                  f"got {value!r}")
    compiler = _Compiler(time.time(), settings.heartbeat_timeout)
    order = _order_terms(order_by, compiler)  # before _matching, which joins what both need
    query, names = _matching(compiler, experiment, filter, include_archived)
    query = query.order_by(*order).offset(offset or None).limit(limit)
    with store.read() as conn:
        _check_experiments(conn, names)
        order_ids = conn.execute(query).scalars().all()  # the filter runs once
        base: list[tuple] = []
        extra: dict[str, list[tuple]] = {"params": [], "metrics": [], "tags": []}
        for start in range(0, len(order_ids), _CHUNK):
            chunk = order_ids[start:start + _CHUNK]
            base += map(tuple, conn.execute(
                select(runs.c.id, runs.c.name, experiments.c.name, compiler.status,
                       runs.c.start_time, runs.c.end_time, runs.c.parent_run_id, runs.c.user,
                       runs.c.notebook)
                .join(experiments, experiments.c.id == runs.c.experiment_id)
                .where(runs.c.id.in_(chunk))
            ))
            for prefix, t in (("params", params), ("metrics", latest_metrics), ("tags", tags)):
                extra[prefix] += map(tuple, conn.execute(
                    select(t.c.run_id, t.c.key, t.c.value).where(t.c.run_id.in_(chunk))))
    return _frame(order_ids, base, extra)


def count_runs(experiment: str | list[str] | None = None, filter: str | None = None,
               include_archived: bool = False) -> int:
    """How many runs `search_runs` would return without a limit (for paging)."""
    compiler = _Compiler(time.time(), config.load().heartbeat_timeout)
    query, names = _matching(compiler, experiment, filter, include_archived)
    with get_store().read() as conn:
        _check_experiments(conn, names)
        return conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def _matching(compiler: _Compiler, experiment: str | list[str] | None, filter: str | None,
              include_archived: bool) -> tuple[Any, list[str] | None]:
    """The ids of matching runs as a query, and the experiment names it asks for."""
    condition = compiler.compile(expr.parse(filter, RUN_FIELDS)) if filter else None
    query = select(runs.c.id).join(experiments, experiments.c.id == runs.c.experiment_id)
    for (_prefix, key), t in compiler.joins.items():
        query = query.outerjoin(t, and_(t.c.run_id == runs.c.id, t.c.key == key))
    if not include_archived:
        query = query.where(runs.c.lifecycle == "active", experiments.c.lifecycle == "active")
    names = None
    if experiment is not None:
        names = [experiment] if isinstance(experiment, str) else list(experiment)
        query = query.where(experiments.c.name.in_(names))
    if condition is not None:
        query = query.where(condition)
    return query, names


def _check_experiments(conn, names: list[str] | None) -> None:
    if names is not None:
        known = set(conn.execute(select(experiments.c.name)).scalars())
        missing = [n for n in names if n not in known]
        if missing:
            raise MLOpsUsageError(f"no experiment named {', '.join(map(repr, missing))}")


def _frame(order_ids: list[str], base: list, extra: dict[str, list]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(base, columns=BASE_COLUMNS).set_index("run_id")
    frame = frame.reindex(order_ids)
    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)
    pieces = [frame]
    for prefix, rows in extra.items():
        if not rows:
            continue
        long = pd.DataFrame(rows, columns=["run_id", "key", "value"])
        wide = long.pivot(index="run_id", columns="key", values="value").reindex(order_ids)
        wide = wide[sorted(wide.columns)]
        if prefix == "params":
            wide = wide.apply(_decode_params)
        elif prefix == "metrics":
            wide = wide.astype("float64")
        wide.columns = [f"{prefix}.{c}" for c in wide.columns]
        pieces.append(wide)
    out = pd.concat(pieces, axis=1) if len(pieces) > 1 else frame
    out.index.name = "run_id"
    return out.reset_index()


def _decode_params(column: pd.Series) -> pd.Series:
    """JSON param values to their Python types, column by column (ints stay ints)."""
    import pandas as pd

    decoded = column.map(lambda v: v if v is None or v != v else json.loads(v))
    present = decoded.dropna()
    kinds = {type(v) for v in present}
    if kinds and kinds <= {int}:
        return decoded.astype("Int64")
    if kinds and kinds <= {int, float}:
        return decoded.astype("float64")
    if kinds and kinds <= {bool}:
        return decoded.astype("boolean")
    if kinds and kinds <= {str}:
        return decoded.astype(pd.StringDtype())
    return decoded
