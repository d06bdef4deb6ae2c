"""`jupyter mlops import mlflow SOURCE_URI`: copy an MLflow store into the store in force."""

from __future__ import annotations


def add(sub) -> None:
    p = sub.add_parser("import", help="copy another tool's store in (MLflow)")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True
    mlflow = cmds.add_parser(
        "mlflow", help="copy an MLflow store in: experiments, runs, artifacts, logged models, "
                       "registered models, versions and aliases (what is here already is skipped)")
    mlflow.add_argument("source", metavar="SOURCE_URI",
                        help="sqlite:///PATH/mlflow.db, a ./mlruns folder, postgresql://… or an "
                             "MLflow server's http(s)://HOST:PORT")
    mlflow.add_argument("--experiment", action="append", metavar="NAME",
                        help="copy only this experiment (repeat for more) and the model "
                             "versions made from its runs")
    mlflow.add_argument("--dry-run", action="store_true",
                        help="say what would be copied, write nothing")
    mlflow.add_argument("--format", choices=["table", "json"], default="table")
    mlflow.set_defaults(func=mlflow_)


def mlflow_(args) -> int:
    import json

    from ..mlflow.importer import import_mlflow

    summary = import_mlflow(args.source, experiments=args.experiment, dry_run=args.dry_run)
    print(json.dumps(summary.to_dict()) if args.format == "json" else summary)
    return 0
