"""The columns of a runs table: the fields a caller asks for (`params.<key>`,
`metrics.<key>` (latest value), `tags.<key>`, or a run attribute such as `host`), checked
against the keys the store holds, and fetched for a page of runs only for those keys (one
query per kind, never a pivot of everything the runs logged). `run_fields` lists every key,
for a column picker and filter completion."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select

from .. import config
from ..errors import MLOpsUsageError
from ..store import get_store
from ..store.tables import experiments, latest_metrics, params, runs, tags
from . import records

PREFIXES = ("params", "metrics", "tags")
# what every row of a grouped page (or one with chosen columns) carries
BASE = ["run_id", "name", "experiment", "status", "start_time", "end_time", "parent_run_id",
        "user"]
# run attributes that may be asked as columns besides the base ones
ATTRIBUTES = ("notebook", "git_commit", "host", "duration")
DEFAULT_METRICS, DEFAULT_PARAMS = 3, 2  # the default columns: the keys most runs have
_CHUNK = 5000  # run ids per IN (...) list, well under SQLite's bound-parameter limit
_TABLES = {"params": params, "metrics": latest_metrics, "tags": tags}


@dataclass(frozen=True)
class Column:
    """A field asked for: `prefix` params, metrics or tags and its `key`, or an attribute
    (`prefix` None, `key` its name). `name` is what the row calls it: `params.depth`."""

    prefix: str | None
    key: str

    @property
    def name(self) -> str:
        return self.key if self.prefix is None else f"{self.prefix}.{self.key}"


def parse(names: list[str]) -> tuple[list[Column], list[str]]:
    """The columns named (`params.depth`, ``metrics.`val/loss` `` or `metrics.val/loss`,
    `host`, `start_time`), each once; and the names that are not a field at all."""
    found: list[Column] = []
    malformed: list[str] = []
    for text in names:
        name = text.strip()
        prefix, _, key = name.partition(".")
        if key.startswith("`") and key.endswith("`") and len(key) > 2:
            key = key[1:-1]
        if prefix in PREFIXES and key:
            column = Column(prefix, key)
        elif name in ATTRIBUTES or name in BASE:
            column = Column(None, name)
        else:
            malformed.append(text)
            continue
        if column not in found:
            found.append(column)
    return found, malformed


def _scope(experiment_names: list[str] | None, run_ids: list[str] | None):
    """The condition on `runs` (joined to experiments) of the runs a key must be found in."""
    conditions = []
    if experiment_names is not None:
        conditions.append(experiments.c.name.in_(experiment_names))
    if run_ids is not None:
        conditions.append(runs.c.id.in_(run_ids))
    return conditions


def check(conn, columns: list[Column], malformed: list[str],
          experiment_names: list[str] | None = None, run_ids: list[str] | None = None,
          seen: dict[str, list[Any]] | None = None) -> None:
    """Refuse, naming every one, the columns that are no field (`malformed`) or whose key no
    run in scope (of these experiments, or these runs; else any run) has. `seen`: values
    fetched already (a key with a value there is known without asking the store)."""
    unknown = list(malformed)
    scope = _scope(experiment_names, run_ids)
    for column in columns:
        if column.prefix is None or any(v is not None for v in (seen or {}).get(column.name, ())):
            continue
        t = _TABLES[column.prefix]
        probe = select(t.c.run_id).where(t.c.key == column.key)
        if scope:
            probe = (probe.join(runs, runs.c.id == t.c.run_id)
                     .join(experiments, experiments.c.id == runs.c.experiment_id).where(*scope))
        if not conn.execute(select(exists(probe))).scalar():
            unknown.append(column.name)
    if unknown:
        where = ("these runs" if run_ids is not None else
                 "any run" if experiment_names is None else
                 "the runs of " + ", ".join(map(repr, experiment_names)))
        raise MLOpsUsageError(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: a field is "
            f"params.<key>, metrics.<key> or tags.<key> for a key of {where}, or one of "
            f"{', '.join([*BASE, *ATTRIBUTES])}")


def defaults(conn, ids: list[str]) -> list[Column]:
    """The default columns of a page: the metrics (up to 3) and params (up to 2) that most
    of its runs have, ties by key."""
    out: list[Column] = []
    for prefix, most in (("metrics", DEFAULT_METRICS), ("params", DEFAULT_PARAMS)):
        t = _TABLES[prefix]
        counts: dict[str, int] = {}
        for start in range(0, len(ids), _CHUNK):
            for key, n in conn.execute(select(t.c.key, func.count()).where(
                    t.c.run_id.in_(ids[start:start + _CHUNK])).group_by(t.c.key)):
                counts[key] = counts.get(key, 0) + n
        chosen = sorted(counts, key=lambda k: (-counts[k], k))[:most]
        out += [Column(prefix, k) for k in sorted(chosen)]
    return out


def fetch(conn, ids: list[str], columns: list[Column]) -> dict[str, list[Any]]:
    """Each column's values for the runs `ids`, in their order (None where a run has no such
    key): params as their Python values, metrics as floats, tags and attributes as stored
    (`duration` in seconds)."""
    wanted: dict[str, list[str]] = {}
    for column in columns:
        wanted.setdefault(column.prefix or "", []).append(column.key)
    found: dict[str, dict[str, Any]] = {c.name: {} for c in columns}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        for prefix, keys in wanted.items():
            if not prefix:
                fields = [_attribute(k).label(k) for k in keys]
                for row in conn.execute(
                        select(runs.c.id.label("_id"), *fields)
                        .join(experiments, experiments.c.id == runs.c.experiment_id)
                        .where(runs.c.id.in_(chunk))):
                    for k in keys:
                        found[k][row[0]] = row._mapping[k]
                continue
            t = _TABLES[prefix]
            projections = (t.c.num, t.c.text) if prefix == "params" else ()
            rows = conn.execute(select(t.c.run_id, t.c.key, t.c.value, *projections).where(
                t.c.run_id.in_(chunk), t.c.key.in_(keys)))
            into = {key: found[f"{prefix}.{key}"] for key in keys}
            if prefix == "params":
                for run_id, key, value, num, text in rows:
                    into[key][run_id] = _param(value, num, text)
            else:
                for run_id, key, value in rows:
                    into[key][run_id] = value
    return {name: [values.get(i) for i in ids] for name, values in found.items()}


def _param(value: str, num: float | None, text: str) -> Any:
    """A param's value from its JSON, read through the stored projections where they say
    it (a number, a string): json.loads only for the rest (booleans, lists, …)."""
    if num is not None:
        return int(value) if value.lstrip("-").isdigit() else num
    if value.startswith('"'):
        return text
    return json.loads(value)


def _attribute(name: str):
    """A run attribute as a column of `runs` joined to `experiments`."""
    if name == "status":
        return records.status_expr(time.time(), config.load().heartbeat_timeout)
    special = {"duration": runs.c.end_time - runs.c.start_time, "run_id": runs.c.id,
               "experiment": experiments.c.name}
    return special[name] if name in special else runs.c[name]


def run_fields(experiment: str | list[str] | None = None) -> dict[str, list[str]]:
    """Every field a runs table may show or filter on: `attributes` (the run's own: name,
    status, start_time, …), and every key of `params`, `metrics` and `tags` logged by a run
    of these experiments (every experiment by default), each list sorted."""
    from .search import RUN_FIELDS, check_experiments

    names = None if experiment is None else (
        [experiment] if isinstance(experiment, str) else list(experiment))
    out: dict[str, list[str]] = {"attributes": sorted(RUN_FIELDS.names)}
    with get_store().read() as conn:
        check_experiments(conn, names)
        for prefix, t in _TABLES.items():
            query = select(t.c.key).distinct()
            if names is not None:
                query = (query.join(runs, runs.c.id == t.c.run_id)
                         .join(experiments, experiments.c.id == runs.c.experiment_id)
                         .where(experiments.c.name.in_(names)))
            out[prefix] = sorted(conn.execute(query).scalars())
    return out
