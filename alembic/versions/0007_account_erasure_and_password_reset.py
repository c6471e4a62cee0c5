"""account erasure and password reset

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- users: email and password_hash become nullable (an erased account keeps its id and orders, not its email,
  name or hash); erased_at marks the erasure; password_changed_at dates the last password change, which kills
  every reset token issued before it.
- password_reset_tokens: single-use reset tokens, stored only as SHA-256 hashes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=True)
        batch.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)
        batch.add_column(sa.Column("password_changed_at", UTC_TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("erased_at", UTC_TIMESTAMP, nullable=True))
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("used_at", UTC_TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_password_reset_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
    )
    op.create_index(op.f("ix_password_reset_tokens_user_id"), "password_reset_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_password_reset_tokens_user_id"), table_name="password_reset_tokens")
    op.drop_table("password_reset_tokens")
    # Erased accounts get an address that can never be delivered nor registered, and a hash nothing matches.
    op.execute(
        "UPDATE users SET email = 'erased-' || CAST(id AS VARCHAR(36)) || '@erased.invalid', password_hash = '!'"
        " WHERE erased_at IS NOT NULL"
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("password_changed_at")
        batch.alter_column("password_hash", existing_type=sa.String(length=255), nullable=False)
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
