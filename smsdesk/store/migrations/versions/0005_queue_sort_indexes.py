"""Indexes for sorting the Queue by any column: (column, send_at, id) each, so a page sorted
by recipient, text, provider, state's place or segments is a keyset read at any depth; and
(send_at, id, state) for jumps within several states (the Queue's default scope).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The very expressions engine/browse.py sorts by: an expression index serves only its own.
# (Parenthesised below: PostgreSQL takes an expression in an index only in parentheses.)
TEXT_PREFIX = "substr(text, 1, 40)"
WHERE_RANK = (
    "CASE state WHEN 'scheduled' THEN 0 WHEN 'cancelling' THEN 1 WHEN 'rescheduling' THEN 2 "
    "WHEN 'withdrawing' THEN 3 WHEN 'handing_off' THEN 4 WHEN 'cancelled' THEN 5 "
    "WHEN 'expired' THEN 6 WHEN 'failed' THEN 7 WHEN 'draft' THEN 8 WHEN 'queued' THEN 9 "
    "WHEN 'delivered' THEN 10 WHEN 'sent' THEN 11 WHEN 'unknown' THEN 12 END"
)
INDEXES: tuple[tuple[str, list[str | sa.TextClause]], ...] = (
    ("ix_message_recipient_send_at_id", ["recipient", "send_at", "id"]),
    ("ix_message_text_send_at_id", [sa.text(f"({TEXT_PREFIX})"), "send_at", "id"]),
    ("ix_message_account_send_at_id", ["account_id", "send_at", "id"]),
    ("ix_message_where_send_at_id", [sa.text(f"({WHERE_RANK})"), "send_at", "id"]),
    ("ix_message_segments_send_at_id", ["segments", "send_at", "id"]),
    # The default "upcoming and needs attention" scope is several states in send-time
    # order: a jump (OFFSET) there walks this index alone, never the rows themselves.
    ("ix_message_send_at_id_state", ["send_at", "id", "state"]),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "message", columns, unique=False)


def downgrade() -> None:
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="message")
