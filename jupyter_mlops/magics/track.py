"""`%track` and `%%track`: experiment tracking from cells."""

from __future__ import annotations

import ast
import sys
import time
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..errors import MLOpsError, MLOpsUsageError
from .base import MagicParser, UserCodeError, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %%track [-e EXPERIMENT] [-n NAME] [--params VAR,...] [--metrics VAR,...] "
        "[--no-autolog]\n       %track start|end|status|param|metric|tag|artifact|list|compare|"
        "diff|autolog|reproduce ... (%track SUBCOMMAND --help)",
    "start": "usage: %track start [-n NAME] [-e EXPERIMENT] [KEY=VALUE ...]",
    "end": "usage: %track end [--status finished|failed|killed]",
    "status": "usage: %track status",
    "param": "usage: %track param KEY=VALUE ...",
    "metric": "usage: %track metric KEY=NUMBER ... [--step N]",
    "tag": "usage: %track tag KEY=VALUE ...",
    "artifact": "usage: %track artifact PATH|VARIABLE [--name NAME]",
    "list": "usage: %track list [-e EXPERIMENT] [--filter EXPR] [--order-by KEY] [--limit N]",
    "compare": "usage: %track compare RUN RUN ... [--metric KEY]",
    "diff": "usage: %track diff RUN_A RUN_B",
    "autolog": "usage: %track autolog [on|off]",
    "reproduce": "usage: %track reproduce RUN [--env current|recorded] [--tolerance X]",
}

DOC = """Track experiments from cells.

%%track [-e EXPERIMENT] [-n NAME] [--params VAR,...] [--metrics VAR,...] [--no-autolog]
    Run the cell inside a new run (scikit-learn autolog on inside it), then log the named
    variables as params and metrics and show a summary of the run.

%track start [-n NAME] [-e EXPERIMENT] [KEY=VALUE ...]   start a run (params from KEY=VALUE)
%track end [--status finished|failed|killed]             end the active run
%track status                                            show the active run
%track param KEY=VALUE ...                               log params (values are Python literals)
%track metric KEY=NUMBER ... [--step N]                  log metrics
%track tag KEY=VALUE ...                                 set tags
%track artifact PATH|VARIABLE [--name NAME]              store a file, folder or object
%track list [-e EXPERIMENT] [--filter EXPR] [--order-by KEY] [--limit N]
                                                         runs as a table
%track compare RUN RUN ... [--metric KEY]                metric histories and params side by side
%track diff RUN_A RUN_B                                  what differs in B from A: values, inputs,
                                                         packages, code cell by cell
%track autolog [on|off]                                  scikit-learn autologging
%track reproduce RUN [--env current|recorded] [--tolerance X]
                                                         run a run's notebook again, compare

Filters: metrics.acc > 0.9 and params.model = 'rf' and status = 'finished'
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("track", USAGE, sub)


def _csv(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


@magics_class
class TrackMagics(Magics):
    @line_cell_magic
    @guarded(_usage)
    def track(self, line: str = "", cell: str | None = None) -> Any:
        if cell is not None:
            return self._cell(line, cell)
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        sub, rest = args[0], args[1:]
        handler = getattr(self, f"_{sub}", None)
        if sub not in USAGE or handler is None or sub == "":
            raise MLOpsUsageError(f"unknown subcommand {sub!r}")
        return handler(rest)

    track.__doc__ = DOC

    # -- %%track ----------------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> Any:
        from .. import config
        from ..tracking import autolog, cells, fluent

        p = _parser("")
        p.add_argument("-e", "--experiment")
        p.add_argument("-n", "--name")
        p.add_argument("--params", help="variables to log as params, comma-separated")
        p.add_argument("--metrics", help="variables to log as metrics, comma-separated")
        p.add_argument("--no-autolog", action="store_true")
        opts = p.parse_args(split(line))
        ns = self.shell.user_ns
        wanted = _csv(opts.params) + _csv(opts.metrics)
        code = self.shell.transform_cell(cell)
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise UserCodeError(exc) from None
        raw = self._raw_cell(line, cell)
        try:
            run = fluent.start_run(name=opts.name, experiment=opts.experiment, source=raw)
        except MLOpsUsageError:
            raise
        except MLOpsError as exc:  # the store is down: the user's work still runs, untracked
            print(f"jupyter-mlops: this cell runs untracked: {exc}", file=sys.stderr)
            return self._execute(tree, ns, code)
        previous = autolog.set_enabled(not opts.no_autolog and config.load().autolog)
        started, error, value = time.time(), None, None
        try:
            value = self._execute(tree, ns, code)
            missing = [v for v in wanted if v not in ns]
            if missing:
                print(f"jupyter-mlops: not logged, no such variable: {', '.join(missing)}")
            fluent.log_params({v: ns[v] for v in _csv(opts.params) if v in ns}, run=run)
            for v in _csv(opts.metrics):
                if v in ns:
                    fluent.log_metric(v, ns[v])
        except BaseException as exc:
            error = exc.original if isinstance(exc, UserCodeError) else exc
            raise
        finally:
            autolog.set_enabled(previous)
            recorder = cells.recorder_for(run)
            if recorder is not None:
                try:
                    recorder.record(raw, recorder.capture.count(), None, started,
                                    time.time(), error)
                except Exception as exc:  # recording must not leave the run open
                    recorder._fail(exc)
                if error is None and not cell.rstrip().endswith(";"):
                    try:
                        recorder.capture.result(value)
                    except Exception as exc:
                        recorder._capture_failed(exc)
            if error is None:
                fluent.end_run("finished", run=run)
            else:
                status = "killed" if isinstance(error, KeyboardInterrupt) else "failed"
                fluent.end_run(status, run=run, error=f"{type(error).__name__}: {error}")
        from IPython.display import display

        display(run)
        return value

    def _raw_cell(self, line: str, cell: str) -> str:
        """The cell as the user typed it, `%%track` line included (from IPython's history)."""
        history = getattr(getattr(self.shell, "history_manager", None), "input_hist_raw", None)
        if history and history[-1].lstrip().startswith("%%track") and history[-1].endswith(cell):
            return history[-1]
        return f"%%track {line}\n{cell}".replace("%%track \n", "%%track\n")

    def _execute(self, tree: ast.Module, ns: dict, source: str) -> Any:
        """Run the cell's statements in the user namespace; the last expression is returned
        (and so displayed, as in a normal cell). Errors are the user's and reach them as is."""
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        # IPython's compiler caches the source, so tracebacks show the cell's lines
        filename = self.shell.compile.cache(source, self.shell.execution_count)
        try:
            if tree.body:
                exec(compile(tree, filename, "exec"), ns)
            if last is not None:
                return eval(compile(ast.Expression(last.value), filename, "eval"), ns)
        except Exception as exc:
            raise UserCodeError(exc) from None
        return None

    # -- %track SUBCOMMAND -------------------------------------------------------------------
    def _start(self, rest: list[str]) -> Any:
        from ..tracking import fluent
        from ..values import parse_assignments

        p = _parser("start")
        p.add_argument("-n", "--name")
        p.add_argument("-e", "--experiment")
        p.add_argument("params", nargs="*")
        opts = p.parse_args(rest)
        params = parse_assignments(opts.params, "param")
        run = fluent.start_run(name=opts.name, experiment=opts.experiment, params=params)
        print(f"run {run.name} ({run.id}) started in experiment {run.experiment!r}")

    def _end(self, rest: list[str]) -> Any:
        from ..tracking import fluent

        p = _parser("end")
        p.add_argument("--status", default="finished", choices=["finished", "failed", "killed"])
        opts = p.parse_args(rest)
        run = fluent.end_run(opts.status)
        if run is None:
            raise MLOpsUsageError("no active run to end")
        from IPython.display import display

        display(run)

    def _status(self, rest: list[str]) -> Any:
        from ..tracking import fluent

        _parser("status").parse_args(rest)
        run = fluent.active_run()
        if run is None:
            print("no active run")
            return None
        from IPython.display import display

        display(run)

    def _param(self, rest: list[str]) -> None:
        from ..tracking import fluent
        from ..values import parse_assignments

        p = _parser("param")
        p.add_argument("pairs", nargs="+")
        fluent.log_params(parse_assignments(p.parse_args(rest).pairs, "param"))

    def _metric(self, rest: list[str]) -> None:
        from ..tracking import fluent
        from ..values import parse_assignments

        p = _parser("metric")
        p.add_argument("pairs", nargs="+")
        p.add_argument("--step", type=int)
        opts = p.parse_args(rest)
        fluent.log_metrics(parse_assignments(opts.pairs, "metric"), step=opts.step)

    def _tag(self, rest: list[str]) -> None:
        from ..tracking import fluent
        from ..values import parse_assignments

        p = _parser("tag")
        p.add_argument("pairs", nargs="+")
        values = parse_assignments(p.parse_args(rest).pairs, "tag")
        fluent.set_tags({k: v if isinstance(v, str) else repr(v) for k, v in values.items()})

    def _artifact(self, rest: list[str]) -> None:
        from ..tracking import fluent

        p = _parser("artifact")
        p.add_argument("target")
        p.add_argument("--name")
        opts = p.parse_args(rest)
        ns = self.shell.user_ns
        obj = ns[opts.target] if opts.target.isidentifier() and opts.target in ns else opts.target
        name = fluent.log_artifact(obj, name=opts.name)
        print(f"stored artifact {name!r} in run {fluent.active_run().id[:8]}")

    def _list(self, rest: list[str]) -> Any:
        from ..tracking.search import search_runs

        p = _parser("list")
        p.add_argument("-e", "--experiment")
        p.add_argument("--filter")
        p.add_argument("--order-by")
        p.add_argument("--limit", type=int, default=50)
        opts = p.parse_args(rest)
        return search_runs(experiment=opts.experiment, filter=opts.filter,
                           order_by=opts.order_by, limit=opts.limit)

    def _compare(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..tracking.compare import compare_runs

        p = _parser("compare")
        p.add_argument("runs", nargs="+")
        p.add_argument("--metric", action="append")
        opts = p.parse_args(rest)
        comparison = compare_runs(opts.runs, metric=opts.metric)
        display(comparison.figure())
        return comparison

    def _diff(self, rest: list[str]) -> Any:
        from ..repro.diff import diff_runs

        p = _parser("diff")
        p.add_argument("a")
        p.add_argument("b")
        opts = p.parse_args(rest)
        return diff_runs(opts.a, opts.b)

    def _autolog(self, rest: list[str]) -> None:
        from ..tracking import autolog

        p = _parser("autolog")
        p.add_argument("state", nargs="?", choices=["on", "off"])
        opts = p.parse_args(rest)
        if opts.state is not None:
            autolog.autolog(disable=opts.state == "off")
        print(f"scikit-learn autolog is {'on' if autolog.enabled() else 'off'}")

    def _reproduce(self, rest: list[str]) -> None:
        from IPython.display import display

        from ..repro.reproduce import reproduce_run

        p = _parser("reproduce")
        p.add_argument("run")
        p.add_argument("--env", default="current", choices=["current", "recorded"])
        p.add_argument("--tolerance", type=float, default=1e-9)
        opts = p.parse_args(rest)
        display(reproduce_run(opts.run, env=opts.env, tolerance=opts.tolerance))
