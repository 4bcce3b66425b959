"""Alembic environment: smsdesk always hands in an open connection (see store/migrate.py)."""

from alembic import context
from sqlmodel import SQLModel

import smsdesk.store.models  # noqa: F401  (registers the tables for autogenerate)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite can only change tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
