"""Migration 0008 on SQLite and PostgreSQL: the Queue's scope indexes in, the redundant ones
out, and back down to 0007 and up again with the messages kept."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import text

from smsdesk.core.clock import ManualClock
from smsdesk.engine.browse import Browser, QueueFilter
from smsdesk.engine.context import AppContext
from smsdesk.engine.service import Service
from smsdesk.store.migrate import alembic_config

SCOPE = {
    "ix_message_scope_send_at",
    "ix_message_scope_recipient",
    "ix_message_scope_text",
    "ix_message_scope_account",
    "ix_message_scope_state",
    "ix_message_scope_where",
    "ix_message_scope_segments",
}
REDUNDANT = {"ix_message_send_at", "ix_message_state", "ix_message_send_at_id_state"}


def _indexes(ctx: AppContext) -> set[str]:
    # From the catalogues: SQLAlchemy's reflection skips expression indexes.
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message'"
        if ctx.db.engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'message'"
    )
    with ctx.db.engine.connect() as conn:
        return {str(row[0]) for row in conn.execute(text(sql))}


def _to(ctx: AppContext, revision: str, *, down: bool) -> None:
    cfg = alembic_config()
    with ctx.db._write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_0008_down_and_up_again(db_ctx: AppContext, clock: ManualClock) -> None:
    service = Service(db_ctx)
    for i in range(5):
        service.schedule(
            [f"+1555123{i:04d}"], f"Reminder {i}", clock.now() + timedelta(hours=1 + i), "UTC"
        )
    scope = QueueFilter(attention_since=clock.now() - timedelta(days=7))
    found = _indexes(db_ctx)
    assert found >= SCOPE and not found & REDUNDANT
    _to(db_ctx, "0007", down=True)
    found = _indexes(db_ctx)
    assert found >= REDUNDANT and not found & SCOPE
    _to(db_ctx, "head", down=False)
    assert _indexes(db_ctx) >= SCOPE
    assert [m.text for m in Browser(db_ctx).page(scope)] == [f"Reminder {i}" for i in range(5)]
