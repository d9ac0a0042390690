"""journal search index (SQLite: FTS5 trigram table and triggers; PostgreSQL: pg_trgm GIN)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from gateway.store.journal_search import SEARCH_DDL

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for stmt in SEARCH_DDL[op.get_bind().dialect.name]:
        op.execute(stmt)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("leads_fts_ai", "leads_fts_ad", "leads_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS leads_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_leads_search")
