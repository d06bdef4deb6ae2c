"""`Run`: a handle on one run in the store. Reads are fresh from the store each time (an
active run in this process flushes its buffered points first)."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import NotFoundError
from ..store.tables import (
    artifacts,
    cells,
    experiments,
    latest_metrics,
    metric_chunks,
    params,
    run_links,
    runs,
    tags,
)
from . import records

if TYPE_CHECKING:
    import pandas as pd
    from nbformat import NotebookNode

    from ..store import Store


AUTOML_TAG = "mlops.automl"  # "search" on an AutoML search's parent run


@dataclass(frozen=True)
class ArtifactInfo:
    name: str
    digest: str
    size: int
    media_type: str


@dataclass(frozen=True)
class Link:
    """A run's input or output: a dataset version, a model version, a feature view…"""

    direction: str
    kind: str
    ref: str
    role: str | None


class Run:
    """One run. Used as a context manager, leaving the block ends it (failed on an exception)."""

    def __init__(self, store: Store, run_id: str):
        self.store = store
        self.id = run_id
        self._steps: dict[str, int] = {}  # next auto step per metric key (active runs)
        self._params: dict[str, str] = {}  # params logged from this process (JSON)

    # -- reads ------------------------------------------------------------------------------
    def _row(self):
        from .. import config

        timeout = config.load().heartbeat_timeout
        with self.store.read() as conn:
            row = conn.execute(
                select(runs, experiments.c.name.label("experiment"),
                       records.status_expr(time.time(), timeout).label("shown_status"))
                .join(experiments, experiments.c.id == runs.c.experiment_id)
                .where(runs.c.id == self.id)
            ).mappings().first()
        if row is None:
            raise NotFoundError(f"run {self.id} no longer exists")
        return row

    def _sync(self) -> None:
        from .writer import writer_for

        writer = writer_for(self.store)
        if self.id in writer.beating or writer.pending(self.id):
            writer.flush()

    @property
    def info(self) -> dict[str, Any]:
        """Everything about the run but its logged values: times, status, source, git, user."""
        row = dict(self._row())
        row["status"] = row.pop("shown_status")
        return row

    @property
    def name(self) -> str:
        return self._row()["name"]

    @property
    def status(self) -> str:
        return self._row()["shown_status"]

    @property
    def experiment(self) -> str:
        return self._row()["experiment"]

    @property
    def params(self) -> dict[str, Any]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(params.c.key, params.c.value).where(params.c.run_id == self.id)
                .order_by(params.c.key)
            ).all()
        return {k: json.loads(v) for k, v in rows}

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric (highest step, then newest)."""
        self._sync()
        with self.store.read() as conn:
            rows = conn.execute(
                select(latest_metrics.c.key, latest_metrics.c.value)
                .where(latest_metrics.c.run_id == self.id).order_by(latest_metrics.c.key)
            ).all()
        return {k: float("nan") if v is None else v for k, v in rows}

    def metric_history(self, key: str, max_points: int | None = None) -> pd.DataFrame:
        """Every point of one metric: columns step, value, timestamp (UTC datetime), ordered
        by step, then time. `max_points` thins a long history for a chart, keeping each
        stretch's lowest and highest value (see downsample.py)."""
        import numpy as np
        import pandas as pd

        from ..store.series import unpack

        self._sync()
        with self.store.read() as conn:
            chunks = conn.execute(
                select(metric_chunks.c.count, metric_chunks.c.data)
                .where(metric_chunks.c.run_id == self.id, metric_chunks.c.key == key)
                .order_by(metric_chunks.c.id)
            ).all()
        parts = [unpack(data, count) for count, data in chunks]
        steps, values, stamps = (
            np.concatenate([p[i] for p in parts]) if parts else np.empty(0, "<f8")
            for i in range(3))
        steps = steps.astype("int64")
        # usually logged in order already: sort only when not (numpy, not pandas: 3× faster)
        ordered = len(steps) < 2 or bool(np.all((steps[1:] > steps[:-1]) | (
            (steps[1:] == steps[:-1]) & (stamps[1:] >= stamps[:-1]))))
        if not ordered:
            index = np.lexsort((stamps, steps))
            steps, values, stamps = steps[index], values[index], stamps[index]
        frame = pd.DataFrame({"step": steps, "value": values.astype("float64"),
                              "timestamp": pd.to_datetime(stamps, unit="s", utc=True)})
        if max_points is None:
            return frame
        from .downsample import downsample

        return downsample(frame, max_points)

    @property
    def metric_points(self) -> dict[str, int]:
        """How many points each metric has: 1 for a single value (a final score), more for
        a history (what a view draws as a value or as a line)."""
        from sqlalchemy import func

        self._sync()
        with self.store.read() as conn:
            rows = conn.execute(
                select(metric_chunks.c.key, func.sum(metric_chunks.c.count))
                .where(metric_chunks.c.run_id == self.id).group_by(metric_chunks.c.key)
                .order_by(metric_chunks.c.key)
            ).all()
        return {k: int(n) for k, n in rows}

    @property
    def tags(self) -> dict[str, str]:
        with self.store.read() as conn:
            return dict(conn.execute(
                select(tags.c.key, tags.c.value).where(tags.c.run_id == self.id)
                .order_by(tags.c.key)
            ).all())

    @property
    def artifacts(self) -> dict[str, ArtifactInfo]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(artifacts.c.name, artifacts.c.digest, artifacts.c.size,
                       artifacts.c.media_type)
                .where(artifacts.c.run_id == self.id).order_by(artifacts.c.name)
            ).all()
        return {r.name: ArtifactInfo(*r) for r in rows}

    def _links(self, direction: str) -> list[Link]:
        with self.store.read() as conn:
            rows = conn.execute(
                select(run_links.c.direction, run_links.c.kind, run_links.c.ref, run_links.c.role)
                .where(run_links.c.run_id == self.id, run_links.c.direction == direction)
                .order_by(run_links.c.id)
            ).all()
        return [Link(*r) for r in rows]

    @property
    def inputs(self) -> list[Link]:
        return self._links("input")

    @property
    def outputs(self) -> list[Link]:
        return self._links("output")

    @property
    def source(self) -> str | None:
        """The code of the %%track cell (or other source) that made the run."""
        with self.store.read() as conn:
            return records.get_text(conn, self._row()["source_digest"])

    @property
    def environment(self) -> dict[str, Any]:
        """The environment when the run started: `python` (version), `platform` (system,
        release, machine, implementation), `packages` ({distribution: version} of the packages
        imported then) and `distributions` (every installed one: {name: {"version", and for
        editable or local installs "direct_url", PEP 610}}). Older runs lack the last two."""
        with self.store.read() as conn:
            text = records.get_text(conn, self._row()["environment_digest"])
        return json.loads(text) if text else {}

    def notebook(self, executed: bool = False) -> NotebookNode | None:
        """The run's notebook snapshot (nbformat): the kernel's execution history up to the
        run's end, the run's own cells marked (`metadata.jupyter_mlops.run_cell`), with the
        outputs shown while it was active. None for a run without one (a script, or recording
        off). `executed=True`: the executed notebook the pipeline runner kept for the step
        that made the run (None for other runs)."""
        from .snapshot import load

        return load(self, executed=executed)

    def cells(self) -> pd.DataFrame:
        """The cells executed while the run was active, in order, with flags for cells run
        again (`reexecuted`) or run before a cell above them in the notebook (`out_of_order`)."""
        import pandas as pd

        from ..store.tables import texts

        self._sync()
        with self.store.read() as conn:
            rows = conn.execute(
                select(cells.c.ordinal, cells.c.execution_count, cells.c.cell_id,
                       cells.c.notebook_index, texts.c.text.label("source"), cells.c.started,
                       cells.c.ended, cells.c.success, cells.c.error)
                .join(texts, texts.c.digest == cells.c.source_digest)
                .where(cells.c.run_id == self.id).order_by(cells.c.ordinal)
            ).mappings().all()
        seen: set = set()
        highest = -1
        out = []
        for r in rows:
            ident = r["cell_id"] or r["source"]
            idx = r["notebook_index"]
            out.append({
                **r,
                "reexecuted": ident in seen,
                "out_of_order": idx is not None and idx < highest,
            })
            seen.add(ident)
            if idx is not None:
                highest = max(highest, idx)
        frame = pd.DataFrame(out, columns=[
            "ordinal", "execution_count", "cell_id", "notebook_index", "source", "started",
            "ended", "success", "error", "reexecuted", "out_of_order"])
        for col in ("started", "ended"):
            frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="s", utc=True)
        return frame

    # -- artifacts ----------------------------------------------------------------------------
    def _artifact(self, name: str) -> ArtifactInfo:
        arts = self.artifacts
        if name not in arts:
            known = ", ".join(arts) or "none"
            raise NotFoundError(f"run {self.id[:8]} has no artifact {name!r} (it has: {known})")
        return arts[name]

    def download_artifact(self, name: str, dest: str) -> str:
        """Copy an artifact to `dest` (checked against its digest); returns the path."""
        info = self._artifact(name)
        return str(self.store.artifacts.get_file(info.digest, dest))

    def load_artifact(self, name: str) -> Any:
        """An artifact as an object: parquet → DataFrame, plotly JSON → figure, JSON → dict,
        text → str, anything else → bytes."""
        from .objects import decode

        info = self._artifact(name)
        return decode(self.store.artifacts.get_bytes(info.digest), info.media_type)

    # -- context manager and display ---------------------------------------------------------
    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        from . import fluent

        if exc_type is None:
            fluent.end_run("finished", run=self)
        else:
            message = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
            status = "killed" if exc_type is KeyboardInterrupt else "failed"
            fluent.end_run(status, run=self, error=message)
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def summary(self) -> dict[str, Any]:
        """Name, status, duration, params, metrics and id: what the notebook display shows."""
        info = self.info
        end = info["end_time"] or time.time()
        return {
            "id": self.id, "name": info["name"], "experiment": info["experiment"],
            "status": info["status"], "duration_s": round(end - info["start_time"], 3),
            "params": self.params, "metrics": self.metrics,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything about the run in JSON-ready form: info, params, metrics and their
        numbers of points, tags, inputs, outputs and artifacts, and its `kind` ("automl" for
        an AutoML search's parent run, else "run"): what the sidebar's run view shows."""
        from dataclasses import asdict

        info = {k: v for k, v in self.info.items() if k not in ("experiment_id",)}
        tags_ = self.tags
        return {**info, "id": self.id, "params": self.params, "metrics": self.metrics,
                "metric_points": self.metric_points, "tags": tags_,
                "kind": "automl" if tags_.get(AUTOML_TAG) == "search" else "run",
                "inputs": [asdict(x) for x in self.inputs],
                "outputs": [asdict(x) for x in self.outputs],
                "artifacts": [asdict(a) for a in self.artifacts.values()]}

    def __repr__(self) -> str:
        return f"<Run {self.id[:8]}>"

    def _repr_html_(self) -> str:
        s = self.summary()
        colour = {"finished": "#2e7d32", "failed": "#c62828", "running": "#1565c0"}.get(
            s["status"], "#6d4c41")

        def table(values: dict) -> str:
            if not values:
                return "<i>none</i>"
            cells_ = "".join(
                f"<tr><td style='text-align:left'>{html.escape(str(k))}</td>"
                f"<td style='text-align:left'>{html.escape(_short(v))}</td></tr>"
                for k, v in values.items())
            return f"<table>{cells_}</table>"

        return (
            f"<div class='mlops-run'><b>{html.escape(s['name'])}</b> "
            f"<span style='color:{colour}'>{s['status']}</span> in {s['duration_s']:.2f}s "
            f"· experiment {html.escape(s['experiment'])} · <code>{s['id']}</code>"
            f"<div style='display:flex;gap:2em'><div><b>params</b>{table(s['params'])}</div>"
            f"<div><b>metrics</b>{table(s['metrics'])}</div></div></div>"
        )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"
