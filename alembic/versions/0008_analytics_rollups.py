# ruff: noqa: S608 - every statement here is built from this module's constants, none from input
"""order, customer and returning-customer rollups per UTC day

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- order_stats_daily: orders and totals per (day, status, shard); PostgreSQL takes the shard from the order's
  id so concurrent placements update different rows (SQLite has one writer: shard 0).
- customer_sales_daily: orders, revenue orders and revenue per (day, buyer); a row only while it counts.
- customer_returns_daily: buyers per (day, previous day with an order, shard of the buyer): distinct buyers
  over whole days become a sum.
All three are kept exact by triggers on `orders` in the writing transaction, and backfilled here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVENUE = "('paid', 'shipped', 'delivered')"
NO_PREVIOUS_DAY = "'0001-01-01'"
PG_DAY = "CAST({0}.created_at AT TIME ZONE 'UTC' AS DATE)"
PG_SHARD = "CAST(get_byte(uuid_send({0}), 15) % 16 AS smallint)"

BACKFILL = [
    """
INSERT INTO order_stats_daily (day, status, shard, orders, total_cents)
SELECT {day}, o.status, {order_shard}, count(*), sum(o.total_cents) FROM orders AS o GROUP BY 1, 2, 3
""",
    f"""
INSERT INTO customer_sales_daily (day, user_id, orders, revenue_orders, revenue_cents)
SELECT {{day}}, o.user_id, count(*),
       sum(CASE WHEN o.status IN {REVENUE} THEN 1 ELSE 0 END),
       sum(CASE WHEN o.status IN {REVENUE} THEN o.total_cents ELSE 0 END)
FROM orders AS o GROUP BY 1, 2
""",
    """
INSERT INTO customer_returns_daily (day, previous_day, shard, customers)
SELECT day, previous_day, shard, count(*) FROM (
    SELECT c.day, coalesce(lag(c.day) OVER (PARTITION BY c.user_id ORDER BY c.day), {no_previous_day}) AS previous_day,
           {user_shard} AS shard
    FROM customer_sales_daily AS c
) AS active GROUP BY 1, 2, 3
""",
]

# Rows are taken in key order within each table and the tables in a fixed order, so concurrent writers
# cannot deadlock on them. A buyer's first order of a day (or the removal of their last) relinks their days
# under a transaction-level advisory lock on the buyer, so two such changes of one buyer never miss each other.
PG_FUNCTIONS = [
    f"""
CREATE FUNCTION customer_returns_relink(p_user uuid, p_day date, p_sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    prior_day date;
    later_day date;
    user_shard smallint := {PG_SHARD.format("p_user")};
BEGIN
    PERFORM pg_advisory_xact_lock(20261201, hashtext(CAST(p_user AS text)));
    SELECT coalesce(max(c.day), DATE {NO_PREVIOUS_DAY}) INTO prior_day
    FROM customer_sales_daily AS c WHERE c.user_id = p_user AND c.day < p_day;
    SELECT min(c.day) INTO later_day FROM customer_sales_daily AS c WHERE c.user_id = p_user AND c.day > p_day;
    INSERT INTO customer_returns_daily AS r (day, previous_day, shard, customers)
    SELECT v.day, v.previous_day, user_shard, v.customers
    FROM (VALUES (p_day, prior_day, p_sign), (later_day, prior_day, -p_sign), (later_day, p_day, p_sign))
         AS v (day, previous_day, customers)
    WHERE v.day IS NOT NULL
    ORDER BY v.day, v.previous_day
    ON CONFLICT (day, previous_day, shard) DO UPDATE SET customers = r.customers + EXCLUDED.customers;
END
$$
""",
    f"""
CREATE FUNCTION order_rollups_add(o orders, p_sign integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    sale_day date := {PG_DAY.format("o")};
    revenue integer := CASE WHEN o.status IN {REVENUE} THEN 1 ELSE 0 END;
    remaining bigint;
BEGIN
    INSERT INTO order_stats_daily AS s (day, status, shard, orders, total_cents)
    VALUES (sale_day, o.status, {PG_SHARD.format("o.id")}, p_sign, p_sign * o.total_cents)
    ON CONFLICT (day, status, shard) DO UPDATE
    SET orders = s.orders + EXCLUDED.orders, total_cents = s.total_cents + EXCLUDED.total_cents;
    INSERT INTO customer_sales_daily AS c (day, user_id, orders, revenue_orders, revenue_cents)
    VALUES (sale_day, o.user_id, p_sign, p_sign * revenue, p_sign * revenue * o.total_cents)
    ON CONFLICT (day, user_id) DO UPDATE
    SET orders = c.orders + EXCLUDED.orders, revenue_orders = c.revenue_orders + EXCLUDED.revenue_orders,
        revenue_cents = c.revenue_cents + EXCLUDED.revenue_cents
    RETURNING c.orders INTO remaining;
    IF p_sign > 0 AND remaining = 1 THEN
        PERFORM customer_returns_relink(o.user_id, sale_day, 1);
    ELSIF p_sign < 0 AND remaining = 0 THEN
        DELETE FROM customer_sales_daily WHERE day = sale_day AND user_id = o.user_id;
        PERFORM customer_returns_relink(o.user_id, sale_day, -1);
    END IF;
END
$$
""",
    f"""
CREATE FUNCTION orders_sync_rollups() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sale_day date;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.user_id = NEW.user_id
       AND {PG_DAY.format("OLD")} = {PG_DAY.format("NEW")} THEN
        -- A status or total change: the buyer's days stay as they are.
        sale_day := {PG_DAY.format("NEW")};
        INSERT INTO order_stats_daily AS s (day, status, shard, orders, total_cents)
        SELECT sale_day, v.status, {PG_SHARD.format("NEW.id")}, sum(v.orders), sum(v.total_cents)
        FROM (VALUES (OLD.status, -1, -OLD.total_cents), (NEW.status, 1, NEW.total_cents))
             AS v (status, orders, total_cents)
        GROUP BY v.status ORDER BY v.status
        ON CONFLICT (day, status, shard) DO UPDATE
        SET orders = s.orders + EXCLUDED.orders, total_cents = s.total_cents + EXCLUDED.total_cents;
        UPDATE customer_sales_daily AS c
        SET revenue_orders = c.revenue_orders
                - CASE WHEN OLD.status IN {REVENUE} THEN 1 ELSE 0 END
                + CASE WHEN NEW.status IN {REVENUE} THEN 1 ELSE 0 END,
            revenue_cents = c.revenue_cents
                - CASE WHEN OLD.status IN {REVENUE} THEN OLD.total_cents ELSE 0 END
                + CASE WHEN NEW.status IN {REVENUE} THEN NEW.total_cents ELSE 0 END
        WHERE c.day = sale_day AND c.user_id = NEW.user_id;
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        PERFORM order_rollups_add(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM order_rollups_add(NEW, 1);
    END IF;
    RETURN NULL;
END
$$
""",
    """
CREATE FUNCTION order_rollups_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM order_stats_daily;
    DELETE FROM customer_sales_daily;
    DELETE FROM customer_returns_daily;
    RETURN NULL;
END
$$
""",
]

PG_TRIGGERS = [
    """
CREATE TRIGGER orders_sync_rollups AFTER INSERT OR DELETE ON orders FOR EACH ROW
EXECUTE FUNCTION orders_sync_rollups()
""",
    """
CREATE TRIGGER orders_sync_rollups_update AFTER UPDATE OF status, total_cents, user_id, created_at ON orders
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.total_cents IS DISTINCT FROM NEW.total_cents
      OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION orders_sync_rollups()
""",
    """
CREATE TRIGGER orders_clear_rollups AFTER TRUNCATE ON orders FOR EACH STATEMENT
EXECUTE FUNCTION order_rollups_clear()
""",
]


def _sqlite_change(row: str, sign: int) -> str:
    """The statements that add (sign 1) or remove (sign -1) one order `row` (NEW or OLD) on SQLite."""
    day, user = f"date({row}.created_at)", f"{row}.user_id"
    revenue = f"(CASE WHEN {row}.status IN {REVENUE} THEN 1 ELSE 0 END)"
    previous = (
        f"coalesce((SELECT max(c.day) FROM customer_sales_daily AS c WHERE c.user_id = {user} AND c.day < {day}), "
        f"{NO_PREVIOUS_DAY})"
    )
    following = f"(SELECT min(c.day) FROM customer_sales_daily AS c WHERE c.user_id = {user} AND c.day > {day})"
    # Adding: the buyer had no order that day yet; removing: this was their last one that day.
    if sign > 0:
        relinks = f"NOT EXISTS (SELECT 1 FROM customer_sales_daily AS c WHERE c.user_id = {user} AND c.day = {day})"
    else:
        relinks = (
            f"EXISTS (SELECT 1 FROM customer_sales_daily AS c "
            f"WHERE c.user_id = {user} AND c.day = {day} AND c.orders = 0)"
        )
    relink = [
        f"INSERT INTO customer_returns_daily (day, previous_day, shard, customers) "
        f"SELECT {target}, {source}, 0, {count} WHERE {relinks} AND {target} IS NOT NULL "
        f"ON CONFLICT (day, previous_day, shard) DO UPDATE SET customers = customers + excluded.customers;"
        for target, source, count in ((day, previous, sign), (following, previous, -sign), (following, day, sign))
    ]
    stats = (
        f"INSERT INTO order_stats_daily (day, status, shard, orders, total_cents) "
        f"VALUES ({day}, {row}.status, 0, {sign}, {sign} * {row}.total_cents) "
        f"ON CONFLICT (day, status, shard) DO UPDATE "
        f"SET orders = orders + excluded.orders, total_cents = total_cents + excluded.total_cents;"
    )
    customer = (
        f"INSERT INTO customer_sales_daily (day, user_id, orders, revenue_orders, revenue_cents) "
        f"VALUES ({day}, {user}, {sign}, {sign} * {revenue}, {sign} * {revenue} * {row}.total_cents) "
        f"ON CONFLICT (day, user_id) DO UPDATE SET orders = orders + excluded.orders, "
        f"revenue_orders = revenue_orders + excluded.revenue_orders, "
        f"revenue_cents = revenue_cents + excluded.revenue_cents;"
    )
    if sign > 0:
        return " ".join([stats, *relink, customer])
    cleanup = f"DELETE FROM customer_sales_daily WHERE user_id = {user} AND day = {day} AND orders = 0;"
    return " ".join([stats, customer, *relink, cleanup])


SQLITE_TRIGGERS = {
    "orders_rollups_insert": f"AFTER INSERT ON orders BEGIN {_sqlite_change('NEW', 1)} END",
    "orders_rollups_delete": f"AFTER DELETE ON orders BEGIN {_sqlite_change('OLD', -1)} END",
    "orders_rollups_update": (
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
        # The backfill reads every order: minutes at ten million, past the service's statement timeout.
        op.execute("SET LOCAL statement_timeout = 0")
        # Writers wait while the rollups are backfilled, so no change slips between backfill and triggers.
        op.execute("LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE")
    op.create_table(
        "order_stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "status", "shard", name=op.f("pk_order_stats_daily")),
    )
    op.create_table(
        "customer_sales_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue_orders", sa.BigInteger(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", name=op.f("pk_customer_sales_daily")),
    )
    op.create_index("ix_customer_sales_daily_user_id_day", "customer_sales_daily", ["user_id", "day"], unique=False)
    op.create_table(
        "customer_returns_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("previous_day", sa.Date(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "previous_day", "shard", name=op.f("pk_customer_returns_daily")),
    )
    values = {
        "day": PG_DAY.format("o") if postgres else "date(o.created_at)",
        "order_shard": PG_SHARD.format("o.id") if postgres else "0",
        "user_shard": PG_SHARD.format("c.user_id") if postgres else "0",
        "no_previous_day": f"DATE {NO_PREVIOUS_DAY}" if postgres else NO_PREVIOUS_DAY,
    }
    for statement in BACKFILL:
        op.execute(statement.format(**values))
    if postgres:
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(statement)
        op.execute("ANALYZE order_stats_daily, customer_sales_daily, customer_returns_daily")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if _is_postgres():
        for trigger in ("orders_clear_rollups", "orders_sync_rollups_update", "orders_sync_rollups"):
            op.execute(f"DROP TRIGGER {trigger} ON orders")
        for function in (
            "order_rollups_clear()",
            "orders_sync_rollups()",
            "order_rollups_add(orders, integer)",
            "customer_returns_relink(uuid, date, integer)",
        ):
            op.execute(f"DROP FUNCTION {function}")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("customer_returns_daily")
    op.drop_index("ix_customer_sales_daily_user_id_day", table_name="customer_sales_daily")
    op.drop_table("customer_sales_daily")
    op.drop_table("order_stats_daily")
