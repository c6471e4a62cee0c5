"""Where the bulk generator's rows go: binary COPY into PostgreSQL, executemany into SQLite."""

import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
from sqlalchemy import Table
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL

from app.models import Order, OrderItem, OrderStatusChange, Product, User
from scripts.bulk_seed import (
    HISTORY_COLUMNS,
    ITEM_COLUMNS,
    ORDER_COLUMNS,
    PRODUCT_COLUMNS,
    USER_COLUMNS,
    Chunk,
    Generator,
    Progress,
    SeedPlan,
)

_PG_TYPES = {
    "users": ["uuid", "text", "text", "text", "text", "bool", "timestamptz", "timestamptz"],
    "products": ["uuid", "text", "text", "text", "int8", "int8", "bool", "timestamptz", "timestamptz"],
    "orders": ["uuid", "uuid", "text", "text", "int8", "timestamptz", "timestamptz"],
    "order_items": ["uuid", "uuid", "int4", "uuid", "text", "text", "int8", "int4", "int8"],
    "order_status_changes": ["uuid", "uuid", "text", "text", "timestamptz", "uuid"],
    "bulk_seed_customers": ["uuid"],
}
_ORDER_TABLES = (("orders", ORDER_COLUMNS), ("order_items", ITEM_COLUMNS), ("order_status_changes", HISTORY_COLUMNS))
_LOADED_TABLES = (
    "users", "products", "orders", "order_items", "order_status_changes",
    "product_sales_daily", "order_stats_daily", "customer_sales_daily", "customer_returns_daily",
    "customer_sales_monthly",
)  # fmt: skip


def _copy_statement(table: str, columns: Sequence[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    with cursor.copy(_copy_statement(table, columns)) as copy:
        copy.set_types(_PG_TYPES[table])
        for row in rows:
            copy.write_row(row)


def _skip_triggers(connection: psycopg.Connection[Any]) -> bool:
    """Skip the per-row triggers (foreign key checks, the rollups) for this session, if permitted."""
    try:
        connection.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


# What the rollup triggers would have done row by row, set-based, for the orders of this load (all of them
# belong to customers created by it).
_ADD_PRODUCT_SALES = """
INSERT INTO product_sales_daily AS s (day, product_id, units, revenue_cents)
SELECT CAST(o.created_at AT TIME ZONE 'UTC' AS DATE), i.product_id, sum(i.quantity), sum(i.line_total_cents)
FROM orders AS o JOIN order_items AS i ON i.order_id = o.id
WHERE o.user_id IN (SELECT id FROM bulk_seed_customers) AND o.status IN ('paid', 'shipped', 'delivered')
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (day, product_id) DO UPDATE
SET units = s.units + EXCLUDED.units, revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents
"""


_LOAD_ORDERS = "SELECT * FROM orders WHERE user_id IN (SELECT id FROM bulk_seed_customers)"
_DAY = "CAST(o.created_at AT TIME ZONE 'UTC' AS DATE)"
# The order rollups of migration 0008: every buyer of this load is new, so their days link only to each other.
_ADD_ORDER_ROLLUPS = [
    f"""
INSERT INTO order_stats_daily AS s (day, status, shard, orders, total_cents)
SELECT {_DAY}, o.status, CAST(get_byte(uuid_send(o.id), 15) % 16 AS smallint), count(*), sum(o.total_cents)
FROM ({_LOAD_ORDERS}) AS o GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, status, shard) DO UPDATE
SET orders = s.orders + EXCLUDED.orders, total_cents = s.total_cents + EXCLUDED.total_cents
""",  # noqa: S608 - built from constants only
    f"""
INSERT INTO customer_sales_daily (day, user_id, orders, revenue_orders, revenue_cents)
SELECT {_DAY}, o.user_id, count(*), count(*) FILTER (WHERE o.status IN ('paid', 'shipped', 'delivered')),
       coalesce(sum(o.total_cents) FILTER (WHERE o.status IN ('paid', 'shipped', 'delivered')), 0)
FROM ({_LOAD_ORDERS}) AS o GROUP BY 1, 2
""",  # noqa: S608 - built from constants only
    """
INSERT INTO customer_returns_daily AS r (day, previous_day, shard, customers)
SELECT day, previous_day, shard, count(*) FROM (
    SELECT c.day, coalesce(lag(c.day) OVER (PARTITION BY c.user_id ORDER BY c.day), DATE '0001-01-01') AS previous_day,
           CAST(get_byte(uuid_send(c.user_id), 15) % 16 AS smallint) AS shard
    FROM customer_sales_daily AS c WHERE c.user_id IN (SELECT id FROM bulk_seed_customers)
) AS active GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (day, previous_day, shard) DO UPDATE SET customers = r.customers + EXCLUDED.customers
""",
    # Migration 0009's months, from the days just added.
    """
INSERT INTO customer_sales_monthly (month, user_id, revenue_orders, revenue_cents)
SELECT CAST(date_trunc('month', CAST(c.day AS timestamp)) AS DATE), c.user_id, sum(c.revenue_orders),
       sum(c.revenue_cents)
FROM customer_sales_daily AS c
WHERE c.user_id IN (SELECT id FROM bulk_seed_customers) AND c.revenue_orders <> 0 GROUP BY 1, 2
""",
]


def _add_rollups(cursor: psycopg.Cursor[Any], customer_ids: Sequence[object]) -> None:
    cursor.execute("CREATE TEMPORARY TABLE bulk_seed_customers (id uuid PRIMARY KEY) ON COMMIT DROP")
    _copy(cursor, "bulk_seed_customers", ["id"], [(customer_id,) for customer_id in customer_ids])
    cursor.execute(_ADD_PRODUCT_SALES)
    for statement in _ADD_ORDER_ROLLUPS:
        cursor.execute(statement)


def _stream_orders(cursors: Sequence[psycopg.Cursor[Any]], generator: Generator, plan: SeedPlan) -> None:
    """One long COPY per table, each over its own cursor: the client never waits for a COPY to finish midway."""
    progress = Progress(plan.orders, "orders")
    with ExitStack() as copies:
        orders, items, history = [
            copies.enter_context(cursor.copy(_copy_statement(table, columns)))
            for cursor, (table, columns) in zip(cursors, _ORDER_TABLES, strict=True)
        ]
        for copy, (table, _) in zip((orders, items, history), _ORDER_TABLES, strict=True):
            copy.set_types(_PG_TYPES[table])
        for chunk in generator.order_chunks():
            for copy, rows in ((orders, chunk.orders), (items, chunk.items), (history, chunk.history)):
                for row in rows:
                    copy.write_row(row)
            progress.advance(len(chunk.orders))
    progress.finish()


def load_postgres(url: URL, generator: Generator, plan: SeedPlan) -> dict[str, float]:
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    timings: dict[str, float] = {}
    started = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as connection:
        if _skip_triggers(connection):
            _load_in_parallel(conninfo, connection, generator, plan)
        else:
            _load_in_one_transaction(connection, generator, plan)
        timings["load_seconds"] = time.monotonic() - started
        connection.execute("RESET session_replication_role")
        # Sets the visibility map (index-only scans) and the planner's statistics; outside the transaction.
        vacuum_started = time.monotonic()
        connection.execute(f"VACUUM (ANALYZE) {', '.join(_LOADED_TABLES)}")
        timings["vacuum_analyze_seconds"] = time.monotonic() - vacuum_started
    timings["total_seconds"] = time.monotonic() - started
    return timings


def _load_in_one_transaction(connection: psycopg.Connection[Any], generator: Generator, plan: SeedPlan) -> None:
    """Without the right to skip triggers: foreign keys are checked and the rollup triggers fire, row by row."""
    with connection.transaction(), connection.cursor() as cursor:
        _copy(cursor, "users", USER_COLUMNS, generator.users())
        _copy(cursor, "products", PRODUCT_COLUMNS, generator.catalogue())
        _copy_chunks(cursor, generator, plan)


def _copy_chunks(cursor: psycopg.Cursor[Any], generator: Generator, plan: SeedPlan) -> None:
    progress = Progress(plan.orders, "orders")
    for chunk in generator.order_chunks():
        for (table, columns), rows in zip(_ORDER_TABLES, (chunk.orders, chunk.items, chunk.history), strict=True):
            _copy(cursor, table, columns, rows)
        progress.advance(len(chunk.orders))
    progress.finish()


def _load_in_parallel(conninfo: str, connection: psycopg.Connection[Any], generator: Generator, plan: SeedPlan) -> None:
    """Orders, lines and history stream into three backends at once, each in its own transaction.

    The lines and the history commit first; they reference orders nobody can see yet, and no query reaches
    them but through an order. The orders, customers, products and their product sales then commit together,
    so a reader sees either no order of this load or every order complete. A failure before those commits
    leaves nothing behind; one between them (the server dying at that instant) leaves unreachable lines.
    """
    with psycopg.connect(conninfo, autocommit=True) as lines, psycopg.connect(conninfo, autocommit=True) as history:
        for side in (lines, history):
            _skip_triggers(side)
        with connection.transaction(), connection.cursor() as cursor:
            with (
                lines.transaction(),
                history.transaction(),
                lines.cursor() as on_lines,
                history.cursor() as on_history,
            ):
                _copy(cursor, "users", USER_COLUMNS, generator.users())
                _copy(cursor, "products", PRODUCT_COLUMNS, generator.catalogue())
                _stream_orders([cursor, on_lines, on_history], generator, plan)
            _add_rollups(cursor, generator.user_ids)


def _insert(connection: Any, table: Table, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    if rows:
        connection.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])


def load_sqlite(url: URL, generator: Generator, plan: SeedPlan) -> dict[str, float]:
    started = time.monotonic()
    engine = create_sync_engine(url)
    tables: dict[str, Table] = {
        model.__tablename__: model.__table__  # type: ignore[misc]
        for model in (User, Product, Order, OrderItem, OrderStatusChange)
    }
    try:
        with engine.begin() as connection:
            _insert(connection, tables["users"], USER_COLUMNS, generator.users())
            _insert(connection, tables["products"], PRODUCT_COLUMNS, generator.catalogue())
            progress = Progress(plan.orders, "orders")
            for chunk in generator.order_chunks():
                _write_sqlite_chunk(connection, tables, chunk)
                progress.advance(len(chunk.orders))
            progress.finish()
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    seconds = time.monotonic() - started
    return {"load_seconds": seconds, "total_seconds": seconds}


def _write_sqlite_chunk(connection: Any, tables: dict[str, Table], chunk: Chunk) -> None:
    _insert(connection, tables["orders"], ORDER_COLUMNS, chunk.orders)
    _insert(connection, tables["order_items"], ITEM_COLUMNS, chunk.items)
    _insert(connection, tables["order_status_changes"], HISTORY_COLUMNS, chunk.history)
