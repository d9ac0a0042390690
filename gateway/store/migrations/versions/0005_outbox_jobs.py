"""the outbox holds every kind of outbound job, not only webhooks

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch:
        batch.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default="webhook"))
        batch.alter_column("subscription", new_column_name="target", existing_type=sa.String(2048),
                           existing_nullable=False)
        batch.add_column(sa.Column("key", sa.String(512), nullable=True))
        batch.add_column(sa.Column("lead_id", Id, nullable=True))
        batch.add_column(sa.Column("deal_id", Id, nullable=True))
        batch.add_column(sa.Column("state", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("result", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_outbox_kind_key", ["kind", "key"])
        batch.create_index("ix_outbox_lead", ["lead_id"], unique=False)
        batch.create_index("ix_outbox_deal", ["deal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch:
        batch.drop_index("ix_outbox_deal")
        batch.drop_index("ix_outbox_lead")
        batch.drop_constraint("uq_outbox_kind_key", type_="unique")
        for column in ("attempted_at", "result", "state", "deal_id", "lead_id", "key", "kind"):
            batch.drop_column(column)
        batch.alter_column("target", new_column_name="subscription", existing_type=sa.String(2048),
                           existing_nullable=False)
