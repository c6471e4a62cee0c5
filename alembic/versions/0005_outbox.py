"""the transactional outbox

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01

- outbox: domain events and mails written in the transaction of the change they tell of, sent by the relay
  after the commit (docs/architecture.md, "From POST /orders to the exchange and the inbox").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("sent_at", UTC_TIMESTAMP, nullable=True),
        sa.CheckConstraint("kind IN ('event', 'mail')", name=op.f("ck_outbox_kind_known")),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
    )
    op.create_index("ix_outbox_sent_at_position", "outbox", ["sent_at", "position"])
    op.create_index("ix_outbox_subject_position", "outbox", ["subject", "position"])


def downgrade() -> None:
    op.drop_index("ix_outbox_subject_position", table_name="outbox")
    op.drop_index("ix_outbox_sent_at_position", table_name="outbox")
    op.drop_table("outbox")
