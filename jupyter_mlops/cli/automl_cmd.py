"""`jupyter mlops automl DATASET@VERSION --target COL`: a tracked model search on a registered
dataset. The search options are defined here once, for this command and for `%automl`."""

from __future__ import annotations

import argparse
import json
from typing import Any

from . import add_format


def add_search_options(p: argparse.ArgumentParser) -> None:
    """The options of a search, shared by `%automl` and `jupyter mlops automl`."""
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    p.add_argument("--metric", help="accuracy (default), f1, roc_auc, log_loss, ...; "
                                    "r2 (default), rmse, mae, ... for a regression")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="stop after this long (default 60), or after --trials if sooner")
    p.add_argument("--trials", type=int, metavar="N", help="stop after N more trials")
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--estimators", metavar="A,B",
                   help="families: linear, knn, hist_gradient_boosting, random_forest, "
                        "extra_trees, svm (default all)")
    p.add_argument("--register", metavar="NAME", help="register the refit winner as NAME")
    p.add_argument("--name", default="automl", help="the search's name (its study)")
    p.add_argument("--resume", action="store_true", help="continue the newest search NAME")
    p.add_argument("--experiment", help="the experiment of the search's runs")
    p.add_argument("--executor", metavar="ADDRESS",
                   help="local, or a Dask scheduler (dask://host:8786) whose workers run the "
                        "trials (default: the executor setting, MLOPS_EXECUTOR)")


def search_kwargs(opts: argparse.Namespace) -> dict[str, Any]:
    """`automl` keyword arguments from parsed search options."""
    return {"task": opts.task, "metric": opts.metric, "time_budget": opts.budget,
            "n_trials": opts.trials, "cv": opts.cv, "seed": opts.seed,
            "estimators": opts.estimators, "register": opts.register, "name": opts.name,
            "resume": opts.resume, "experiment": opts.experiment, "executor": opts.executor}


def add(sub) -> None:
    p = sub.add_parser("automl", help="search models for a registered dataset (tracked)")
    p.add_argument("dataset", help="NAME@VERSION (or NAME@latest) of a table")
    p.add_argument("--target", required=True, help="the column to predict")
    add_search_options(p)
    add_format(p)
    p.set_defaults(func=automl_)


def automl_(args) -> int:
    from ..automl.search import automl

    result = automl(args.dataset, args.target, progress=args.format == "table",
                    **search_kwargs(args))
    if args.format == "table":
        print(result)
        board = result.leaderboard.drop(columns=["params", "run_id"]).head(20)
        print(board.to_string(index=False))
    else:
        print(json.dumps(result.to_dict(), default=str))
    return 0
