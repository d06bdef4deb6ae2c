"""`search_runs`: the expression language compiled to SQL over runs, their latest metrics,
params and tags, returned as a DataFrame with one row a run and native dtypes; flat (every
matching run) or grouped (top-level runs, or one run's children, each with its number of
children and of children that match), with every key or only the columns asked for."""

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
from . import columns as cols
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
    """Turns a tree into a SQLAlchemy condition, adding one outer join per key it mentions
    (aliases named `{tag}{m|p|t}{n}`: two compilers in one statement never clash)."""

    def __init__(self, now: float, timeout: float, tag: str = ""):
        self.now, self.timeout, self.tag = now, timeout, tag
        self.status = records.status_expr(now, timeout)
        self.joins: dict[tuple[str, str], Any] = {}

    def _joined(self, prefix: str, key: str):
        if (prefix, key) not in self.joins:
            table = {"metrics": latest_metrics, "params": params, "tags": tags}[prefix]
            self.joins[(prefix, key)] = table.alias(f"{self.tag}{prefix[0]}{len(self.joins)}")
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
    *,
    columns: str | list[str] | None = None,
    nested: bool = False,
    parent: str | None = None,
) -> pd.DataFrame:
    """Runs matching `filter` (see `jupyter_mlops.expr`), as a DataFrame: `run_id`, `name`,
    `experiment`, `status`, `start_time`, `end_time`, `parent_run_id`, `user`, `notebook`,
    then `params.<k>`, `metrics.<k>` (latest values) and `tags.<k>` columns.

    `order_by` takes any field of the filter and `duration` (end_time - start_time, seconds);
    runs missing the value sort last in either direction: so do runs still going (or killed)
    when ordered by duration or end_time.

    For a runs table (what the Experiments view pages through):
    - `columns`: only these fields after the base ones (`run_id`, `name`, `experiment`,
      `status`, `start_time`, `end_time`, `parent_run_id`, `user`, then `child_count`):
      `params.<k>`, `metrics.<k>`, `tags.<k>` (a key with odd characters as is, or in
      backticks) or `notebook`, `git_commit`, `host`, `duration`; null where a run has none.
      Only those keys are read. A key no run of the experiments has, or a name that is no
      field, is refused, every one named.
    - `nested=True`: the rows are top-level runs (no parent) and each says `child_count`, its
      direct children (archived ones only with `include_archived`). With a filter, a run is a
      row when it matches or a run below it does, and `matched_children` says how many of
      its children match or hold a match: a matching trial is never hidden.
      Without `columns`, the default columns are the 3 metrics and 2 params that most runs
      of the page have.
    - `parent=RUN_ID` (an id or a prefix of 8+): that run's children, grouped the same way.
    `count_runs` with the same arguments counts the rows."""
    _check_paging(limit, offset)
    names = _names(experiment)
    grouped = _grouped(nested, parent)
    asked = None if columns is None else cols.parse(
        [columns] if isinstance(columns, str) else list(columns))
    compiler = _Compiler(time.time(), config.load().heartbeat_timeout)
    order = _order_terms(order_by, compiler)  # before _page, which joins what both need
    with get_store().read() as conn:
        check_experiments(conn, names)
        if asked is not None and asked[1]:
            cols.check(conn, *asked, names)  # before the work: the names that are no field
        query = _page(compiler, names, filter, include_archived, _scope(conn, grouped, parent))
        ids = conn.execute(query.order_by(*order).offset(offset or None).limit(limit)
                           ).scalars().all()  # the filter runs once per query
        if asked is None and not grouped:
            return _everything(conn, ids, compiler.status)
        chosen = [c for c in asked[0] if c.name not in cols.BASE] if asked is not None \
            else cols.defaults(conn, ids)
        base = _base(conn, ids, compiler.status, notebook=False)
        counts = {"child_count": _children(conn, ids, include_archived)}
        if grouped and filter:
            counts["matched_children"] = _matched_children(conn, ids, compiler, names, filter,
                                                           include_archived)
        values = cols.fetch(conn, ids, chosen)
        if asked is not None:
            cols.check(conn, *asked, names, seen=values)  # the keys the page did not show
    return _table(ids, base, counts, values, chosen)


def count_runs(experiment: str | list[str] | None = None, filter: str | None = None,
               include_archived: bool = False, *, nested: bool = False,
               parent: str | None = None) -> int:
    """How many rows `search_runs` would return without a limit (for paging): runs, or with
    `nested`/`parent` the top-level runs (or the children) that match or hold a match."""
    names = _names(experiment)
    compiler = _Compiler(time.time(), config.load().heartbeat_timeout)
    with get_store().read() as conn:
        check_experiments(conn, names)
        query = _page(compiler, names, filter, include_archived,
                      _scope(conn, _grouped(nested, parent), parent))
        return conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def run_ids(experiment: str | list[str] | None = None, filter: str | None = None,
            limit: int | None = None) -> list[str]:
    """The ids of the runs `search_runs` finds (flat, newest first), for callers that read
    their own columns of them (charts across runs)."""
    _check_paging(limit, 0)
    names = _names(experiment)
    compiler = _Compiler(time.time(), config.load().heartbeat_timeout)
    order = _order_terms(None, compiler)
    with get_store().read() as conn:
        check_experiments(conn, names)
        query = _page(compiler, names, filter, False, None)
        return conn.execute(query.order_by(*order).limit(limit)).scalars().all()


def _check_paging(limit: int | None, offset: int | None) -> None:
    for name, value in (("limit", limit), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 0 <= value <= MAX_ROWS):
            raise MLOpsUsageError(f"{name} must be an integer between 0 and {MAX_ROWS}, "
                                  f"got {value!r}")


def _grouped(nested: bool, parent: str | None) -> bool:
    if not isinstance(nested, bool):
        raise MLOpsUsageError(f"nested must be True or False, got {nested!r}")
    return nested or parent is not None


def _names(experiment: str | list[str] | None) -> list[str] | None:
    if experiment is None:
        return None
    return [experiment] if isinstance(experiment, str) else list(experiment)


def _scope(conn, grouped: bool, parent: str | None):
    """Which runs may be rows: any (None), top-level ones, or the children of `parent`."""
    if parent is not None:
        return runs.c.parent_run_id == records.resolve_run_id(conn, parent)
    return runs.c.parent_run_id.is_(None) if grouped else None


def _from(compiler: _Compiler, names: list[str] | None, include_archived: bool):
    """The ids of the runs in scope (their experiments, active ones), joined to every key
    the compiler has mentioned so far."""
    query = select(runs.c.id).join(experiments, experiments.c.id == runs.c.experiment_id)
    for (_prefix, key), t in compiler.joins.items():
        query = query.outerjoin(t, and_(t.c.run_id == runs.c.id, t.c.key == key))
    if not include_archived:
        query = query.where(runs.c.lifecycle == "active", experiments.c.lifecycle == "active")
    if names is not None:
        query = query.where(experiments.c.name.in_(names))
    return query


def _matching(compiler: _Compiler, names: list[str] | None, filter: str | None,
              include_archived: bool):
    """The ids of matching runs as a query."""
    condition = compiler.compile(expr.parse(filter, RUN_FIELDS)) if filter else None
    query = _from(compiler, names, include_archived)
    return query if condition is None else query.where(condition)


def _shown(compiler: _Compiler, names: list[str] | None, filter: str,
           include_archived: bool):
    """The ids of the runs that match and of every run above one (parent, its parent, …)."""
    matched = _matching(_Compiler(compiler.now, compiler.timeout, "f"), names, filter,
                        include_archived)
    hit = runs.alias("hit")
    shown = select(hit.c.id, hit.c.parent_run_id).where(hit.c.id.in_(matched)).cte(
        "shown", recursive=True)
    below, above = shown.alias("below"), runs.alias("above")
    shown = shown.union(select(above.c.id, above.c.parent_run_id)
                        .where(above.c.id == below.c.parent_run_id))
    return select(shown.c.id)


def _page(compiler: _Compiler, names: list[str] | None, filter: str | None,
          include_archived: bool, scope):
    """The ids of the rows: matching runs (`scope` None), or the runs in `scope` that match
    or hold a match below them."""
    if scope is None:
        return _matching(compiler, names, filter, include_archived)
    query = _from(compiler, names, include_archived).where(scope)
    if filter:
        query = query.where(runs.c.id.in_(_shown(compiler, names, filter, include_archived)))
    return query


def _children(conn, ids: list[str], include_archived: bool) -> list[int]:
    """How many direct children each run has."""
    found: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(runs.c.parent_run_id, func.count()).where(
            runs.c.parent_run_id.in_(ids[start:start + _CHUNK]))
        if not include_archived:
            query = query.where(runs.c.lifecycle == "active")
        found.update(conn.execute(query.group_by(runs.c.parent_run_id)).all())
    return [found.get(i, 0) for i in ids]


def _matched_children(conn, ids: list[str], compiler: _Compiler, names: list[str] | None,
                      filter: str, include_archived: bool) -> list[int]:
    """How many direct children of each run match the filter or hold a run that does: the
    filter runs over the runs below the page only, not over the store again."""
    parent_of: dict[str, str] = {}
    frontier = ids
    while frontier:  # every run below the page, level by level
        below = []
        for start in range(0, len(frontier), _CHUNK):
            query = select(runs.c.id, runs.c.parent_run_id).where(
                runs.c.parent_run_id.in_(frontier[start:start + _CHUNK]))
            if not include_archived:
                query = query.where(runs.c.lifecycle == "active")
            for run_id, parent in conn.execute(query):
                if run_id not in parent_of:
                    parent_of[run_id] = parent
                    below.append(run_id)
        frontier = below
    candidates = list(parent_of)
    hits: dict[str, set[str]] = {}
    for start in range(0, len(candidates), _CHUNK):
        matching = _matching(_Compiler(compiler.now, compiler.timeout, "f"), names, filter,
                             include_archived).where(
            runs.c.id.in_(candidates[start:start + _CHUNK]))
        for run_id in conn.execute(matching).scalars():
            child = run_id
            while parent_of[child] in parent_of:  # up to the page row's child
                child = parent_of[child]
            hits.setdefault(parent_of[child], set()).add(child)
    return [len(hits.get(i, ())) for i in ids]


def _base(conn, ids: list[str], status, notebook: bool) -> list[tuple]:
    """The base fields of the runs `ids`, in their order."""
    fields = [runs.c.id, runs.c.name, experiments.c.name, status, runs.c.start_time,
              runs.c.end_time, runs.c.parent_run_id, runs.c.user]
    if notebook:
        fields.append(runs.c.notebook)
    found: dict[str, tuple] = {}
    for start in range(0, len(ids), _CHUNK):
        for row in conn.execute(
                select(*fields).join(experiments, experiments.c.id == runs.c.experiment_id)
                .where(runs.c.id.in_(ids[start:start + _CHUNK]))):
            found[row[0]] = tuple(row)
    return [found[i] for i in ids]


def _everything(conn, ids: list[str], status) -> pd.DataFrame:
    """The flat frame: base fields with `notebook`, then every key the runs have."""
    extra: dict[str, list[tuple]] = {"params": [], "metrics": [], "tags": []}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for prefix, t in (("params", params), ("metrics", latest_metrics), ("tags", tags)):
            extra[prefix] += map(tuple, conn.execute(
                select(t.c.run_id, t.c.key, t.c.value).where(t.c.run_id.in_(chunk))))
    return _frame(ids, _base(conn, ids, status, notebook=True), extra)


def check_experiments(conn, names: list[str] | None) -> None:
    """Refuse experiment names the store does not have."""
    if names is not None:
        known = set(conn.execute(select(experiments.c.name)).scalars())
        missing = [n for n in names if n not in known]
        if missing:
            raise MLOpsUsageError(f"no experiment named {', '.join(map(repr, missing))}")


def _times(frame: pd.DataFrame) -> None:
    import pandas as pd

    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)


def _table(ids: list[str], base: list[tuple], counts: dict[str, list[int]],
           values: dict[str, list[Any]], chosen: list[cols.Column]) -> pd.DataFrame:
    """A grouped page, or one with chosen columns: base fields, counts, then the columns."""
    import pandas as pd

    frame = pd.DataFrame(base, columns=cols.BASE)
    _times(frame)
    data: dict[str, Any] = {name: pd.Series(n, dtype="int64") for name, n in counts.items()}
    for column in chosen:
        series = pd.Series(values[column.name], dtype=object)
        if column.prefix == "params":
            series = _param_dtype(series)
        elif column.prefix == "metrics" or column.key == "duration":
            series = series.astype("float64")
        data[column.name] = series
    return pd.concat([frame, pd.DataFrame(data, index=frame.index)], axis=1)


def _frame(order_ids: list[str], base: list, extra: dict[str, list]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(base, columns=BASE_COLUMNS).set_index("run_id")
    _times(frame)
    pieces = [frame]
    for prefix, rows in extra.items():
        if not rows:
            continue
        long = pd.DataFrame(rows, columns=["run_id", "key", "value"])
        wide = long.pivot(index="run_id", columns="key", values="value").reindex(order_ids)
        wide = wide[sorted(wide.columns)]
        if prefix == "params":
            wide = wide.apply(lambda c: _param_dtype(
                c.map(lambda v: v if v is None or v != v else json.loads(v))))
        elif prefix == "metrics":
            wide = wide.astype("float64")
        wide.columns = [f"{prefix}.{c}" for c in wide.columns]
        pieces.append(wide)
    out = pd.concat(pieces, axis=1) if len(pieces) > 1 else frame
    out.index.name = "run_id"
    return out.reset_index()


def _param_dtype(decoded: pd.Series) -> pd.Series:
    """Param values (decoded from JSON) in one dtype where they share a type (ints stay
    ints, with missing values)."""
    import pandas as pd

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
