"""Team mode's schema: who made what (the columns an actor was missing), alias policies,
promotion requests, and registry events with the hooks they are delivered to.

Registry events are written by the database itself, by triggers on the rows they describe (a
version registered, a request opened or decided, an alias moved), so that no client can add
or leave one out. On PostgreSQL `jupyter mlops team init` makes the trigger function a definer
function and sets every actor column from `session_user`; on SQLite and on a store never
`team init`-ed the actor is what the library wrote, as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Time = sa.Float(precision=53)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTOR_COLUMNS = [("experiments", "created_by"), ("datasets", "created_by"),
                 ("dataset_versions", "created_by"), ("models", "created_by"),
                 ("feature_materializations", "created_by"), ("schedules", "updated_by"),
                 ("pipeline_runs", "started_by")]

# (trigger, table, when, the event's kind, model, version, alias, request, actor, time)
EVENTS = [
    ("mlops_event_registered", "model_versions", "AFTER INSERT", "'registered'",
     "NEW.model_id", "NEW.version", "NULL", "NULL", "NEW.created_by", "NEW.created_at"),
    ("mlops_event_requested", "promotion_requests", "AFTER INSERT", "'requested'",
     "NEW.model_id", "NEW.version", "NEW.alias", "NEW.id", "NEW.requested_by",
     "NEW.requested_at"),
    ("mlops_event_decided", "promotion_requests", "AFTER UPDATE", "NEW.state",
     "NEW.model_id", "NEW.version", "NEW.alias", "NEW.id", "NEW.decided_by", "NEW.decided_at"),
    ("mlops_event_moved", "alias_events", "AFTER INSERT", "'alias_moved'",
     "NEW.model_id", "NEW.to_version", "NEW.alias", "NEW.request_id", "NEW.actor", "NEW.at"),
]
DECIDED = "OLD.state = 'open' AND NEW.state IN ('approved', 'rejected')"


def upgrade() -> None:
    for table, column in ACTOR_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(column, sa.String(255)))
    op.create_table(
        "alias_policies",
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), primary_key=True),
        sa.Column("alias", sa.String(64), primary_key=True),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("gate", sa.Text),
        sa.Column("two_person", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.String(255)),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "promotion_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("gate", sa.Text),
        sa.Column("gate_values", sa.Text),
        sa.Column("requested_by", sa.String(255)),
        sa.Column("requested_at", Time, nullable=False),
        sa.Column("decided_by", sa.String(255)),
        sa.Column("decided_at", Time),
        sa.Column("decision_comment", sa.Text),
        sa.Column("decision_gate_values", sa.Text),
        sa.Index("ix_promotion_requests_model", "model_id", "state"),
    )
    with op.batch_alter_table("alias_events") as batch:
        batch.add_column(sa.Column("request_id", sa.BigInteger))
        batch.add_column(sa.Column("requested_by", sa.String(255)))
        batch.add_column(sa.Column("decision_comment", sa.Text))
        batch.add_column(sa.Column("gate_values", sa.Text))
    op.create_table(
        "registry_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id"), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", sa.String(64)),
        sa.Column("request_id", sa.BigInteger),
        sa.Column("actor", sa.String(255)),
        sa.Column("at", Time, nullable=False),
        sa.Index("ix_registry_events_model", "model_id", "id"),
    )
    op.create_table(
        "event_hooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id")),
        sa.Column("kinds", sa.Text, nullable=False),
        sa.Column("webhook", sa.Text),
        sa.Column("pipeline", sa.String(255)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(255)),
        sa.Column("created_at", Time, nullable=False),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("registry_events.id"), nullable=False),
        sa.Column("hook_id", sa.Integer, sa.ForeignKey("event_hooks.id"), nullable=False),
        sa.Column("webhook_status", sa.String(255)),
        sa.Column("pipeline_run_id", sa.String(32)),
        sa.Column("delivered_by", sa.String(255)),
        sa.Column("delivered_at", Time, nullable=False),
        sa.UniqueConstraint("event_id", "hook_id", name="uq_event_deliveries_once"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_events()
    else:
        _sqlite_events()


def _values(kind, model, version, alias, request, actor, at) -> str:
    return (f"INSERT INTO registry_events (kind, model_id, version, alias, request_id, actor, at) "
            f"VALUES ({kind}, {model}, {version}, {alias}, {request}, {actor}, {at});")


def _sqlite_events() -> None:
    for name, table, when, *values in EVENTS:
        condition = f" WHEN {DECIDED}" if name == "mlops_event_decided" else ""
        op.execute(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW{condition} "
                   f"BEGIN {_values(*values)} END")


def _postgres_events() -> None:
    branches = "\n".join(
        f"  {'IF' if i == 0 else 'ELSIF'} TG_NAME = '{name}' THEN {_values(*values)}"
        for i, (name, _table, _when, *values) in enumerate(EVENTS))
    op.execute(f"""CREATE FUNCTION mlops_registry_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
{branches}
  END IF;
  RETURN NULL;
END $$""")
    for name, table, when, *_ in EVENTS:
        condition = f" WHEN ({DECIDED})" if name == "mlops_event_decided" else ""
        op.execute(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW{condition} "
                   f"EXECUTE FUNCTION mlops_registry_event()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table, *_rest in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS mlops_registry_event()")
    else:
        for name, *_rest in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in ("event_deliveries", "event_hooks", "registry_events"):
        op.drop_table(table)
    # plain DROP COLUMN (SQLite >= 3.35 has it): batch mode would copy these tables, which
    # other tables reference, and SQLite refuses to drop a referenced table's old copy
    for column in ("gate_values", "decision_comment", "requested_by", "request_id"):
        op.drop_column("alias_events", column)
    op.drop_table("promotion_requests")
    op.drop_table("alias_policies")
    for table, column in reversed(ACTOR_COLUMNS):
        op.drop_column(table, column)
