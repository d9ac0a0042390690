"""The migrations and the schema module describe the same database, and upgrades keep what is stored."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from gateway.store.bootstrap import alembic_config, migrate
from gateway.store.db import make_engine
from gateway.store.schema import metadata

# The search index is made by hand-written DDL (FTS5 / pg_trgm), not by the schema module.
_HAND_MADE = {"leads_fts", "leads_fts_config", "leads_fts_content", "leads_fts_data", "leads_fts_docsize",
              "leads_fts_idx", "ix_leads_search"}


def _differences(diff: list) -> list:
    out = []
    for d in diff:
        item = d[0] if isinstance(d, list) else d
        names = {getattr(x, "name", None) for x in item[1:] if hasattr(x, "name")}
        if names & _HAND_MADE:
            continue
        out.append(d)
    return out


def test_the_migrated_database_matches_the_schema_module(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
        assert _differences(diff) == []
    finally:
        engine.dispose()


def test_webhook_deliveries_survive_the_outbox_becoming_general(database_url: str) -> None:
    engine = make_engine(database_url)
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
            conn.execute(text(
                "INSERT INTO outbox (id, subscription, event_type, payload, status, attempts, next_attempt_at, "
                "created_at) VALUES ('msg_0001', 'https://crm.example/hook', 'lead.created', '{\"id\": 1}', "
                "'dead', 8, :now, :now)"), {"now": now})
        migrate(engine)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT kind, target, key, status, attempts FROM outbox")).one()
        assert tuple(row) == ("webhook", "https://crm.example/hook", None, "dead", 8)
    finally:
        engine.dispose()
