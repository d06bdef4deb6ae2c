"""The roles of a team store and what each may do, table by table.

Everyone in a role reads every table. Writes, per table and role, are one of:
- `own COLUMN`: insert; update and delete the rows whose actor COLUMN is the session user;
- `child PARENT.COLUMN`: all, on rows whose parent row (PARENT by COLUMN) the session user owns;
- `insert`: insert only (shared content, audit records, results);
- `touch COLUMN`: insert, and update COLUMN only, on any row (a blob reused refreshes its
  `touched_at`, keeping gc away from it; an alert records its webhook's answer);
- `record COLUMN`: insert, and fill COLUMN once in the rows it inserted (its actor column is
  the session user and COLUMN still null): a result known only later (a webhook's answer);
- `write`: insert, update and delete any row;
- `all`: `write`, and what no other role may do (deleting, gc);
- nothing (absent): read only.
Protected aliases hold every role but the approval function (restrictive policies, see
`setup.py`); promotion requests are decided only through that function.
"""

from __future__ import annotations

VIEWER, CONTRIBUTOR, MAINTAINER = "mlops_viewer", "mlops_contributor", "mlops_maintainer"
SERVICE = "mlops_service"  # the long-running processes: scheduler, serve, monitor
ADMIN = "mlops_admin"  # owns the definer functions; never granted to a person
ROLES = {"viewer": VIEWER, "contributor": CONTRIBUTOR, "maintainer": MAINTAINER,
         "service": SERVICE}
# each group role is a member of the one before it, so it has its rights too
MEMBERSHIPS = [(VIEWER, CONTRIBUTOR), (CONTRIBUTOR, MAINTAINER), (VIEWER, SERVICE)]

# table -> {role: what it may write}; the maintainer's default is `all`
MATRIX: dict[str, dict[str, str]] = {
    "experiments": {CONTRIBUTOR: "own created_by"},
    "runs": {CONTRIBUTOR: 'own "user"'},
    "params": {CONTRIBUTOR: "child runs.run_id"},
    "metric_chunks": {CONTRIBUTOR: "child runs.run_id"},
    "latest_metrics": {CONTRIBUTOR: "child runs.run_id"},
    "tags": {CONTRIBUTOR: "child runs.run_id"},
    "artifacts": {CONTRIBUTOR: "child runs.run_id"},
    "run_links": {CONTRIBUTOR: "child runs.run_id"},
    "cells": {CONTRIBUTOR: "child runs.run_id"},
    "texts": {CONTRIBUTOR: "insert", SERVICE: "insert"},
    "blobs": {CONTRIBUTOR: "touch touched_at", SERVICE: "touch touched_at"},
    "changes": {CONTRIBUTOR: "insert", SERVICE: "insert"},
    "datasets": {CONTRIBUTOR: "own created_by"},
    "dataset_versions": {CONTRIBUTOR: "own created_by"},
    "dataset_files": {CONTRIBUTOR: "child dataset_versions.version_id"},
    "models": {CONTRIBUTOR: "own created_by"},
    "model_versions": {CONTRIBUTOR: "own created_by"},
    "model_aliases": {CONTRIBUTOR: "write"},
    "alias_events": {CONTRIBUTOR: "insert", MAINTAINER: "insert"},
    "alias_policies": {},
    "promotion_requests": {CONTRIBUTOR: "insert", MAINTAINER: "insert"},
    "registry_events": {MAINTAINER: ""},
    "event_hooks": {},
    "event_deliveries": {CONTRIBUTOR: "record webhook_status", SERVICE: "record webhook_status",
                         MAINTAINER: "record webhook_status"},
    "monitoring_batches": {CONTRIBUTOR: "insert", SERVICE: "insert"},
    "pipeline_runs": {CONTRIBUTOR: "own started_by", SERVICE: "write"},
    "step_runs": {CONTRIBUTOR: "child pipeline_runs.pipeline_run_id", SERVICE: "write"},
    "schedules": {SERVICE: "write"},
    "drift_references": {CONTRIBUTOR: "insert", SERVICE: "insert"},
    "drift_batches": {CONTRIBUTOR: "insert", SERVICE: "insert"},
    "alert_rules": {},
    # a contributor's monitoring batch that breaches a rule records the webhook's answer
    "alerts": {CONTRIBUTOR: "touch webhook_status", SERVICE: "write"},
    "feature_views": {CONTRIBUTOR: "own created_by"},
    "feature_materializations": {CONTRIBUTOR: "own created_by"},
    "reproductions": {CONTRIBUTOR: "own started_by"},
    "run_datasets": {CONTRIBUTOR: "child runs.run_id"},
    "logged_models": {CONTRIBUTOR: "own created_by"},
    "logged_model_artifacts": {CONTRIBUTOR: "child logged_models.model_id"},
    "mlops_alembic_version": {MAINTAINER: ""},
}

# tables whose actor column the database writes: (column, when: insert, or every write)
ACTORS: dict[str, tuple[str, str]] = {
    "experiments": ("created_by", "insert"), "runs": ('"user"', "insert"),
    "datasets": ("created_by", "insert"), "dataset_versions": ("created_by", "insert"),
    "models": ("created_by", "insert"), "model_versions": ("created_by", "insert"),
    "alias_events": ("actor", "insert"), "alias_policies": ("updated_by", "always"),
    "promotion_requests": ("requested_by", "insert"), "event_hooks": ("created_by", "insert"),
    "event_deliveries": ("delivered_by", "insert"), "alert_rules": ("created_by", "insert"),
    "schedules": ("updated_by", "always"), "pipeline_runs": ("started_by", "insert"),
    "feature_views": ("created_by", "insert"),
    "feature_materializations": ("created_by", "insert"),
    "reproductions": ("started_by", "insert"),
    "logged_models": ("created_by", "insert"),
}


def writes(table: str, role: str) -> str:
    """What `role` may write in `table` (see the module docstring): '' for nothing."""
    rights = MATRIX[table]
    if role == MAINTAINER:
        return rights.get(MAINTAINER, "all")
    if role == VIEWER:
        return ""
    return rights.get(role, "")


def may(table: str, role: str, operation: str) -> bool:
    """Whether `role` may `operation` (insert, update, delete) some rows of `table`."""
    kind = writes(table, role).split(" ")[0]
    if operation == "insert":
        return bool(kind)
    if operation == "update":
        return kind in ("touch", "record", "own", "child", "write", "all")
    return kind in ("own", "child", "write", "all")


def needed(table: str, operation: str) -> str:
    """The least of the team roles that may `operation` (insert, update, delete) rows of
    `table` at all, and the service role when it may too: for error messages."""
    names = {CONTRIBUTOR: "contributor", MAINTAINER: "maintainer", SERVICE: "service"}
    person = next((names[r] for r in (CONTRIBUTOR, MAINTAINER) if may(table, r, operation)),
                  None)
    if person is None:
        return "none of the roles (the database writes it itself)"
    if person == "maintainer" and may(table, SERVICE, operation):
        return "maintainer (or service, the long-running processes' role)"
    return person
