"""`%pipeline`: turn notebooks into a pipeline, run it, see its runs, export it."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %pipeline add|show|run|runs|export ... (%pipeline SUBCOMMAND --help)",
    "add": "usage: %pipeline add NAME [--after STEP] [--schedule CRON] [-p K=V ...]",
    "show": "usage: %pipeline show NAME",
    "run": "usage: %pipeline run NAME [-p K=V ...] [--workers N] [--executor ADDRESS]",
    "runs": "usage: %pipeline runs NAME [--run RUN_ID]",
    "export": "usage: %pipeline export NAME --to airflow|argo|k8s|github [--image IMAGE] "
              "[--promote-model NAME] [--promote-alias ALIAS] [--promote-require EXPR]",
}

DOC = """Turn notebooks into a scheduled, parameterized pipeline.

%pipeline add NAME [--after STEP] [--schedule CRON] [-p K=V ...]
    add this notebook as a step of pipeline NAME (pipelines/NAME.yaml; created if new),
    after STEP (default: after the last step)
%pipeline show NAME                  the DAG, the spec and the parameters a run can set
%pipeline run NAME [-p K=V ...] [--workers N] [--executor ADDRESS]
    run it now: each step in its own kernel, independent steps in parallel (at most N at
    once), here or on a Dask cluster (--executor dask://host:8786)
%pipeline runs NAME [--run RUN_ID]   recent runs, or one run's steps
%pipeline export NAME --to airflow|argo|k8s|github [--image IMAGE] [--promote-model NAME ...]
    files for the target's own tools under pipelines/NAME/TARGET/
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("pipeline", USAGE, sub)


def _params(pairs: list[str] | None) -> dict[str, Any]:
    from ..values import parse_assignments

    return parse_assignments(pairs or [], "parameter")


@magics_class
class PipelineMagics(Magics):
    @line_magic
    @guarded(_usage)
    def pipeline(self, line: str = "", cell: str | None = None) -> Any:
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        sub, rest = args[0], args[1:]
        if sub not in USAGE or not sub:
            raise MLOpsUsageError(f"unknown subcommand {sub!r}")
        return getattr(self, f"_{sub}")(rest)

    pipeline.__doc__ = DOC

    def _add(self, rest: list[str]) -> Any:
        from .. import config
        from ..pipelines.spec import add_step, dump
        from ..tracking.capture import source_file

        p = _parser("add")
        p.add_argument("name")
        p.add_argument("--after")
        p.add_argument("--schedule")
        p.add_argument("-p", "--param", action="append")
        opts = p.parse_args(rest)
        notebook = source_file(str(config.load().project_root))
        if not notebook or not notebook.endswith(".ipynb"):
            raise MLOpsUsageError("this kernel does not know its notebook (run it in JupyterLab, "
                                  "or set MLOPS_NOTEBOOK)")
        spec = add_step(opts.name, notebook, after=opts.after, schedule=opts.schedule,
                        params=_params(opts.param))
        print(dump(spec), end="")
        return None

    def _show(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..pipelines.params import pipeline_parameters
        from ..pipelines.spec import dump, load_spec

        p = _parser("show")
        p.add_argument("name")
        spec = load_spec(p.parse_args(rest).name)
        display(spec.figure())
        print(dump(spec), end="")
        display(pipeline_parameters(spec.name))
        return None

    def _run(self, rest: list[str]) -> Any:
        from ..pipelines.runner import run_pipeline

        p = _parser("run")
        p.add_argument("name")
        p.add_argument("-p", "--param", action="append")
        p.add_argument("--workers", type=int)
        p.add_argument("--executor")
        opts = p.parse_args(rest)
        return run_pipeline(opts.name, _params(opts.param) or None, workers=opts.workers,
                            executor=opts.executor)

    def _runs(self, rest: list[str]) -> Any:
        from ..pipelines.status import get_pipeline_run, list_pipeline_runs

        p = _parser("runs")
        p.add_argument("name")
        p.add_argument("--run")
        opts = p.parse_args(rest)
        if opts.run:
            return get_pipeline_run(opts.run)
        return list_pipeline_runs(opts.name)

    def _export(self, rest: list[str]) -> Any:
        p = _parser("export")
        p.add_argument("name")
        p.add_argument("--to", required=True, choices=["airflow", "argo", "k8s", "github"])
        p.add_argument("--image")
        p.add_argument("--promote-model")
        p.add_argument("--promote-alias")
        p.add_argument("--promote-require")
        opts = p.parse_args(rest)
        from ..cli.pipeline_cmd import export_options
        from ..pipelines.export import export_pipeline_to

        options = export_options(opts.image, opts.promote_model, opts.promote_alias,
                                 opts.promote_require)
        paths = export_pipeline_to(opts.name, opts.to, **options)
        for path in paths:
            print(f"wrote {path}")
        return None
