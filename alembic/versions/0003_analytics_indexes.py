"""analytics indexes and the daily product sales rollup

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

- PostgreSQL: ix_orders_created_at_id carries (status, total_cents, user_id), so every analytics range
  scan over orders is index-only; extended statistics on the UTC day/week/month of created_at tell the
  planner how many periods a range holds (without them it expects one group per order and sorts to disk).
- Both: product_sales_daily, units and revenue per product per UTC day over revenue orders, kept exact by
  triggers on orders and order_items in the writing transaction, and backfilled here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVENUE = "('paid', 'shipped', 'delivered')"

PG_STATISTICS = """
CREATE STATISTICS orders_created_period_stats ON
    (CAST(date_trunc('day', created_at AT TIME ZONE 'UTC') AS DATE)),
    (CAST(date_trunc('week', created_at AT TIME ZONE 'UTC') AS DATE)),
    (CAST(date_trunc('month', created_at AT TIME ZONE 'UTC') AS DATE))
FROM orders
"""

BACKFILL = """
INSERT INTO product_sales_daily (day, product_id, units, revenue_cents)
SELECT {day}, i.product_id, sum(i.quantity), sum(i.line_total_cents)
FROM orders AS o JOIN order_items AS i ON i.order_id = o.id
WHERE o.status IN {revenue}
GROUP BY 1, 2
"""

# Rows are upserted in product order, so two transactions touching the same products lock them in the
# same order and cannot deadlock.
PG_FUNCTIONS = [
    """
CREATE FUNCTION product_sales_daily_add(p_order_id uuid, p_day date, p_sign integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO product_sales_daily AS s (day, product_id, units, revenue_cents)
    SELECT p_day, i.product_id, p_sign * sum(i.quantity), p_sign * sum(i.line_total_cents)
    FROM order_items AS i WHERE i.order_id = p_order_id
    GROUP BY i.product_id ORDER BY i.product_id
    ON CONFLICT (day, product_id) DO UPDATE
    SET units = s.units + EXCLUDED.units, revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents
$$
""",
    f"""
CREATE FUNCTION orders_sync_product_sales() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status IN {REVENUE} THEN
        PERFORM product_sales_daily_add(OLD.id, CAST(OLD.created_at AT TIME ZONE 'UTC' AS DATE), -1);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status IN {REVENUE} THEN
        PERFORM product_sales_daily_add(NEW.id, CAST(NEW.created_at AT TIME ZONE 'UTC' AS DATE), 1);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$
""",
    f"""
CREATE FUNCTION order_items_sync_product_sales() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sale_day date;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        SELECT CAST(o.created_at AT TIME ZONE 'UTC' AS DATE) INTO sale_day
        FROM orders AS o WHERE o.id = OLD.order_id AND o.status IN {REVENUE};
        IF FOUND THEN
            INSERT INTO product_sales_daily AS s (day, product_id, units, revenue_cents)
            VALUES (sale_day, OLD.product_id, -OLD.quantity, -OLD.line_total_cents)
            ON CONFLICT (day, product_id) DO UPDATE
            SET units = s.units + EXCLUDED.units, revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        SELECT CAST(o.created_at AT TIME ZONE 'UTC' AS DATE) INTO sale_day
        FROM orders AS o WHERE o.id = NEW.order_id AND o.status IN {REVENUE};
        IF FOUND THEN
            INSERT INTO product_sales_daily AS s (day, product_id, units, revenue_cents)
            VALUES (sale_day, NEW.product_id, NEW.quantity, NEW.line_total_cents)
            ON CONFLICT (day, product_id) DO UPDATE
            SET units = s.units + EXCLUDED.units, revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents;
        END IF;
    END IF;
    RETURN NULL;
END
$$
""",  # noqa: S608 - built from constants only
    """
CREATE FUNCTION product_sales_daily_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM product_sales_daily;
    RETURN NULL;
END
$$
""",
]

# A status change within paid/shipped/delivered moves no money between revenue and the rest: no trigger.
PG_TRIGGERS = [
    f"""
CREATE TRIGGER orders_sync_product_sales_update AFTER UPDATE OF status, created_at ON orders FOR EACH ROW
WHEN ((OLD.status IN {REVENUE}) IS DISTINCT FROM (NEW.status IN {REVENUE})
      OR (OLD.created_at IS DISTINCT FROM NEW.created_at AND NEW.status IN {REVENUE}))
EXECUTE FUNCTION orders_sync_product_sales()
""",
    # BEFORE: the order's lines are still there to subtract; the cascade then finds no revenue parent.
    f"""
CREATE TRIGGER orders_sync_product_sales_delete BEFORE DELETE ON orders FOR EACH ROW
WHEN (OLD.status IN {REVENUE})
EXECUTE FUNCTION orders_sync_product_sales()
""",
    """
CREATE TRIGGER order_items_sync_product_sales AFTER INSERT OR UPDATE OR DELETE ON order_items FOR EACH ROW
EXECUTE FUNCTION order_items_sync_product_sales()
""",
    """
CREATE TRIGGER order_items_clear_product_sales AFTER TRUNCATE ON order_items FOR EACH STATEMENT
EXECUTE FUNCTION product_sales_daily_clear()
""",
]

_SQLITE_ADD_LINE = f"""
    INSERT INTO product_sales_daily (day, product_id, units, revenue_cents)
    SELECT date(o.created_at), NEW.product_id, NEW.quantity, NEW.line_total_cents
    FROM orders AS o WHERE o.id = NEW.order_id AND o.status IN {REVENUE}
    ON CONFLICT (day, product_id) DO UPDATE
    SET units = units + excluded.units, revenue_cents = revenue_cents + excluded.revenue_cents;
"""  # noqa: S608 - built from constants only
_SQLITE_SUBTRACT_LINE = f"""
    UPDATE product_sales_daily
    SET units = units - OLD.quantity, revenue_cents = revenue_cents - OLD.line_total_cents
    WHERE product_id = OLD.product_id
      AND day = (SELECT date(o.created_at) FROM orders AS o WHERE o.id = OLD.order_id AND o.status IN {REVENUE});
"""  # noqa: S608 - built from constants only
_SQLITE_SUBTRACT_ORDER = f"""
    UPDATE product_sales_daily
    SET units = units - (SELECT sum(i.quantity) FROM order_items AS i
                         WHERE i.order_id = OLD.id AND i.product_id = product_sales_daily.product_id),
        revenue_cents = revenue_cents - (SELECT sum(i.line_total_cents) FROM order_items AS i
                                         WHERE i.order_id = OLD.id AND i.product_id = product_sales_daily.product_id)
    WHERE OLD.status IN {REVENUE} AND day = date(OLD.created_at)
      AND product_id IN (SELECT i.product_id FROM order_items AS i WHERE i.order_id = OLD.id);
"""  # noqa: S608 - built from constants only
_SQLITE_ADD_ORDER = f"""
    INSERT INTO product_sales_daily (day, product_id, units, revenue_cents)
    SELECT date(NEW.created_at), i.product_id, sum(i.quantity), sum(i.line_total_cents)
    FROM order_items AS i WHERE i.order_id = NEW.id AND NEW.status IN {REVENUE}
    GROUP BY i.product_id
    ON CONFLICT (day, product_id) DO UPDATE
    SET units = units + excluded.units, revenue_cents = revenue_cents + excluded.revenue_cents;
"""  # noqa: S608 - built from constants only
SQLITE_TRIGGERS = {
    "order_items_sales_insert": f"AFTER INSERT ON order_items BEGIN {_SQLITE_ADD_LINE} END",
    "order_items_sales_delete": f"AFTER DELETE ON order_items BEGIN {_SQLITE_SUBTRACT_LINE} END",
    "order_items_sales_update": f"AFTER UPDATE ON order_items BEGIN {_SQLITE_SUBTRACT_LINE} {_SQLITE_ADD_LINE} END",
    "orders_sales_update": (
        f"AFTER UPDATE OF status, created_at ON orders "
        f"WHEN (OLD.status IN {REVENUE}) IS NOT (NEW.status IN {REVENUE}) "
        f"OR (OLD.created_at IS NOT NEW.created_at AND NEW.status IN {REVENUE}) "
        f"BEGIN {_SQLITE_SUBTRACT_ORDER} {_SQLITE_ADD_ORDER} END"
    ),
    "orders_sales_delete": f"BEFORE DELETE ON orders WHEN OLD.status IN {REVENUE} BEGIN {_SQLITE_SUBTRACT_ORDER} END",
}


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgres = _is_postgres()
    if postgres:
        # Writers wait while the rollup is backfilled, so no change slips between backfill and triggers.
        op.execute("LOCK TABLE orders, order_items IN SHARE ROW EXCLUSIVE MODE")
        op.drop_index("ix_orders_created_at_id", table_name="orders")
        op.create_index(
            "ix_orders_created_at_id",
            "orders",
            ["created_at", "id"],
            unique=False,
            postgresql_include=["status", "total_cents", "user_id"],
        )
        op.execute(PG_STATISTICS)

    op.create_table(
        "product_sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_id", name=op.f("pk_product_sales_daily")),
    )
    day = "CAST(o.created_at AT TIME ZONE 'UTC' AS DATE)" if postgres else "date(o.created_at)"
    op.execute(BACKFILL.format(day=day, revenue=REVENUE))
    if postgres:
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(statement)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if _is_postgres():
        for trigger, table in (
            ("order_items_clear_product_sales", "order_items"),
            ("order_items_sync_product_sales", "order_items"),
            ("orders_sync_product_sales_delete", "orders"),
            ("orders_sync_product_sales_update", "orders"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        for function in (
            "product_sales_daily_clear()",
            "order_items_sync_product_sales()",
            "orders_sync_product_sales()",
            "product_sales_daily_add(uuid, date, integer)",
        ):
            op.execute(f"DROP FUNCTION {function}")
        op.execute("DROP STATISTICS orders_created_period_stats")
        op.drop_index("ix_orders_created_at_id", table_name="orders")
        op.create_index("ix_orders_created_at_id", "orders", ["created_at", "id"], unique=False)
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("product_sales_daily")
