"""deals that move (a version per deal), tasks, companies found by name and INN, round-robin counters

Revision ID: 0006
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.drop_index("ix_deals_stage")
        batch.create_index("ix_deals_stage", ["stage_id", "id"], unique=False)
    with op.batch_alter_table("companies", schema=None) as batch:
        batch.add_column(sa.Column("name_key", sa.String(512), nullable=True))
        batch.add_column(sa.Column("inn", sa.String(12), nullable=True))
        batch.create_index("ix_companies_name_key", ["name_key"], unique=False)
    op.create_index("uq_companies_inn", "companies", ["inn"], unique=True,
                    sqlite_where=sa.text("inn IS NOT NULL"), postgresql_where=sa.text("inn IS NOT NULL"))
    with op.batch_alter_table("leads", schema=None) as batch:
        batch.add_column(sa.Column("inn", sa.String(12), nullable=True))
    op.create_index("ix_audit_deal", "audit_log", ["deal_id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("responsible_id", Id, sa.ForeignKey("users.id", name="fk_tasks_responsible_id_users"),
                  nullable=True),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("deal_id", Id, sa.ForeignKey("deals.id", name="fk_tasks_deal_id_deals"), nullable=True),
        sa.Column("lead_id", Id, sa.ForeignKey("leads.id", name="fk_tasks_lead_id_leads"), nullable=True),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("completed_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tasks"),
        sa.UniqueConstraint("key", name="uq_tasks_key"),
    )
    op.create_index("ix_tasks_responsible", "tasks", ["status", "responsible_id", "due_at"], unique=False)
    op.create_index("ix_tasks_due", "tasks", ["status", "due_at", "id"], unique=False)
    op.create_index("ix_tasks_deal", "tasks", ["deal_id", "status"], unique=False)
    op.create_index("ix_tasks_lead", "tasks", ["lead_id", "status"], unique=False)
    op.create_table(
        "counters",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("tasks")
    op.drop_index("ix_audit_deal", table_name="audit_log")
    with op.batch_alter_table("leads", schema=None) as batch:
        batch.drop_column("inn")
    op.drop_index("uq_companies_inn", table_name="companies")
    with op.batch_alter_table("companies", schema=None) as batch:
        batch.drop_index("ix_companies_name_key")
        batch.drop_column("inn")
        batch.drop_column("name_key")
    with op.batch_alter_table("deals", schema=None) as batch:
        batch.drop_index("ix_deals_stage")
        batch.create_index("ix_deals_stage", ["stage_id"], unique=False)
        batch.drop_column("version")
