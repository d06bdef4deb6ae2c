"""MLflow's `search_runs` as SQL over this store's tables: MLflow's own parser reads the filter
and `order_by`; each comparison becomes a condition on the run (an EXISTS over params, latest
metrics, tags or datasets), with MLflow's comparison functions per dialect. Ordering is MLflow
SQL store's: each key with missing values last (NaN metrics before missing ones), then
`start_time DESC`, then the run id. Only one page of ids is read; the caller builds the runs.
"""

from __future__ import annotations

from typing import Any

from mlflow.entities import LifecycleStage
from mlflow.store.tracking import SEARCH_MAX_RESULTS_THRESHOLD
from mlflow.utils.search_utils import SearchUtils
from sqlalchemy import and_, case, exists, func, literal, or_, select

from ..store.tables import latest_metrics, params, run_datasets, runs, tags
from . import uri
from .convert import LIFECYCLE_IN, invalid


def check_max_results(max_results: int | None, allow_null: bool = True) -> None:
    if (max_results is None and not allow_null) or (max_results is not None and max_results < 1):
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      "must be a positive integer")
    if max_results is not None and max_results > SEARCH_MAX_RESULTS_THRESHOLD:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      f"must be at most {SEARCH_MAX_RESULTS_THRESHOLD}")


def _attribute(key: str):
    """The column (or expression) of a run attribute, as MLflow names them."""
    if key == "run_name":
        return runs.c.name
    if key == "status":
        return func.upper(runs.c.status)
    if key == "user_id":
        return runs.c.user
    if key == "run_id":
        return runs.c.id
    if key == "artifact_uri":
        return literal(uri.run_artifact_uri("")) + runs.c.id
    if key in ("start_time", "end_time"):
        return runs.c[key]
    raise invalid(f"Invalid attribute key '{key}' specified: the mlops store has no "
                  "translation for it")


_ENTITIES = {"metric": latest_metrics, "parameter": params, "tag": tags}


def _value_column(table):
    return params.c.text if table is params else table.c.value


def condition(clause: dict[str, Any], dialect: str):
    """The SQL condition of one parsed MLflow comparison."""
    key_type, comparator = clause["type"], clause["comparator"].upper()
    key, value = SearchUtils.translate_key_alias(clause["key"]), clause["value"]
    compare = SearchUtils.get_sql_comparison_func(comparator, dialect)
    if key_type == "attribute":
        column = _attribute(key)
        if key in ("start_time", "end_time"):
            return compare(column, float(value) / 1000.0)
        return compare(column, value)
    if key_type == "dataset":
        column = {"name": run_datasets.c.name, "digest": run_datasets.c.digest,
                  "context": run_datasets.c.context}.get(key)
        if column is None:
            raise invalid(f"Invalid dataset key '{key}': name, digest or context")
        return exists().where(run_datasets.c.run_id == runs.c.id, compare(column, value))
    table = _ENTITIES.get(key_type)
    if table is None:
        raise invalid(f"Invalid search expression type '{key_type}'")
    keyed = and_(table.c.run_id == runs.c.id, table.c.key == key)
    if comparator in ("IS NULL", "IS NOT NULL"):
        found = exists().where(keyed)
        return ~found if comparator == "IS NULL" else found
    column = _value_column(table)
    if table is latest_metrics:
        value = float(value)
        held = compare(column, value)
        # a NaN metric (stored without a value) fails every comparison but !=
        held = or_(held, column.is_(None)) if comparator == "!=" else held
        return exists().where(keyed, held)
    return exists().where(keyed, compare(column, value))


def order_terms(order_by: list[str] | None) -> list:
    """ORDER BY terms: each key (missing values last), then start_time DESC, then run id."""
    terms, seen = [], set()
    for clause in order_by or []:
        key_type, key, ascending = SearchUtils.parse_order_by_for_search_runs(clause)
        key = SearchUtils.translate_key_alias(key)
        if (key_type, key) in seen:
            raise invalid(f"`order_by` contains duplicate fields: {order_by}")
        seen.add((key_type, key))
        if key_type == "attribute":
            value = _attribute(key)
            if key == "artifact_uri":
                value = runs.c.id
            missing = case((value.is_(None), 1), else_=0)
        else:
            table = _ENTITIES.get(key_type)
            if table is None:
                raise invalid(f"Invalid identifier type '{key_type}'")
            keyed = and_(table.c.run_id == runs.c.id, table.c.key == key)
            value = select(_value_column(table)).where(keyed).scalar_subquery()
            if table is latest_metrics:
                missing = case((~exists().where(keyed), 2), (value.is_(None), 1), else_=0)
            else:
                missing = case((value.is_(None), 1), else_=0)
        terms += [missing, value if ascending else value.desc()]
    if ("attribute", "start_time") not in seen:
        terms.append(runs.c.start_time.desc())
    terms.append(runs.c.id)
    return terms


def run_ids(conn, dialect: str, experiment_ids: list[int], filter_string: str | None,
            view_type: int, order_by: list[str] | None, offset: int,
            max_results: int | None) -> list[str]:
    """The ids of one page of matching runs (one more than `max_results`, to tell whether
    another page follows)."""
    parsed = SearchUtils.parse_search_filter(filter_string)
    lifecycles = [LIFECYCLE_IN[s] for s in LifecycleStage.view_type_to_stages(view_type)]
    stmt = select(runs.c.id).where(
        runs.c.experiment_id.in_(experiment_ids), runs.c.lifecycle.in_(lifecycles),
        *(condition(c, dialect) for c in parsed),
    ).order_by(*order_terms(order_by)).offset(offset)
    if max_results is not None:
        stmt = stmt.limit(max_results + 1)
    return list(conn.execute(stmt).scalars())
