"""Replies pulled from providers, the pull schedule per account, and appointment answers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("to", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(), nullable=True),
        sa.Column("pending", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["provider_account.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.PrimaryKeyConstraint("id"),
        # The key that stores each reply once, however often it is pulled.
        sa.UniqueConstraint("account_id", "provider_id", name="uq_reply_account_provider_id"),
    )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.create_index("ix_reply_sender_received", ["sender", "received_at"])
        batch_op.create_index(batch_op.f("ix_reply_received_at"), ["received_at"])
        batch_op.create_index(batch_op.f("ix_reply_handled_at"), ["handled_at"])
    op.create_table(
        "reply_pull",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("read_until", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["provider_account.id"]),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "appointment_answer",
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["appointment_id"], ["appointment.id"]),
        sa.ForeignKeyConstraint(["reply_id"], ["reply.id"]),
        sa.PrimaryKeyConstraint("appointment_id"),
    )


def downgrade() -> None:
    op.drop_table("appointment_answer")
    op.drop_table("reply_pull")
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_handled_at"))
        batch_op.drop_index(batch_op.f("ix_reply_received_at"))
        batch_op.drop_index("ix_reply_sender_received")
    op.drop_table("reply")
