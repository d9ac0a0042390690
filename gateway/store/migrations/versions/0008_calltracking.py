"""call tracking: pool numbers, visits, call verdicts, hourly pool figures

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ct_numbers",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("held_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("site", "number", name=op.f("pk_ct_numbers")),
    )
    op.create_index("ix_ct_numbers_free", "ct_numbers", ["site", "held_until"], unique=False)
    op.create_table(
        "ct_sessions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("visitor", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("held_until", TS, nullable=False),
        sa.Column("landing", sa.Text(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("utm", sa.JSON(), nullable=False),
        sa.Column("click_ids", sa.JSON(), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ct_sessions")),
    )
    op.create_index("ix_ct_sessions_number", "ct_sessions", ["site", "number", "started_at"], unique=False)
    op.create_index("ix_ct_sessions_visitor", "ct_sessions", ["site", "visitor", "held_until"], unique=False)
    op.create_index("ix_ct_sessions_started", "ct_sessions", ["started_at"], unique=False)
    op.create_table(
        "ct_matches",
        sa.Column("interaction_key", sa.String(255), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=True),
        sa.Column("called_at", TS, nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=True),
        sa.Column("visitor", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("interaction_key", name=op.f("pk_ct_matches")),
    )
    op.create_index("ix_ct_matches_visitor", "ct_matches", ["visitor"], unique=False)
    op.create_table(
        "ct_pool_hours",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("hour", TS, nullable=False),
        sa.Column("exhausted", sa.Integer(), nullable=False),
        sa.Column("bots", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site", "hour", name=op.f("pk_ct_pool_hours")),
    )


def downgrade() -> None:
    op.drop_table("ct_pool_hours")
    op.drop_index("ix_ct_matches_visitor", table_name="ct_matches")
    op.drop_table("ct_matches")
    for name in ("ix_ct_sessions_started", "ix_ct_sessions_visitor", "ix_ct_sessions_number"):
        op.drop_index(name, table_name="ct_sessions")
    op.drop_table("ct_sessions")
    op.drop_index("ix_ct_numbers_free", table_name="ct_numbers")
    op.drop_table("ct_numbers")
