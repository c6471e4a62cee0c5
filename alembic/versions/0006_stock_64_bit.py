"""stock as a 64-bit integer

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Cancelling puts an order's units back whatever the stock became meanwhile, so a stock set to the largest value
an admin may give (2,147,483,647) and then restocked must still fit: PostgreSQL's `integer` overflowed there. SQLite
stores every integer in up to 8 bytes already, so its `INTEGER` column stays (the model says so with a variant).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("products", "stock", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Fails on a stock above 2,147,483,647, rather than lose units.
        op.alter_column("products", "stock", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
