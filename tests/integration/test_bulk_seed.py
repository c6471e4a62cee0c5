"""scripts/bulk_seed.py: reproducible, consistent data, loaded by COPY (PostgreSQL) or executemany (SQLite)."""

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from passlib.hash import argon2
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.connect import sync_url
from scripts import bulk_seed
from tests.conftest import make_settings
from tests.integration.analytics_data import REVENUE, STATUSES, iso

UNTIL = datetime(2026, 6, 1, tzinfo=UTC)
PLAN = bulk_seed.SeedPlan(users=25, products=12, orders=600, days=40, seed=5, until=UNTIL)


def rows(plan: bulk_seed.SeedPlan) -> list[object]:
    generator = bulk_seed.Generator(plan, Settings())
    out: list[object] = [generator.users(), generator.catalogue()]
    for chunk in generator.order_chunks():
        out += [chunk.orders, chunk.items, chunk.history]
    return out


def test_same_seed_same_rows_other_seed_other_rows(monkeypatch):
    monkeypatch.setattr(bulk_seed, "CHUNK_ORDERS", 250)
    first = rows(PLAN)

    assert rows(PLAN) == first
    assert rows(replace(PLAN, seed=6)) != first


def query(database, sql: str) -> list[tuple]:
    engine = create_engine(sync_url(database.url))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def seeded(app, database):
    timings = bulk_seed.seed(make_settings(database), PLAN)
    assert timings["total_seconds"] > 0
    return database


def test_orders_are_consistent_with_their_lines_and_history(seeded):
    db = seeded
    assert query(db, "SELECT count(*) FROM orders") == [(600,)]
    assert query(db, "SELECT count(*) FROM users WHERE role = 'customer'") == [(25,)]
    assert query(db, "SELECT count(*) FROM products") == [(12,)]
    bad_totals = """
        SELECT count(*) FROM orders AS o
        WHERE o.total_cents <> (SELECT sum(i.line_total_cents) FROM order_items AS i WHERE i.order_id = o.id)
    """
    assert query(db, bad_totals) == [(0,)]
    assert query(db, "SELECT count(*) FROM order_items WHERE line_total_cents <> unit_price_cents * quantity") == [(0,)]
    lines = query(db, "SELECT count(*) FROM order_items GROUP BY order_id")
    assert {count for (count,) in lines} <= set(range(1, 6)) and len(lines) == 600
    statuses = Counter(status for (status,) in query(db, "SELECT status FROM orders"))
    assert set(statuses) == {"pending", "paid", "shipped", "delivered", "cancelled"}
    assert statuses["delivered"] + statuses["shipped"] + statuses["paid"] > 0.8 * 600
    creations = """
        SELECT count(*) FROM orders AS o JOIN order_status_changes AS h
          ON h.order_id = o.id AND h.from_status IS NULL AND h.to_status = 'pending' AND h.changed_at = o.created_at
    """
    assert query(db, creations) == [(600,)]
    last_change = """
        SELECT count(*) FROM orders AS o WHERE o.status <> (
            SELECT h.to_status FROM order_status_changes AS h WHERE h.order_id = o.id
            ORDER BY h.changed_at DESC LIMIT 1)
    """
    assert query(db, last_change) == [(0,)]
    ((low, high),) = query(db, "SELECT min(created_at), max(created_at) FROM orders")
    assert UNTIL - timedelta(days=40) <= as_utc(low) < as_utc(high) < UNTIL


def as_utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def test_one_known_password_hash_for_every_account(seeded):
    hashes = query(seeded, "SELECT DISTINCT password_hash FROM users")

    assert len(hashes) == 1
    assert argon2.verify(bulk_seed.BULK_PASSWORD, hashes[0][0])


async def test_the_analytics_agree_with_the_seeded_rows(seeded, client, admin):
    """The product sales rollup (set-based after a trigger-less COPY on PostgreSQL) matches the order lines."""
    start, end = UNTIL - timedelta(days=40, hours=5), UNTIL
    direct = query(seeded, """
        SELECT i.product_id, sum(i.quantity), sum(i.line_total_cents) FROM orders AS o
        JOIN order_items AS i ON i.order_id = o.id WHERE o.status IN ('paid', 'shipped', 'delivered')
        GROUP BY i.product_id ORDER BY 3 DESC, 1
    """)  # fmt: skip

    response = await client.get(
        "/analytics/top-products", params={"start": iso(start), "end": iso(end), "limit": 100}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    got = [(item["product_id"].replace("-", ""), item["units_sold"], item["revenue_cents"]) for item in items]
    assert got == [(str(pid).replace("-", ""), int(units), int(cents)) for pid, units, cents in direct]
    params = {"start": iso(start), "end": iso(end)}
    summary = (await client.get("/analytics/summary", params=params, headers=admin.headers)).json()
    assert summary["order_count"] == 600
    assert summary["revenue_cents"] == sum(cents for _, _, cents in got)
    assert await order_figures(client, admin, start, end) == direct_order_figures(seeded, start, end)


async def order_figures(client, admin, start, end):
    """What the order rollups answer (whole days) with the orders of the partial days at either end."""
    params = {"start": iso(start), "end": iso(end)}
    summary = (await client.get("/analytics/summary", params=params, headers=admin.headers)).json()
    top = await client.get("/analytics/top-customers", params={**params, "limit": 5}, headers=admin.headers)
    customers = [(item["user_id"].replace("-", ""), item["order_count"], item["revenue_cents"])
                 for item in top.json()["items"]]  # fmt: skip
    return summary["customer_count"], summary["by_status"], customers


def direct_order_figures(database, start, end):
    every = query(database, "SELECT user_id, status, total_cents, created_at FROM orders")
    orders = [
        (str(user_id).replace("-", ""), status, int(total))
        for user_id, status, total, created_at in every
        if start <= as_utc(created_at) < end
    ]
    by_status = {status: sum(1 for _, got, _ in orders if got == status) for status in STATUSES}
    revenue: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for user_id, status, total in orders:
        if status in REVENUE:
            revenue[user_id][0] += 1
            revenue[user_id][1] += total
    top = sorted(revenue.items(), key=lambda item: (-item[1][1], item[0]))[:5]
    return len({user_id for user_id, _, _ in orders}), by_status, [(uid, count, cents) for uid, (count, cents) in top]


ROLLUP_MISMATCHES = """
    SELECT count(*) FROM (
        SELECT product_id, sum(units) AS units, sum(revenue_cents) AS cents FROM product_sales_daily GROUP BY product_id
    ) AS rollup FULL JOIN (
        SELECT i.product_id, sum(i.quantity) AS units, sum(i.line_total_cents) AS cents
        FROM orders AS o JOIN order_items AS i ON i.order_id = o.id
        WHERE o.status IN ('paid', 'shipped', 'delivered') GROUP BY i.product_id
    ) AS direct ON direct.product_id = rollup.product_id
    WHERE coalesce(direct.units, 0) <> coalesce(rollup.units, 0)
       OR coalesce(direct.cents, 0) <> coalesce(rollup.cents, 0)
"""


async def test_a_load_that_may_not_skip_triggers_is_checked_and_exact(app, database, monkeypatch, client, admin):
    from scripts import bulk_writers

    monkeypatch.setattr(bulk_writers, "_skip_triggers", lambda connection: False)
    bulk_seed.seed(make_settings(database), replace(PLAN, orders=150))

    assert query(database, "SELECT count(*) FROM orders") == [(150,)]
    assert query(database, "SELECT count(*) FROM product_sales_daily WHERE units > 0")[0][0] > 0
    assert query(database, ROLLUP_MISMATCHES) == [(0,)]
    start, end = UNTIL - timedelta(days=40, hours=5), UNTIL
    assert await order_figures(client, admin, start, end) == direct_order_figures(database, start, end)


def test_the_fast_load_sums_product_sales_exactly(seeded):
    assert query(seeded, ROLLUP_MISMATCHES) == [(0,)]


def test_the_same_seed_twice_is_refused_before_anything_is_written(seeded):
    with pytest.raises(bulk_seed.AlreadySeededError):
        bulk_seed.seed(make_settings(seeded), replace(PLAN, orders=10))

    assert query(seeded, "SELECT count(*) FROM orders") == [(600,)]
