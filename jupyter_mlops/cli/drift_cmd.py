"""`jupyter mlops drift report|history|alerts|alert|unalert`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import add_executor, add_format, emit


def add(sub) -> None:
    p = sub.add_parser("drift", help="drift reports, monitoring history and alert rules")
    cmds = p.add_subparsers(dest="command", metavar="COMMAND")
    cmds.required = True

    report = cmds.add_parser("report", help="per-column drift of CUR against REF")
    report.add_argument("reference", help="DATASET@N, MODEL@ALIAS, a parquet/CSV file, or a "
                                          "partitioned parquet dataset (data/, 'data/*.parquet',"
                                          " s3://bucket/prefix/)")
    report.add_argument("current", help="DATASET@N, a parquet/CSV file, or a partitioned parquet "
                                        "dataset")
    report.add_argument("--columns", help="comma-separated columns (default: the reference's)")
    report.add_argument("--method", default="auto",
                        help="a preset, auto (default) or evidently, or one method: "
                             "wasserstein+ks, jensenshannon+chi2, wasserstein, ks, "
                             "jensenshannon, chisquare, z or psi")
    report.add_argument("--threshold", type=float, help="one threshold for every column")
    report.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report")
    report.add_argument("--format", choices=["table", "json", "csv"], default="table")
    report.add_argument("--fail-on-drift", action="store_true",
                        help="exit 1 when the dataset drifted (for CI checks)")
    add_executor(report)
    report.set_defaults(func=report_)

    history = cmds.add_parser("history", help="a model's monitoring batches over time")
    history.add_argument("model", help="NAME, or NAME@VERSION / NAME@ALIAS for one version")
    add_format(history)
    history.set_defaults(func=history_)

    alerts = cmds.add_parser("alerts", help="alerts raised (or --rules: the rules)")
    alerts.add_argument("model", nargs="?")
    alerts.add_argument("--rules", action="store_true")
    add_format(alerts)
    alerts.set_defaults(func=alerts_)

    alert = cmds.add_parser("alert", help="add an alert rule to a model")
    alert.add_argument("model", help="NAME or NAME@ALIAS")
    alert.add_argument("condition", help='e.g. "drift_share > 0.3 or f1 < 0.8"')
    alert.add_argument("--pipeline", help="pipeline to run when the rule is breached")
    alert.add_argument("--webhook", help="URL that receives each alert as a JSON POST")
    alert.set_defaults(func=alert_)

    unalert = cmds.add_parser("unalert", help="stop an alert rule (its alerts stay)")
    unalert.add_argument("rule_id", type=int)
    unalert.set_defaults(func=unalert_)


def _data(text: str) -> Any:
    """A CSV file as a DataFrame; a parquet file as a path (read a partition at a time, as a
    partitioned dataset is); anything else as given: a path (`refs.is_path`) or a reference,
    which the API tells apart."""
    path = Path(text)
    if path.suffix.lower() == ".csv" and path.is_file():
        import pandas as pd

        return pd.read_csv(path)
    if path.suffix.lower() in (".parquet", ".pq") and path.is_file():
        return path
    return text


def report_(args) -> int:
    from ..drift.report import drift_report

    report = drift_report(_data(args.reference), _data(args.current), columns=args.columns,
                          method=args.method, threshold=args.threshold, executor=args.executor)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        if args.format == "table":
            print(report.summary())
        emit(report.to_frame(), args.format)
    if args.html:
        print(f"wrote {report.save_html(args.html)}")
    return 1 if args.fail_on_drift and report.drifted else 0


def history_(args) -> int:
    from ..drift.history import drift_history

    emit(drift_history(args.model).to_frame(), args.format)
    return 0


def alerts_(args) -> int:
    from ..drift.alerts import list_alerts

    emit(list_alerts(args.model, rules=args.rules), args.format)
    return 0


def alert_(args) -> int:
    from ..drift.alerts import add_alert

    rule = add_alert(args.model, args.condition, pipeline=args.pipeline, webhook=args.webhook)
    print(f"alert rule {rule.id} on {rule.ref}: {rule.condition}")
    return 0


def unalert_(args) -> int:
    from ..drift.alerts import remove_alert

    remove_alert(args.rule_id)
    print(f"alert rule {args.rule_id} stopped")
    return 0
