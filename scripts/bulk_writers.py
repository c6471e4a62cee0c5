"""Where the bulk generator's rows go: binary COPY into PostgreSQL, executemany into SQLite."""

import queue
import threading
import time
from collections.abc import Iterator, Sequence
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
    "products": ["uuid", "text", "text", "text", "int8", "int4", "bool", "timestamptz", "timestamptz"],
    "orders": ["uuid", "uuid", "text", "text", "int8", "timestamptz", "timestamptz"],
    "order_items": ["uuid", "uuid", "int4", "uuid", "text", "text", "int8", "int4", "int8"],
    "order_status_changes": ["uuid", "uuid", "text", "text", "timestamptz", "uuid"],
}
_LOADED_TABLES = ("users", "products", "orders", "order_items", "order_status_changes", "product_sales_daily")


def _copy(cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_PG_TYPES[table])
        for row in rows:
            copy.write_row(row)


def _in_background(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """Generate the next chunks in a thread while PostgreSQL ingests the current one (the COPY wait frees the GIL)."""
    ready: queue.Queue[Chunk | Exception | None] = queue.Queue(maxsize=2)

    def produce() -> None:
        try:
            for chunk in chunks:
                ready.put(chunk)
            ready.put(None)
        except Exception as exc:  # noqa: BLE001 - handed over and raised again in the consuming thread
            ready.put(exc)

    threading.Thread(target=produce, name="bulk-seed-generator", daemon=True).start()
    while (item := ready.get()) is not None:
        if isinstance(item, Exception):
            raise item
        yield item


def _skip_triggers(connection: psycopg.Connection[Any]) -> bool:
    """Skip the per-row triggers (foreign key checks, the product sales rollup) for this load, if permitted.

    Every reference points at a row of this load, and `_add_product_sales` then does set-based what the
    rollup triggers would have done row by row, in the same transaction.
    """
    try:
        connection.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


_ADD_PRODUCT_SALES = """
INSERT INTO product_sales_daily AS s (day, product_id, units, revenue_cents)
SELECT CAST(o.created_at AT TIME ZONE 'UTC' AS DATE), i.product_id, sum(i.quantity), sum(i.line_total_cents)
FROM orders AS o JOIN order_items AS i ON i.order_id = o.id
WHERE o.user_id IN (SELECT id FROM bulk_seed_customers) AND o.status IN ('paid', 'shipped', 'delivered')
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (day, product_id) DO UPDATE
SET units = s.units + EXCLUDED.units, revenue_cents = s.revenue_cents + EXCLUDED.revenue_cents
"""


def _add_product_sales(cursor: psycopg.Cursor[Any], customer_ids: Sequence[object]) -> None:
    """The loaded orders' share of product_sales_daily (every order of this load belongs to a new customer)."""
    cursor.execute("CREATE TEMPORARY TABLE bulk_seed_customers (id uuid PRIMARY KEY) ON COMMIT DROP")
    with cursor.copy("COPY bulk_seed_customers (id) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["uuid"])
        for customer_id in customer_ids:
            copy.write_row((customer_id,))
    cursor.execute(_ADD_PRODUCT_SALES)


def _load_orders(
    cursor: psycopg.Cursor[Any], history: "_SideCopier | None", generator: Generator, plan: SeedPlan
) -> None:
    progress = Progress(plan.orders, "orders")
    try:
        for chunk in _in_background(generator.order_chunks()):
            _copy(cursor, "orders", ORDER_COLUMNS, chunk.orders)
            _copy(cursor, "order_items", ITEM_COLUMNS, chunk.items)
            if history is None:
                _copy(cursor, "order_status_changes", HISTORY_COLUMNS, chunk.history)
            else:
                history.put(chunk.history)
            progress.advance(len(chunk.orders))
    finally:
        if history is not None:
            history.close()
    progress.finish()


class _SideCopier:
    """COPYs one table over a second connection from its own thread, so two backends ingest at once."""

    def __init__(self, connection: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> None:
        self._queue: queue.Queue[Sequence[tuple[object, ...]] | None] = queue.Queue(maxsize=2)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(connection, table, columns), daemon=True)
        self._thread.start()

    def _run(self, connection: psycopg.Connection[Any], table: str, columns: Sequence[str]) -> None:
        try:
            with connection.cursor() as cursor:
                while (rows := self._queue.get()) is not None:
                    _copy(cursor, table, columns, rows)
        except Exception as exc:  # noqa: BLE001 - raised again in the loading thread
            self._error = exc
            while self._queue.get() is not None:  # keep the producer from blocking on a full queue
                pass

    def put(self, rows: Sequence[tuple[object, ...]]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(rows)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def load_postgres(url: URL, generator: Generator, plan: SeedPlan) -> dict[str, float]:
    """One transaction for everything, except that with the triggers skipped the status history, the largest
    table, streams over a second connection in parallel; it commits right after the main transaction did."""
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    timings: dict[str, float] = {}
    started = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as connection, psycopg.connect(conninfo, autocommit=True) as side:
        triggers_skipped = _skip_triggers(connection) and _skip_triggers(side)
        with side.transaction(), connection.transaction(), connection.cursor() as cursor:
            _copy(cursor, "users", USER_COLUMNS, generator.users())
            _copy(cursor, "products", PRODUCT_COLUMNS, generator.catalogue())
            _load_orders(
                cursor,
                _SideCopier(side, "order_status_changes", HISTORY_COLUMNS) if triggers_skipped else None,
                generator,
                plan,
            )
            if triggers_skipped:
                rollup_started = time.monotonic()
                _add_product_sales(cursor, generator.user_ids)
                timings["product_sales_seconds"] = time.monotonic() - rollup_started
        timings["load_seconds"] = time.monotonic() - started
        connection.execute("RESET session_replication_role")
        # Sets the visibility map (index-only scans) and the planner's statistics; outside the transaction.
        vacuum_started = time.monotonic()
        connection.execute(f"VACUUM (ANALYZE) {', '.join(_LOADED_TABLES)}")
        timings["vacuum_analyze_seconds"] = time.monotonic() - vacuum_started
    timings["total_seconds"] = time.monotonic() - started
    return timings


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
