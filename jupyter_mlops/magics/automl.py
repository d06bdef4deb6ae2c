"""`%automl X y`: a tracked model search from a cell, with a live leaderboard."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from ..errors import MLOpsUsageError
from .base import MagicParser, guarded, split

USAGE = ("usage: %automl X y [--task classification|regression] [--metric f1] [--budget 60] "
         "[--trials N] [--cv 5] [--seed 0] [--estimators A,B] [--register NAME] [--name NAME] "
         "[--resume] [--experiment NAME] [--executor dask://host:8786]")

DOC = """Search scikit-learn models and their hyperparameters (Optuna), every trial a run.

%automl X y [--task classification|regression] [--metric f1] [--budget 60] [--trials N]
            [--cv 5] [--seed 0] [--estimators linear,knn,...] [--register NAME]
            [--name NAME] [--resume] [--experiment NAME]
            [--executor dask://host:8786]
    X, y: variables (a DataFrame or array, and a Series, array or list); the task is
    inferred from y. The search is a run with one nested run per trial; the best pipeline is
    refit on all the data, logged, and registered with --register. A leaderboard shows while
    it runs (the best so far, trials done, time left), the figures at the end. The search
    stops after --budget seconds (60 by default) or --trials more trials. --resume continues
    the newest search called --name. --executor runs the trials on a Dask cluster's
    workers (default: the executor setting). Returns the result (.best_estimator, ...).
"""


@magics_class
class AutoMLMagics(Magics):
    @line_magic
    @guarded(lambda sub: USAGE)
    def automl(self, line: str = "", cell: str | None = None) -> Any:
        from IPython.display import HTML, display

        from ..automl.search import automl
        from ..cli.automl_cmd import add_search_options, search_kwargs

        args = split(line)
        if not args or args[0] in ("-h", "--help"):
            print(DOC)
            return None
        p = MagicParser(prog="%automl", usage=USAGE.removeprefix("usage: ").replace("%", "%%"))
        p.add_argument("X")
        p.add_argument("y")
        add_search_options(p)
        opts = p.parse_args(args)
        data = []
        for name in (opts.X, opts.y):
            if not name.isidentifier() or name not in self.shell.user_ns:
                raise MLOpsUsageError(f"no variable named {name!r}")
            data.append(self.shell.user_ns[name])
        board = display(HTML("<div><b>AutoML</b> · starting…</div>"), display_id=True)
        result = automl(*data, progress=False, callback=board.update, **search_kwargs(opts))
        board.update(result)
        display(result.figure("history"))
        display(result.figure("importances"))
        return result

    automl.__doc__ = DOC
