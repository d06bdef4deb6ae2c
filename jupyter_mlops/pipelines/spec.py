"""The pipeline spec: `pipelines/<name>.yaml` in the project, the one source of truth.

A typed model (pydantic) checks it every time it is read, and the checks that need the project
run then too: cycles, unknown dependencies, missing notebooks, and notebooks that are passed
parameters but have no cell tagged `parameters`. Errors name the file and the bad field.
Parameters: run-time values win over a step's, which win over the pipeline's; a notebook's
own (its `parameters` cell) are parameters of its step too (params.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .. import config, refs
from ..errors import MLOpsUsageError, NotFoundError

if TYPE_CHECKING:
    import plotly.graph_objects as go

DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$")
STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def seconds(text: str | float | int | None) -> float | None:
    """"30m" → 1800.0; numbers are seconds; None stays None."""
    if text is None:
        return None
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    match = DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 90, '30s', '30m', '2h' or '1d'")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]


class Step(BaseModel):
    """One notebook run by papermill."""

    model_config = ConfigDict(extra="forbid")

    name: str
    notebook: str
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    retries: int = Field(default=0, ge=0, le=20)
    retry_delay: str | float = "10s"
    timeout: str | float | None = None
    kernel: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not STEP_NAME.match(value):
            raise ValueError("a step name is letters, digits, _ and -, starting with a letter")
        return value

    @field_validator("notebook")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = Path(value)
        if path.is_absolute() or ".." in path.parts or path.suffix != ".ipynb":
            raise ValueError("the notebook is an .ipynb path relative to the project root")
        return path.as_posix()

    @field_validator("retry_delay", "timeout")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        seconds(value)
        return value

    @property
    def timeout_s(self) -> float | None:
        return seconds(self.timeout)

    @property
    def retry_delay_s(self) -> float:
        return seconds(self.retry_delay) or 0.0


class PipelineSpec(BaseModel):
    """A DAG of notebook steps, its parameters with defaults, an optional cron schedule."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    ci_params: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = None
    timezone: str = "UTC"
    max_active_runs: int = Field(default=1, ge=1)
    steps: list[Step]

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression such as '0 2 * * *'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _graph(self) -> PipelineSpec:
        if not self.steps:
            raise ValueError("a pipeline needs at least one step")
        names = [s.name for s in self.steps]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"step names must be unique: {', '.join(twice)}")
        for step in self.steps:
            unknown = [d for d in step.depends_on if d not in names]
            if unknown:
                raise ValueError(f"step {step.name!r} depends on unknown step(s) {', '.join(unknown)}")
        order(self)  # raises on a cycle
        return self

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(f"pipeline {self.name!r} has no step {name!r} "
                            f"(it has: {', '.join(s.name for s in self.steps)})")

    def parameters(self, step: Step, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the step's notebook receives: the pipeline's, then the step's, then the values
        of `given` for parameters this step has (see params.py)."""
        from .params import step_values

        return step_values(self, step, given)

    def figure(self, status: dict[str, str] | None = None) -> go.Figure:
        """The DAG: steps in columns by depth; `status` (step -> status) colours those that
        ran."""
        from ..charts.pipelines import dag

        return dag(self, levels(self), status)


def order(spec: PipelineSpec) -> list[str]:
    """The steps in an order that respects every dependency; a cycle is an error naming it."""
    deps = {s.name: list(s.depends_on) for s in spec.steps}
    done: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = trail[trail.index(name):] + [name]
            raise ValueError(f"the steps form a cycle: {' -> '.join(cycle)}")
        state[name] = "active"
        for dep in deps[name]:
            visit(dep, trail + [name])
        state[name] = "done"
        done.append(name)

    for step in spec.steps:
        visit(step.name, [])
    return done


def levels(spec: PipelineSpec) -> list[list[str]]:
    """The steps by depth: those with no dependency first, then each step one level after
    its deepest dependency (steps of one level may run at the same time)."""
    needs = {s.name: s.depends_on for s in spec.steps}
    depth: dict[str, int] = {}
    for name in order(spec):
        depth[name] = 1 + max((depth[d] for d in needs[name]), default=-1)
    found: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for name, d in depth.items():
        found[d].append(name)
    return found


def folder() -> Path:
    return Path(config.load().project_root) / "pipelines"


def spec_path(name: str) -> Path:
    return folder() / f"{refs.check_name(name, 'pipeline name')}.yaml"


def _problem(error: ValidationError, path: Path) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the spec"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    return f"{path}: {where}: {message}{more}"


def parse(data: Any, path: Path) -> PipelineSpec:
    """A validated spec from YAML data, the project checks included."""
    if not isinstance(data, dict):
        raise MLOpsUsageError(f"{path}: expected a mapping with name and steps")
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as exc:
        raise MLOpsUsageError(_problem(exc, path)) from None
    check_notebooks(spec, path)
    check_ci_params(spec, path)
    return spec


def check_notebooks(spec: PipelineSpec, path: Path) -> None:
    """Every notebook exists; one that is passed parameters has a `parameters` cell. (Read
    as plain JSON: importing nbformat costs the runner a second, a tenth of a short step.)"""
    import json

    root = Path(config.load().project_root)
    for step in spec.steps:
        notebook = root / step.notebook
        if not notebook.is_file():
            raise MLOpsUsageError(f"{path}: step {step.name!r}: no notebook at {step.notebook}")
        if spec.parameters(step) or spec.ci_params:
            try:
                cells = json.loads(notebook.read_text()).get("cells", [])
            except (ValueError, AttributeError):
                raise MLOpsUsageError(f"{path}: step {step.name!r}: {step.notebook} is not a "
                                      "notebook (invalid JSON)") from None
            if not any("parameters" in (c.get("metadata") or {}).get("tags", []) for c in cells):
                raise MLOpsUsageError(
                    f"{path}: step {step.name!r}: {step.notebook} is passed parameters but has "
                    "no cell tagged 'parameters' (papermill injects its values after that cell)")


def check_ci_params(spec: PipelineSpec, path: Path) -> None:
    """Every ci_params key is a parameter of the pipeline, of a step or of a step's notebook
    (a CI run would refuse it on every push)."""
    from .params import known_parameters

    unknown = sorted(set(spec.ci_params) - known_parameters(spec, spec.ci_params))
    if unknown:
        raise MLOpsUsageError(f"{path}: ci_params {', '.join(unknown)} are not parameters of "
                              "the pipeline, of a step or of a step's notebook (declare them "
                              "in params)")


def load_spec(name: str) -> PipelineSpec:
    """Read and validate `pipelines/<name>.yaml`."""
    import yaml

    path = spec_path(name)
    if not path.is_file():
        known = sorted(p.stem for p in folder().glob("*.yaml")) if folder().is_dir() else []
        raise NotFoundError(f"no pipeline named {name!r} (no {path}; known: "
                            f"{', '.join(known) or 'none'})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MLOpsUsageError(f"{path} is not valid YAML: {exc}") from None
    spec = parse(data, path)
    if spec.name != name:
        raise MLOpsUsageError(f"{path}: name is {spec.name!r}, but the file says {name!r}")
    return spec


def dump(spec: PipelineSpec) -> str:
    """The spec as reviewable YAML: fields in a fixed order, defaults left out."""
    import yaml

    data = spec.model_dump(exclude_defaults=True)
    data["steps"] = [s.model_dump(exclude_defaults=True) for s in spec.steps]
    header = f"# jupyter-mlops pipeline {spec.name!r}: edit freely, it is checked when read\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_spec(spec: PipelineSpec) -> Path:
    path = spec_path(spec.name)
    parse(spec.model_dump(), path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(spec))
    return path


def export_pipeline(name: str, notebooks: list[str] | None = None,
                    steps: list[dict[str, Any]] | None = None, schedule: str | None = None,
                    params: dict[str, Any] | None = None, ci_params: dict[str, Any] | None = None,
                    description: str | None = None) -> PipelineSpec:
    """Write `pipelines/<name>.yaml`: `notebooks` (paths relative to the project) make a chain in
    that order; `steps` give the whole DAG (dicts with name, notebook, params, depends_on,
    retries, retry_delay, timeout, kernel). Returns the validated spec."""
    name = refs.check_name(name, "pipeline name")
    if (notebooks is None) == (steps is None):
        raise MLOpsUsageError("give either notebooks (a chain) or steps (a DAG)")
    if notebooks is not None:
        if isinstance(notebooks, str) or not notebooks:
            raise MLOpsUsageError("notebooks is a non-empty list of notebook paths")
        steps = []
        for i, notebook in enumerate(notebooks):
            stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(notebook).stem)
            steps.append({"name": stem, "notebook": _relative(notebook),
                          "depends_on": [steps[i - 1]["name"]] if i else []})
    else:
        steps = [{**s, "notebook": _relative(s.get("notebook", ""))} if isinstance(s, dict) else s
                 for s in steps]
        for s in steps:
            if isinstance(s, dict) and "name" not in s and s.get("notebook"):
                s["name"] = re.sub(r"[^A-Za-z0-9_-]", "_", Path(s["notebook"]).stem)
    data = {"name": name, "steps": steps, "params": params or {}, "ci_params": ci_params or {},
            "schedule": schedule, "description": description}
    spec = parse(data, spec_path(name))
    save_spec(spec)
    return spec


def _relative(notebook: str) -> str:
    """A notebook path relative to the project root (absolute paths inside it are converted)."""
    if not notebook:
        return notebook
    path = Path(notebook)
    root = Path(config.load().project_root).resolve()
    if path.is_absolute():
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise MLOpsUsageError(f"{notebook} is outside the project {root}") from None
    return path.as_posix()


def list_pipelines() -> list[PipelineSpec]:
    """Every valid spec in `pipelines/` (an invalid one raises, naming its file)."""
    if not folder().is_dir():
        return []
    return [load_spec(p.stem) for p in sorted(folder().glob("*.yaml"))]


def add_step(name: str, notebook: str, after: str | None = None, schedule: str | None = None,
             params: dict[str, Any] | None = None, step: str | None = None) -> PipelineSpec:
    """Add `notebook` as a step of pipeline `name` (created if new), after step `after` (by
    default after the last step, so a chain grows in the order notebooks are added). Adding
    a notebook that is already a step updates its params."""
    name = refs.check_name(name, "pipeline name")
    notebook = _relative(notebook)
    stem = step or re.sub(r"[^A-Za-z0-9_-]", "_", Path(notebook).stem)
    if spec_path(name).is_file():
        data = load_spec(name).model_dump()
    else:
        data = {"name": name, "steps": []}
    steps = data["steps"]
    if after is not None and after not in [s["name"] for s in steps]:
        raise MLOpsUsageError(f"pipeline {name!r} has no step {after!r} to add after")
    existing = next((s for s in steps if s["notebook"] == notebook), None)
    if existing is not None:
        existing["params"] = {**existing.get("params", {}), **(params or {})}
    else:
        depends = [after] if after else [steps[-1]["name"]] if steps else []
        steps.append({"name": stem, "notebook": notebook, "params": params or {},
                      "depends_on": depends})
    if schedule is not None:
        data["schedule"] = schedule
    spec = parse(data, spec_path(name))
    save_spec(spec)
    return spec
