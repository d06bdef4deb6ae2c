"""A model version's `trusted_types` become `untrusted_types`: information only. The column
held the types outside skops's defaults that the saver found in the file, and loading used to
trust them; but a row of a shared store is written by whoever can write to it, so a loader now
trusts skops's defaults plus the project's own `trusted_types` setting, never the row. The
values are kept, renamed to say what they are (what the saver saw).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column("trusted_types", new_column_name="untrusted_types")


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.alter_column("untrusted_types", new_column_name="trusted_types")
