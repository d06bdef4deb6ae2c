"""`%drift`: drift reports, monitoring batches, history and alert rules from cells."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from .. import refs
from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split, subcommand_parser

USAGE = {
    "": "usage: %drift REF CUR [--columns a,b] [--method METHOD] [--threshold X] "
        "[--executor ADDRESS]\n"
        "       %drift history|monitor|alert|alerts ... (%drift SUBCOMMAND --help)",
    "history": "usage: %drift history MODEL",
    "monitor": "usage: %drift monitor MODEL VAR|PATH [--predictions VAR|COL] [--actuals "
               "VAR|COL] [--timestamp TIME] [--method auto|evidently] [--executor ADDRESS]",
    "alert": "usage: %drift alert MODEL \"CONDITION\" [--pipeline NAME] [--webhook URL]",
    "alerts": "usage: %drift alerts [MODEL] [--rules]",
}

DOC = """Measure drift, monitor a model and set alerts from cells.

%drift REF CUR [--columns a,b] [--method METHOD] [--threshold X] [--executor ADDRESS]
    per-column drift of CUR against REF, each a DataFrame variable, a reference (a dataset
    version, wine@3, or a model, wine-clf@production: its training data's statistics,
    stored at registration) or a partitioned parquet dataset (data/, 'data/*.parquet',
    s3://bucket/prefix/: sketched a partition at a time, here or on the Dask cluster
    ADDRESS). METHOD: a preset, auto (default: an effect that matters and a test that
    rejects) or evidently (Evidently's defaults), or one method: wasserstein+ks,
    jensenshannon+chi2, wasserstein, ks, jensenshannon, chisquare, z, psi
%drift history MODEL                drift and performance of MODEL's batches over time
%drift monitor MODEL VAR|PATH [--predictions VAR|COL] [--actuals VAR|COL] [--timestamp TIME]
               [--method auto|evidently] [--executor ADDRESS]
    record the inputs in VAR (or the partitioned parquet dataset at PATH, whose predictions
    and actuals are columns COL) as a monitoring batch of MODEL (alerts are checked); the
    preset defaults to the one of MODEL's latest batch (auto for a model never monitored)
%drift alert MODEL "CONDITION" [--pipeline NAME] [--webhook URL]
    e.g. "drift_share > 0.3 or f1 < 0.8": a breach queues one run of NAME and posts to URL
%drift alerts [MODEL] [--rules]     alerts raised (or the rules)
"""


def _usage(sub: str) -> str:
    return USAGE.get(sub, USAGE[""])


def _parser(sub: str) -> MagicParser:
    return subcommand_parser("drift", USAGE, sub)


@magics_class
class DriftMagics(Magics):
    @line_magic
    @guarded(_usage)
    def drift(self, line: str = "", cell: str | None = None) -> Any:
        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        if args[0] in USAGE and args[0]:
            return getattr(self, f"_{args[0]}")(args[1:])
        return self._report(args)

    drift.__doc__ = DOC

    def _value(self, token: str) -> Any:
        """A variable of the notebook if one has that name, else the reference itself."""
        if token.isidentifier() and token in self.shell.user_ns:
            return self.shell.user_ns[token]
        return token

    def _variable(self, name: str, what: str) -> Any:
        if not name.isidentifier() or name not in self.shell.user_ns:
            raise MLOpsUsageError(f"no variable named {name!r} holds {what}")
        return self.shell.user_ns[name]

    def _report(self, args: list[str]) -> Any:
        from IPython.display import display

        from ..drift.report import drift_report

        p = _parser("")
        p.add_argument("reference")
        p.add_argument("current")
        p.add_argument("--columns")
        p.add_argument("--method", default="auto")
        p.add_argument("--threshold", type=float)
        p.add_argument("--executor")
        opts = p.parse_args(args)
        report = drift_report(self._value(opts.reference), self._value(opts.current),
                              columns=opts.columns, method=opts.method, threshold=opts.threshold,
                              executor=opts.executor)
        display(report.figure())
        return report

    def _history(self, rest: list[str]) -> Any:
        from IPython.display import display

        from ..drift.history import drift_history

        p = _parser("history")
        p.add_argument("model")
        history = drift_history(p.parse_args(rest).model)
        if history.rows:
            display(history.figure())
        return history

    def _monitor(self, rest: list[str]) -> Any:
        from ..drift.monitor import monitor

        p = _parser("monitor")
        p.add_argument("model")
        p.add_argument("var")
        p.add_argument("--predictions")
        p.add_argument("--actuals")
        p.add_argument("--timestamp")
        p.add_argument("--method")
        p.add_argument("--executor")
        opts = p.parse_args(rest)
        if refs.is_path(opts.var):  # a partitioned batch: predictions and actuals are columns
            batch, preds, truth = opts.var, opts.predictions, opts.actuals
        else:
            batch = self._variable(opts.var, "a DataFrame of model inputs")
            preds = self._variable(opts.predictions, "predictions") if opts.predictions else None
            truth = self._variable(opts.actuals, "actuals") if opts.actuals else None
        return monitor(opts.model, batch, predictions=preds, actuals=truth,
                       timestamp=opts.timestamp, method=opts.method, executor=opts.executor)

    def _alert(self, rest: list[str]) -> Any:
        from ..drift.alerts import add_alert

        p = _parser("alert")
        p.add_argument("model")
        p.add_argument("condition")
        p.add_argument("--pipeline")
        p.add_argument("--webhook")
        opts = p.parse_args(rest)
        rule = add_alert(opts.model, opts.condition, pipeline=opts.pipeline,
                         webhook=opts.webhook)
        then = f"; on a breach pipeline {rule.pipeline} runs" if rule.pipeline else ""
        print(f"alert rule {rule.id} on {rule.ref}: {rule.condition}{then}")
        return None

    def _alerts(self, rest: list[str]) -> Any:
        from ..drift.alerts import list_alerts

        p = _parser("alerts")
        p.add_argument("model", nargs="?")
        p.add_argument("--rules", action="store_true")
        opts = p.parse_args(rest)
        return list_alerts(opts.model, rules=opts.rules)
