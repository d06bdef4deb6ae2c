"""The parameters a pipeline run can set, and which step gets which value.

A step's parameters are those of the pipeline (`params` at the top of its spec, given to
every step), its own (`params` of the step), and those its notebook defines in its cell
tagged `parameters`, read as papermill reads them. A step's notebook receives the pipeline's
values, then its step's (which win), then the run's values (which win over both) for the
parameters this step has: a run's value goes to every step for a pipeline parameter, else to
the steps whose spec or notebook defines it. A run that names a parameter no step has is
refused, naming the ones that exist.

Reading a notebook's parameters imports papermill (a second): it happens only for names the
spec does not declare, and for `pipeline show`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import MLOpsUsageError

if TYPE_CHECKING:
    import pandas as pd

    from .spec import PipelineSpec, Step

# notebook path -> (its mtime and size, the parameters read from it)
_READ: dict[str, tuple[tuple[int, int], dict[str, dict[str, str]]]] = {}


def notebook_parameters(step: Step) -> dict[str, dict[str, str]]:
    """The parameters the step's notebook defines in its cell tagged `parameters`, as
    papermill's `inspect_notebook` reads them: name -> {name, inferred_type_name, default
    (its source text), help (the comment after it)}. A notebook papermill cannot read them
    from (no kernel named in its metadata, a language it has no translator for) has none.
    Read again only when the file changes."""
    path = (Path(config.load().project_root) / step.notebook).resolve()
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _READ.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    from papermill import inspect_notebook
    from papermill.exceptions import PapermillException

    try:
        found = inspect_notebook(str(path))
    except (ValueError, PapermillException):
        found = {}
    _READ[str(path)] = (stamp, found)
    return found


def known_parameters(spec: PipelineSpec, names: Any = None) -> set[str]:
    """Every parameter name of the pipeline. With `names`, the notebooks are read only when
    one of them is not declared in the spec (the pipeline's or a step's params)."""
    known = set(spec.params) | {k for s in spec.steps for k in s.params}
    if names is not None and set(names) <= known:
        return known
    return known | {k for s in spec.steps for k in notebook_parameters(s)}


def check_given(spec: PipelineSpec, given: dict[str, Any] | None) -> None:
    """Refuse run-time values for parameters no step has, naming the ones that exist."""
    given = given or {}
    known = known_parameters(spec, given)
    unknown = sorted(set(given) - known)
    if unknown:
        raise MLOpsUsageError(f"pipeline {spec.name!r} has no parameter {', '.join(unknown)} "
                              f"(it has: {', '.join(sorted(known)) or 'none'})")


def step_values(spec: PipelineSpec, step: Step, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the step's notebook receives: the pipeline's values, then the step's, then the
    run's values for the parameters this step has."""
    values = {**spec.params, **step.params}
    given = given or {}
    own = set(values)
    if any(k not in own for k in given):
        own |= set(notebook_parameters(step))
    values.update({k: v for k, v in given.items() if k in own})
    return values


def parameter_rows(spec: PipelineSpec) -> list[dict[str, str]]:
    """One row per parameter of each step: parameter, step, default (as Python source),
    source (where the default comes from: step, pipeline or notebook) and help."""
    rows = []
    for step in spec.steps:
        notebook = notebook_parameters(step)
        for name in [*spec.params, *(k for k in step.params if k not in spec.params),
                     *(k for k in notebook if k not in spec.params and k not in step.params)]:
            if name in step.params:
                default, source = repr(step.params[name]), "step"
            elif name in spec.params:
                default, source = repr(spec.params[name]), "pipeline"
            else:
                default, source = notebook[name]["default"], "notebook"
            rows.append({"parameter": name, "step": step.name, "default": default,
                         "source": source, "help": notebook.get(name, {}).get("help", "")})
    return rows


def pipeline_parameters(name: str) -> pd.DataFrame:
    """The parameters a run of pipeline `name` can set (`-p NAME=VALUE`), one row per step
    that has each: parameter, step, default (as Python source), source (step, pipeline or
    notebook: where that default comes from; a run's value wins over it) and help."""
    import pandas as pd

    from .spec import load_spec

    return pd.DataFrame(parameter_rows(load_spec(name)),
                        columns=["parameter", "step", "default", "source", "help"])
