"""Recurring series and their occurrences.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("numbers_json", sa.String(), nullable=False),
        sa.Column("group_name", sa.String(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("starts_local", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("until_date", sa.String(), nullable=True),
        sa.Column("exceptions_json", sa.String(), nullable=False),
        sa.Column("holidays", sa.String(), nullable=True),
        sa.Column("month_end", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("filled_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["provider_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_state"), ["state"], unique=False)
    op.create_table(
        "series_occurrence",
        sa.Column("series_id", sa.String(), nullable=False),
        sa.Column("nominal", sa.String(), nullable=False),
        sa.Column("send_at", sa.DateTime(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"]),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"]),
        # The key that makes each occurrence stored once, whoever fills it.
        sa.PrimaryKeyConstraint("series_id", "nominal"),
    )
    with op.batch_alter_table("series_occurrence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_series_occurrence_batch_id"), ["batch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("series_occurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_occurrence_batch_id"))
    op.drop_table("series_occurrence")
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_state"))
    op.drop_table("series")
