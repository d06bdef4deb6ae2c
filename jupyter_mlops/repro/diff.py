"""`diff_runs(a, b)`: everything that differs between two runs, for "why do these results
differ?": params, metrics, tags, inputs by digest, Python and packages, and the code cell by
cell with its outputs (celldiff.py). `compare_runs` stays the many-run comparison."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MLOpsUsageError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from ..tracking.run import Run

# tags that name the run's own place (its step, its pipeline run, what it reproduces): they
# differ between any two runs and explain nothing
OWN_TAGS = ("mlops.step_run", "mlops.pipeline_run", "mlops.reproduces", "mlops.reproduction",
            "mlops.replay_of")


@dataclass
class Change:
    """One key whose value differs; a side without the key is None."""

    key: str
    a: Any
    b: Any


@dataclass
class RunDiff:
    """What `diff_runs` returns: the differences of `b` from `a`. `.to_frame()`, `.to_dict()`,
    `.figure()` (the differing metrics' histories), rich display."""

    a: Run
    b: Run
    params: list[Change]
    metrics: list[Change]
    tags: list[Change]
    inputs: list[dict[str, Any]]
    python: tuple[str | None, str | None] | None
    packages: dict[str, list[dict[str, Any]]]
    code: dict[str, Any] = field(repr=False)

    @property
    def same(self) -> bool:
        """Nothing differs: values, inputs, environment and code."""
        return not (self.params or self.metrics or self.tags or self.inputs or self.python
                    or any(self.packages.values())
                    or self.code["summary"]["unchanged"] != len(self.code["cells"]))

    def label(self, run: Run) -> str:
        return f"{run.name} ({run.id[:8]})"

    def to_frame(self) -> pd.DataFrame:
        """One row per difference but the code (`params.<k>`, `metrics.<k>`, `tags.<k>`,
        `inputs.<kind>:<name>`, `python`, `packages.<name>`), one column per run."""
        import pandas as pd

        rows: dict[str, list[Any]] = {}
        for prefix, changes in (("params", self.params), ("metrics", self.metrics),
                                ("tags", self.tags)):
            for c in changes:
                rows[f"{prefix}.{c.key}"] = [c.a, c.b]
        for item in self.inputs:
            rows[f"inputs.{item['kind']}:{item['name']}"] = [item["a"], item["b"]]
        if self.python:
            rows["python"] = list(self.python)
        for item in self.packages["added"]:
            rows[f"packages.{item['name']}"] = [None, item["version"]]
        for item in self.packages["removed"]:
            rows[f"packages.{item['name']}"] = [item["version"], None]
        for item in self.packages["changed"]:
            rows[f"packages.{item['name']}"] = [item["a"], item["b"]]
        labels = [self.label(self.a), self.label(self.b)]
        return pd.DataFrame.from_dict(rows, orient="index", columns=labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what `jupyter mlops runs diff --format json` prints and REST answers."""
        def run(r: Run) -> dict[str, Any]:
            info = r.info
            return {"id": r.id, "name": info["name"], "experiment": info["experiment"],
                    "status": info["status"]}

        def changes(items: list[Change]) -> list[dict[str, Any]]:
            return [{"key": c.key, "a": _plain(c.a), "b": _plain(c.b)} for c in items]

        return {"a": run(self.a), "b": run(self.b), "same": self.same,
                "params": changes(self.params), "metrics": changes(self.metrics),
                "tags": changes(self.tags), "inputs": self.inputs,
                "python": None if self.python is None else dict(zip("ab", self.python, strict=True)),
                "packages": self.packages, "code": self.code}

    def figure(self) -> go.Figure:
        """The histories of the metrics that differ, a line per run (one value: a table)."""
        from ..charts.tracking import metric_histories

        keys = [c.key for c in self.metrics]
        histories = {self.label(r): {k: r.metric_history(k) for k in keys}
                     for r in (self.a, self.b)}
        return metric_histories(histories, keys)

    def _repr_html_(self) -> str:
        from .html import run_diff_html

        return run_diff_html(self)

    def __repr__(self) -> str:
        return f"<RunDiff {self.a.id[:8]} → {self.b.id[:8]}>"


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: null, as the REST answers say elsewhere."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def diff_runs(a: str | Run, b: str | Run) -> RunDiff:
    """What differs in run `b` from run `a` (ids, 8+ character prefixes, or Runs): params,
    latest metrics and tags that differ; inputs (datasets, feature views, models) whose
    version or digest differs; the Python version; packages added, removed or changed; and
    the code cell by cell (the notebook snapshots, aligned and diffed by nbdime, sources and
    outputs)."""
    from . import celldiff

    run_a, run_b = _run(a), _run(b)
    env_a, env_b = run_a.environment, run_b.environment
    py_a = env_a.get("python") or run_a.info["python_version"]
    py_b = env_b.get("python") or run_b.info["python_version"]
    source_a, cells_a = celldiff.cells_of(run_a)
    source_b, cells_b = celldiff.cells_of(run_b)
    code = {"a": source_a, "b": source_b, **celldiff.diff_cells(cells_a, cells_b)}
    tags_a = {k: v for k, v in run_a.tags.items() if k not in OWN_TAGS}
    tags_b = {k: v for k, v in run_b.tags.items() if k not in OWN_TAGS}
    return RunDiff(run_a, run_b, _changes(run_a.params, run_b.params),
                   _changes(run_a.metrics, run_b.metrics), _changes(tags_a, tags_b),
                   _inputs(run_a, run_b), None if py_a == py_b else (py_a, py_b),
                   _packages(env_a, env_b), code)


def _run(ref: str | Run) -> Run:
    from ..tracking.fluent import get_run
    from ..tracking.run import Run

    if isinstance(ref, Run):
        return ref
    if not isinstance(ref, str):
        raise MLOpsUsageError(f"give a run id or a Run, got {type(ref).__name__}")
    return get_run(ref)


def _equal(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return type(x) is type(y) and x == y


_MISSING = object()


def _changes(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    out = []
    for key in sorted(a.keys() | b.keys()):
        x, y = a.get(key, _MISSING), b.get(key, _MISSING)
        if x is _MISSING or y is _MISSING or not _equal(x, y):
            out.append(Change(key, None if x is _MISSING else x, None if y is _MISSING else y))
    return out


def _inputs(a: Run, b: Run) -> list[dict[str, Any]]:
    """Inputs by kind and name: "added" (only b used it), "removed", "changed" (another
    version whose digest differs; a new version of the same bytes is no change)."""
    def by_name(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
        found = {}
        for link in run.inputs:
            if link.kind == "run":  # a lineage edge to another run (a reproduction's original)
                continue
            ref = link.ref.split(":", 1)[1] if ":" in link.ref else link.ref
            name = ref.split("@", 1)[0]
            found[(link.kind, name)] = {"ref": ref, "digest": _digest(link.ref)}
        return found

    xs, ys = by_name(a), by_name(b)
    out = []
    for kind, name in sorted(xs.keys() | ys.keys()):
        x, y = xs.get((kind, name)), ys.get((kind, name))
        if x and y and (x["digest"] == y["digest"] if x["digest"] and y["digest"]
                        else x["ref"] == y["ref"]):
            continue
        change = "added" if x is None else "removed" if y is None else "changed"
        out.append({"kind": kind, "name": name, "change": change,
                    "a": x and x["ref"], "b": y and y["ref"],
                    "a_digest": x and x["digest"], "b_digest": y and y["digest"]})
    return out


def _digest(ref: str) -> str | None:
    from ..lineage import resolve

    try:
        return resolve(ref).data.get("digest")
    except (NotFoundError, MLOpsUsageError):  # deleted since, or not a versioned thing
        return None


def _packages(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Installed distributions added in b, removed, or at another version (or source)."""
    xs, ys = _versions(a), _versions(b)
    if not xs or not ys:  # an older run recorded only imported packages: compare like that
        xs, ys = dict(a.get("packages", {})), dict(b.get("packages", {}))
    return {
        "added": [{"name": n, "version": ys[n]} for n in sorted(ys.keys() - xs.keys())],
        "removed": [{"name": n, "version": xs[n]} for n in sorted(xs.keys() - ys.keys())],
        "changed": [{"name": n, "a": xs[n], "b": ys[n]} for n in sorted(xs.keys() & ys.keys())
                    if xs[n] != ys[n]],
    }


def _versions(env: dict[str, Any]) -> dict[str, str]:
    """{name: version, with " @ <commit>" for a VCS install or " (local)" for a path}."""
    out = {}
    for name, item in (env.get("distributions") or {}).items():
        label = str(item.get("version"))
        url = item.get("direct_url") or {}
        commit = (url.get("vcs_info") or {}).get("commit_id")
        if commit:
            label += f" @ {commit[:12]}"
        elif url.get("url", "").startswith("file:"):
            label += " (local)"
        out[name] = label
    return out
