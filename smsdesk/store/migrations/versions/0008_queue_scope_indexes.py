"""The Queue's default scope ("upcoming and needs attention") as one index range per sort:
partial indexes over the upcoming states, each (sort key, send_at, id); the scope's other part,
what failed or expired this week, is a short range of (state, send_at, id). Drops the indexes
that others cover: send_at (by (send_at, id)), state (by (state, send_at, id) and (state,
due_at)) and 0005's (send_at, id, state), which these replace for the scope's jumps. (The
replies matcher's look-up by number is a seek of 0005's (recipient, send_at, id).)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Word for word what engine/browse.py puts in a scope query: a database uses a partial index
# only when the query repeats its condition (literal values; bound parameters would not match).
# "state || ''" because a plain "state IN (...)" would tempt SQLite, with no statistics, to read
# the scope through a state index and sort it.
UPCOMING = (
    "(state || '') IN ('cancelling', 'handing_off', 'queued', 'rescheduling', 'scheduled', "
    "'unknown', 'withdrawing')"
)
# The very expressions the Queue sorts by (as in 0005): an expression index serves only its own.
TEXT_PREFIX = "substr(text, 1, 40)"
WHERE_RANK = (
    "CASE state WHEN 'scheduled' THEN 0 WHEN 'cancelling' THEN 1 WHEN 'rescheduling' THEN 2 "
    "WHEN 'withdrawing' THEN 3 WHEN 'handing_off' THEN 4 WHEN 'cancelled' THEN 5 "
    "WHEN 'expired' THEN 6 WHEN 'failed' THEN 7 WHEN 'draft' THEN 8 WHEN 'queued' THEN 9 "
    "WHEN 'delivered' THEN 10 WHEN 'sent' THEN 11 WHEN 'unknown' THEN 12 END"
)
TAIL: list[str | sa.TextClause] = ["send_at", "id"]
SCOPE_INDEXES: tuple[tuple[str, list[str | sa.TextClause]], ...] = (
    ("ix_message_scope_send_at", list(TAIL)),
    ("ix_message_scope_recipient", ["recipient", *TAIL]),
    ("ix_message_scope_text", [sa.text(f"({TEXT_PREFIX})"), *TAIL]),
    ("ix_message_scope_account", ["account_id", *TAIL]),
    ("ix_message_scope_state", ["state", *TAIL]),
    ("ix_message_scope_where", [sa.text(f"({WHERE_RANK})"), *TAIL]),
    ("ix_message_scope_segments", ["segments", *TAIL]),
)
REDUNDANT: tuple[tuple[str, list[str]], ...] = (
    ("ix_message_send_at", ["send_at"]),
    ("ix_message_state", ["state"]),
    ("ix_message_send_at_id_state", ["send_at", "id", "state"]),
)


def upgrade() -> None:
    for name, _columns in REDUNDANT:
        op.drop_index(name, table_name="message")
    for name, columns in SCOPE_INDEXES:
        op.create_index(
            name,
            "message",
            columns,
            unique=False,
            sqlite_where=sa.text(UPCOMING),
            postgresql_where=sa.text(UPCOMING),
        )


def downgrade() -> None:
    for name, _columns in reversed(SCOPE_INDEXES):
        op.drop_index(name, table_name="message")
    for name, columns in REDUNDANT:
        op.create_index(name, "message", columns, unique=False)
