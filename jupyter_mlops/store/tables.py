"""The metadata schema as SQLAlchemy Core tables: the current shape, which the Alembic
revisions in `migrations/versions/` build step by step (a test checks they agree).

Times are float seconds since the epoch (UTC), which sort and compare the same on SQLite
and PostgreSQL. Param values are JSON text, with a numeric and a text projection for filters.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# An auto-incrementing 64-bit key (SQLite only auto-increments INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Time = Float(precision=53)
Number = Float(precision=53)
RunId = String(32)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", Time, nullable=False),
    Column("lifecycle", String(16), nullable=False, server_default="active"),
    Column("created_by", String(255)),
    Column("tags", Text),  # JSON object (MLflow's experiment tags)
    Column("updated_at", Time),
)

runs = Table(
    "runs",
    metadata,
    Column("id", RunId, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_run_id", RunId, ForeignKey("runs.id")),
    Column("start_time", Time, nullable=False),
    Column("end_time", Time),
    Column("heartbeat", Time, nullable=False),
    Column("user", String(255)),
    Column("host", String(255)),
    Column("notebook", Text),
    Column("source_digest", String(64)),
    Column("git_commit", String(64)),
    Column("git_dirty", Boolean),
    Column("python_version", String(32)),
    Column("environment_digest", String(64)),
    Column("error", Text),
    Column("lifecycle", String(16), nullable=False, server_default="active"),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_parent", "parent_run_id"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Column("num", Number),
    Column("text", Text, nullable=False),
)

# Metric history: one row per (run, key, flush), the points packed (see series.py).
metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("count", Integer, nullable=False),
    Column("min_step", BigInteger, nullable=False),
    Column("max_step", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_metric_chunks_run_key", "run_id", "key"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Number),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Time, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(1000), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("created_at", Time, nullable=False),
    Index("ix_artifacts_digest", "digest"),
)

# What a run read (datasets, feature views, models) and wrote: later capabilities add rows.
run_links = Table(
    "run_links",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ref", String(500), nullable=False),
    Column("role", String(64)),
    Column("created_at", Time, nullable=False),
    Index("ix_run_links_run", "run_id"),
    Index("ix_run_links_ref", "kind", "ref"),
)

# The cells executed while a run was active, in order.
cells = Table(
    "cells",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("ordinal", Integer, primary_key=True),
    Column("execution_count", Integer),
    Column("cell_id", String(64)),
    Column("notebook_index", Integer),
    Column("source_digest", String(64), nullable=False),
    Column("started", Time, nullable=False),
    Column("ended", Time),
    Column("success", Boolean),
    Column("error", Text),
)

# Deduplicated texts named by their blake3 digest: cell sources, environments.
texts = Table(
    "texts",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("text", Text, nullable=False),
)

# Every blob in the artifact store; gc deletes a blob only together with its row, so a
# concurrent writer that touches the row either keeps the blob or writes it again.
blobs = Table(
    "blobs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("touched_at", Time, nullable=False),
)

# One row per write transaction: "what changed since N" for the live sidebar.
changes = Table(
    "changes",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("key", String(300), nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", Time, nullable=False),
)

# Named datasets and their versions: a content digest over the whole data, what is stored
# (a parquet or file blob, or a folder whose files are listed in dataset_files), schema, profile.
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Time, nullable=False),
    Column("created_by", String(255)),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("format", String(16), nullable=False),
    Column("blob_digest", String(64)),
    Column("source_path", Text),
    Column("copied", Boolean, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("rows", BigInteger),
    Column("schema", Text, nullable=False),
    Column("profile", Text, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("created_by", String(255)),
    UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_version"),
    Index("ix_dataset_versions_digest", "dataset_id", "digest"),
)

dataset_files = Table(
    "dataset_files",
    metadata,
    Column("version_id", BigId, ForeignKey("dataset_versions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index("ix_dataset_files_digest", "digest"),
)

# Registered models and their numbered versions: the saved model is one blob (`digest`, the
# content hash checked on every load), written by a flavor (skops, joblib, a plug-in).
models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", Time, nullable=False),
    Column("created_by", String(255)),
    Column("tags", Text),  # JSON object (MLflow's registered model tags)
    Column("updated_at", Time),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("signature", Text),
    Column("untrusted_types", Text, nullable=False),  # what the saver saw: information only
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("training_data", String(500)),
    Column("description", Text),
    Column("created_by", String(255)),
    Column("created_at", Time, nullable=False),
    Column("tags", Text),  # JSON object (MLflow's model version tags)
    Column("source", Text),  # where MLflow's client said the model came from
    Column("logged_model_id", String(64)),  # MLflow 3's logged model it registers
    Column("run_link", Text),
    Column("updated_at", Time),
    UniqueConstraint("model_id", "version", name="uq_model_versions_version"),
    Index("ix_model_versions_run", "run_id"),
)

# Where each alias points now, and every move ever made (the audit record).
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Time, nullable=False),
)

alias_events = Table(
    "alias_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("actor", String(255), nullable=False),
    Column("at", Time, nullable=False),
    Column("comment", Text),  # the mover's comment (for a promotion: the request's)
    Column("gate", Text),
    Column("request_id", BigInteger),  # for a protected alias: the approved request
    Column("requested_by", String(255)),
    Column("decision_comment", Text),  # the approver's comment
    Column("gate_values", Text),  # what the gate compared when the alias moved (JSON)
    Index("ix_alias_events_model", "model_id", "alias"),
)

# Team mode: an alias's policy (a protected alias moves only by an approved request), and the
# requests, each with the gate's values when it was opened and when it was decided.
alias_policies = Table(
    "alias_policies",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("protected", Boolean, nullable=False),
    Column("gate", Text),
    Column("two_person", Boolean, nullable=False),
    Column("updated_by", String(255)),
    Column("updated_at", Time, nullable=False),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # open, approved, rejected
    Column("comment", Text),
    Column("gate", Text),
    Column("gate_values", Text),
    Column("requested_by", String(255)),
    Column("requested_at", Time, nullable=False),
    Column("decided_by", String(255)),
    Column("decided_at", Time),
    Column("decision_comment", Text),
    Column("decision_gate_values", Text),
    Index("ix_promotion_requests_model", "model_id", "state"),
)

# What happened in the registry, written by database triggers (never by a client), and where
# each kind of event is delivered (a webhook, a pipeline to start), once per event and hook.
registry_events = Table(
    "registry_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # registered, requested, approved, rejected, alias_moved
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer),
    Column("alias", String(64)),
    Column("request_id", BigInteger),
    Column("actor", String(255)),
    Column("at", Time, nullable=False),
    Index("ix_registry_events_model", "model_id", "id"),
)

event_hooks = Table(
    "event_hooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id")),  # null: every model
    Column("kinds", Text, nullable=False),  # JSON list of event kinds
    Column("webhook", Text),
    Column("pipeline", String(255)),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(255)),
    Column("created_at", Time, nullable=False),
)

event_deliveries = Table(
    "event_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, ForeignKey("registry_events.id"), nullable=False),
    Column("hook_id", Integer, ForeignKey("event_hooks.id"), nullable=False),
    Column("webhook_status", String(255)),
    Column("pipeline_run_id", RunId),
    Column("delivered_by", String(255)),
    Column("delivered_at", Time, nullable=False),
    UniqueConstraint("event_id", "hook_id", name="uq_event_deliveries_once"),
)

# Samples of what a model saw in production and what it answered (the scoring server writes
# them; drift monitoring reads them): one parquet blob per batch.
monitoring_batches = Table(
    "monitoring_batches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", String(32), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("blob_digest", String(64), nullable=False),
    Column("first_at", Time, nullable=False),
    Column("last_at", Time, nullable=False),
    Column("created_at", Time, nullable=False),
    Index("ix_monitoring_batches_model", "model_id", "last_at"),
)

# Pipeline runs and their step runs (one row per attempt), and the schedules the scheduler
# keeps (the cron itself lives in the pipeline's YAML; this is when it fired and fires next).
pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", RunId, primary_key=True),
    Column("pipeline", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("spec", Text, nullable=False),
    Column("resumed_from", RunId),
    Column("started_at", Time, nullable=False),
    Column("ended_at", Time),
    Column("heartbeat", Time, nullable=False),
    Column("error", Text),
    Column("started_by", String(255)),
    Index("ix_pipeline_runs_pipeline", "pipeline", "started_at"),
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("id", RunId, primary_key=True),
    Column("pipeline_run_id", RunId, ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
           nullable=False),
    Column("step", String(255), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("params", Text, nullable=False),
    Column("started_at", Time, nullable=False),
    Column("ended_at", Time),
    Column("notebook_digest", String(64)),
    Column("error", Text),
    Column("failed_cell", Integer),
    Column("output", Text),
    Index("ix_step_runs_pipeline_run", "pipeline_run_id"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("pipeline", String(255), primary_key=True),
    Column("cron", String(255), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("last_fire", Time),
    Column("next_fire", Time),
    Column("updated_at", Time, nullable=False),
    Column("updated_by", String(255)),
)

# Drift: the sketches a reference is summarized into (a dataset version's, or a model
# version's training data and predictions), the monitoring results per batch, the alert
# rules on a model, and each alert a batch raised (with the pipeline run it queued).
drift_references = Table(
    "drift_references",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("blob_digest", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("columns", Integer, nullable=False),
    Column("created_at", Time, nullable=False),
    UniqueConstraint("kind", "name", "version", name="uq_drift_references_owner"),
)

drift_batches = Table(
    "drift_batches",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", String(16), nullable=False),
    Column("at", Time, nullable=False),
    Column("window_start", Time),
    Column("window_end", Time),
    Column("rows", BigInteger, nullable=False),
    Column("columns", Integer, nullable=False),
    Column("drifted_columns", Integer, nullable=False),
    Column("drift_share", Number, nullable=False),
    Column("drifted", Boolean, nullable=False),
    Column("prediction_drift", Number),
    Column("prediction_drifted", Boolean),
    Column("metrics", Text, nullable=False),
    Column("report_digest", String(64), nullable=False),
    Column("method", String(32), nullable=False),  # the drift method preset it was computed with
    Column("created_at", Time, nullable=False),
    Index("ix_drift_batches_model", "model_id", "at"),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("ref", String(300), nullable=False),
    Column("condition", Text, nullable=False),
    Column("pipeline", String(255)),
    Column("webhook", Text),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(255)),
    Column("created_at", Time, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("rule_id", Integer, ForeignKey("alert_rules.id"), nullable=False),
    Column("batch_id", BigId, ForeignKey("drift_batches.id"), nullable=False),
    Column("observed", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("pipeline_run_id", RunId),
    Column("webhook_status", String(255)),
    Column("created_at", Time, nullable=False),
    UniqueConstraint("rule_id", "batch_id", name="uq_alerts_rule_batch"),
    Index("ix_alerts_batch", "batch_id"),
)

# Feature views: each definition (source, entities, timestamp, ttl, schema) a numbered
# version, and each materialization of a version (parquet in the artifact store).
feature_views = Table(
    "feature_views",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", Text, nullable=False),
    Column("function", String(255)),
    Column("entities", Text, nullable=False),
    Column("timestamp", String(255), nullable=False),
    Column("ttl", Number),
    Column("features", Text, nullable=False),
    Column("description", Text),
    Column("tags", Text, nullable=False),
    Column("created_by", String(255)),
    Column("created_at", Time, nullable=False),
    Column("partitions", Text),  # the partitioned parquet a view reads a partition at a time
    UniqueConstraint("name", "version", name="uq_feature_views_version"),
)

feature_materializations = Table(
    "feature_materializations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("view_id", Integer, ForeignKey("feature_views.id"), nullable=False),
    Column("blob_digest", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("start", Time),
    Column("end", Time),
    Column("profile", Text, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("created_at", Time, nullable=False),
    Column("first_event", Time),  # the oldest and newest event time materialized
    Column("last_event", Time),
    Column("online_keys", BigInteger),  # keys written to the online store, when online
    Column("created_by", String(255)),
    Index("ix_feature_materializations_view", "view_id", "created_at"),
)

# Reproductions of runs: one row per attempt to replay a run's notebook snapshot (see
# repro/), followed through its phases by the process that replays it, then its verdict.
reproductions = Table(
    "reproductions",
    metadata,
    Column("id", RunId, primary_key=True),
    Column("original_run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("env", String(16), nullable=False),
    Column("tolerance", Number, nullable=False),
    Column("state", String(16), nullable=False),
    Column("phase", String(32), nullable=False),
    Column("progress", Number),
    Column("message", Text),
    Column("result", Text),
    Column("started_at", Time, nullable=False),
    Column("ended_at", Time),
    Column("heartbeat", Time, nullable=False),
    Column("started_by", String(255)),
    Index("ix_reproductions_original", "original_run_id", "started_at"),
)

# MLflow's side of a run and a model (see jupyter_mlops/mlflow/): the datasets a run read as
# MLflow describes them (name, digest, source, the input's context and tags), and MLflow 3's
# logged models (params, tags and metrics as JSON) with the artifacts logged under them.
run_datasets = Table(
    "run_datasets",
    metadata,
    Column("run_id", RunId, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(500), primary_key=True),
    Column("digest", String(64), primary_key=True),
    Column("context", String(500)),
    Column("source_type", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text),
    Column("profile", Text),
    Column("tags", Text, nullable=False),
    Column("created_at", Time, nullable=False),
)

logged_models = Table(
    "logged_models",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("source_run_id", RunId, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),
    Column("model_type", String(500)),
    Column("params", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("lifecycle", String(16), nullable=False, server_default="active"),
    Column("created_at", Time, nullable=False),
    Column("updated_at", Time, nullable=False),
    Column("created_by", String(255)),
    Index("ix_logged_models_experiment", "experiment_id", "created_at"),
    Index("ix_logged_models_run", "source_run_id"),
)

logged_model_artifacts = Table(
    "logged_model_artifacts",
    metadata,
    Column("model_id", String(64), ForeignKey("logged_models.id", ondelete="CASCADE"),
           primary_key=True),
    Column("name", String(1000), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Time, nullable=False),
    Index("ix_logged_model_artifacts_digest", "digest"),
)

# (table, digest column) pairs that keep a blob alive; later capabilities add theirs.
BLOB_REFERENCES: list[tuple[Table, str]] = [
    (artifacts, "digest"), (dataset_versions, "blob_digest"), (dataset_files, "digest"),
    (model_versions, "digest"), (monitoring_batches, "blob_digest"),
    (step_runs, "notebook_digest"), (drift_references, "blob_digest"),
    (drift_batches, "report_digest"), (feature_materializations, "blob_digest"),
    (logged_model_artifacts, "digest"),
]
