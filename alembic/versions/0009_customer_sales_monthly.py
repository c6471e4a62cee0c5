"""revenue per buyer per UTC month

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

- customer_sales_monthly: revenue orders and revenue per (month, buyer), so the whole months of a range cost one
  row per buyer each in the top customers report, not one per buyer per day. Kept exact by its own triggers on
  `orders` in the writing transaction (only orders in a revenue status count), and backfilled here from
  customer_sales_daily.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVENUE = "('paid', 'shipped', 'delivered')"
PG_MONTH = "CAST(date_trunc('month', {0}.created_at AT TIME ZONE 'UTC') AS DATE)"
SQLITE_MONTH = "strftime('%Y-%m-01', {0}.created_at)"

BACKFILL = """
INSERT INTO customer_sales_monthly (month, user_id, revenue_orders, revenue_cents)
SELECT {month}, c.user_id, sum(c.revenue_orders), sum(c.revenue_cents)
FROM customer_sales_daily AS c WHERE c.revenue_orders <> 0 GROUP BY 1, 2
"""

PG_UPSERT = """
    INSERT INTO customer_sales_monthly AS m (month, user_id, revenue_orders, revenue_cents)
    VALUES ({month}, {row}.user_id, {sign}, {sign} * {row}.total_cents)
    ON CONFLICT (month, user_id) DO UPDATE
    SET revenue_orders = m.revenue_orders + EXCLUDED.revenue_orders,
        revenue_cents = m.revenue_cents + EXCLUDED.revenue_cents;"""

PG_FUNCTIONS = [
    f"""
CREATE FUNCTION customer_months_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IN {REVENUE} AND NEW.status IN {REVENUE}
       AND OLD.user_id = NEW.user_id AND OLD.total_cents = NEW.total_cents
       AND {PG_MONTH.format("OLD")} = {PG_MONTH.format("NEW")} THEN
        RETURN NULL;  -- paid to shipped, say: the month's figures stay
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.status IN {REVENUE} THEN{PG_UPSERT.format(month=PG_MONTH.format("OLD"), row="OLD", sign=-1)}
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.status IN {REVENUE} THEN{PG_UPSERT.format(month=PG_MONTH.format("NEW"), row="NEW", sign=1)}
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION customer_months_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_sales_monthly;
    RETURN NULL;
END
$$
""",
]

PG_TRIGGERS = [
    """
CREATE TRIGGER orders_sync_customer_months AFTER INSERT OR DELETE ON orders FOR EACH ROW
EXECUTE FUNCTION customer_months_sync()
""",
    """
CREATE TRIGGER orders_sync_customer_months_update AFTER UPDATE OF status, total_cents, user_id, created_at
ON orders FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.total_cents IS DISTINCT FROM NEW.total_cents
      OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION customer_months_sync()
""",
    """
CREATE TRIGGER orders_clear_customer_months AFTER TRUNCATE ON orders FOR EACH STATEMENT
EXECUTE FUNCTION customer_months_clear()
""",
]


def _sqlite_change(row: str, sign: int) -> str:
    """Add (sign 1) or remove (sign -1) the order `row` (NEW or OLD) if it is in a revenue status."""
    return (
        f"INSERT INTO customer_sales_monthly (month, user_id, revenue_orders, revenue_cents) "
        f"SELECT {SQLITE_MONTH.format(row)}, {row}.user_id, {sign}, {sign} * {row}.total_cents "
        f"WHERE {row}.status IN {REVENUE} "
        f"ON CONFLICT (month, user_id) DO UPDATE SET revenue_orders = revenue_orders + excluded.revenue_orders, "
        f"revenue_cents = revenue_cents + excluded.revenue_cents;"
    )


SQLITE_TRIGGERS = {
    "orders_customer_months_insert": f"AFTER INSERT ON orders BEGIN {_sqlite_change('NEW', 1)} END",
    "orders_customer_months_delete": f"AFTER DELETE ON orders BEGIN {_sqlite_change('OLD', -1)} END",
    "orders_customer_months_update": (
        "AFTER UPDATE OF status, total_cents, user_id, created_at ON orders "
        "WHEN OLD.status IS NOT NEW.status OR OLD.total_cents IS NOT NEW.total_cents "
        "OR OLD.user_id IS NOT NEW.user_id OR OLD.created_at IS NOT NEW.created_at "
        f"BEGIN {_sqlite_change('OLD', -1)} {_sqlite_change('NEW', 1)} END"
    ),
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgres = _is_postgres()
    if postgres:
        op.execute("SET LOCAL statement_timeout = 0")
        # Writers wait while the rollup is backfilled, so no change slips between backfill and triggers.
        op.execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
    op.create_table(
        "customer_sales_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("revenue_orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", "user_id", name=op.f("pk_customer_sales_monthly")),
    )
    month = "CAST(date_trunc('month', CAST(c.day AS timestamp)) AS DATE)" if postgres else "strftime('%Y-%m-01', c.day)"
    op.execute(BACKFILL.format(month=month))
    if postgres:
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(statement)
        op.execute("ANALYZE customer_sales_monthly")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if _is_postgres():
        for trigger in (
            "orders_clear_customer_months",
            "orders_sync_customer_months_update",
            "orders_sync_customer_months",
        ):
            op.execute(f"DROP TRIGGER {trigger} ON orders")
        for function in ("customer_months_clear()", "customer_months_sync()"):
            op.execute(f"DROP FUNCTION {function}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("customer_sales_monthly")
