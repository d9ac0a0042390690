"""Alembic environment: the connection is handed in by gateway.store.bootstrap.migrate()."""

from __future__ import annotations

from alembic import context

from gateway.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through gateway.store.bootstrap
    raise RuntimeError("run migrations with `gateway migrate`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
