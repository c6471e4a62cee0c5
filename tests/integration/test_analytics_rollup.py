"""The rollups stay equal to the figures computed from orders and their lines, whatever changes them:
product_sales_daily, order_stats_daily, customer_sales_daily, customer_sales_monthly and customer_returns_daily.

Also: the indexes migration 0003 creates are the ones the models declare, the INCLUDE columns too (which
`alembic check` does not compare).
"""

import asyncio
import random
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from app.models import (
    NO_PREVIOUS_DAY,
    CustomerReturnsDaily,
    CustomerSalesDaily,
    CustomerSalesMonthly,
    Order,
    OrderItem,
    OrderStatsDaily,
    ProductSalesDaily,
)
from tests.integration.analytics_data import REVENUE, STATUSES, AnalyticsData, Line, PlacedOrder, utc


@pytest.fixture
def data(app) -> AnalyticsData:
    return AnalyticsData(app)


def expected(data: AnalyticsData) -> dict[tuple[str, uuid.UUID], tuple[int, int]]:
    sums: dict[tuple[str, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0])
    for order in data.orders.values():
        if order.status in REVENUE:
            for line in order.lines:
                key = (order.created_at.date().isoformat(), line.product_id)
                sums[key][0] += line.quantity
                sums[key][1] += line.line_total_cents
    return {key: (units, cents) for key, (units, cents) in sums.items()}


async def rollup(app) -> dict[tuple[str, uuid.UUID], tuple[int, int]]:
    async with app.state.container.session_factory() as session:
        rows = (await session.execute(select(ProductSalesDaily).where(ProductSalesDaily.units != 0))).scalars()
        return {(row.day.isoformat(), row.product_id): (row.units, row.revenue_cents) for row in rows}


Figures = dict[str, dict[tuple[object, ...], tuple[int, ...]]]


def expected_orders(data: AnalyticsData) -> Figures:
    """Per (day, status), per (day, buyer), per (month, buyer), and per (day, buyer's previous day with an order),
    from the orders."""
    stats: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    customers: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    months: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    for order in data.orders.values():
        day = order.created_at.date()
        stats[(day, order.status)][0] += 1
        stats[(day, order.status)][1] += order.total_cents
        revenue = order.status in REVENUE
        customers[(day, order.user_id)][0] += 1
        customers[(day, order.user_id)][1] += int(revenue)
        customers[(day, order.user_id)][2] += order.total_cents if revenue else 0
        if revenue:
            months[(day.replace(day=1), order.user_id)][0] += 1
            months[(day.replace(day=1), order.user_id)][1] += order.total_cents
    days_by_buyer: dict[uuid.UUID, list[object]] = defaultdict(list)
    for day, user_id in sorted(customers, key=lambda key: (str(key[1]), key[0])):
        days_by_buyer[user_id].append(day)
    returns: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0])
    for days in days_by_buyer.values():
        for previous, day in zip([NO_PREVIOUS_DAY, *days], days, strict=False):
            returns[(day, previous)][0] += 1
    return {
        "stats": {key: tuple(value) for key, value in stats.items()},
        "customers": {key: tuple(value) for key, value in customers.items()},
        "months": {key: tuple(value) for key, value in months.items()},
        "returns": {key: tuple(value) for key, value in returns.items()},
    }


async def order_rollups(app) -> Figures:
    """The four order rollups as stored, shards summed, rows that add up to nothing left out."""
    stats: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    returns: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0])
    async with app.state.container.session_factory() as session:
        for row in (await session.execute(select(OrderStatsDaily))).scalars():
            stats[(row.day, row.status)][0] += row.orders
            stats[(row.day, row.status)][1] += row.total_cents
        customers = {
            (row.day, row.user_id): (row.orders, row.revenue_orders, row.revenue_cents)
            for row in (await session.execute(select(CustomerSalesDaily))).scalars()
        }
        months = {
            (row.month, row.user_id): (row.revenue_orders, row.revenue_cents)
            for row in (await session.execute(select(CustomerSalesMonthly))).scalars()
            if row.revenue_orders or row.revenue_cents
        }
        for row in (await session.execute(select(CustomerReturnsDaily))).scalars():
            returns[(row.day, row.previous_day)][0] += row.customers
    return {
        "stats": {key: tuple(value) for key, value in stats.items() if any(value)},
        "customers": customers,
        "months": months,
        "returns": {key: tuple(value) for key, value in returns.items() if any(value)},
    }


async def change_line(app, data: AnalyticsData, order: PlacedOrder, quantity: int) -> None:
    line = order.lines[0]
    price = data.products[line.product_id][2]
    async with app.state.container.session_factory() as session:
        await session.execute(
            update(OrderItem)
            .where(OrderItem.order_id == order.id, OrderItem.position == 0)
            .values(quantity=quantity, line_total_cents=price * quantity)
        )
        await session.commit()
    lines = (Line(line.product_id, quantity, price * quantity), *order.lines[1:])
    data.orders[order.id] = replace(order, lines=lines)


async def move(app, data: AnalyticsData, order: PlacedOrder, by: timedelta) -> None:
    async with app.state.container.session_factory() as session:
        await session.execute(update(Order).where(Order.id == order.id).values(created_at=order.created_at + by))
        await session.commit()
    data.orders[order.id] = replace(order, created_at=order.created_at + by)


async def test_random_changes_keep_the_rollup_exact(app, data):
    rng = random.Random(20261126)
    buyers = [await data.customer() for _ in range(3)]
    products = [await data.product(price_cents=rng.randrange(100, 5000)) for _ in range(4)]
    for _ in range(25):
        lines = [(pid, rng.randrange(1, 4)) for pid in rng.sample(products, rng.randrange(1, 4))]
        # Five days across a month's end: the monthly rollup sees orders move between months too.
        moment = utc(2026, 4, 28) + timedelta(minutes=rng.randrange(5 * 24 * 60))
        await data.order(rng.choice(buyers), moment, *lines, status=rng.choice(STATUSES))
    assert await rollup(app) == expected(data)
    assert await order_rollups(app) == expected_orders(data)

    for step in range(40):
        order = rng.choice(list(data.orders.values()))
        action = rng.randrange(10)
        if action < 6:
            await data.set_status(order.id, rng.choice(STATUSES))
        elif action == 6:
            await data.delete_order(order.id)
        elif action == 7:
            await change_line(app, data, order, rng.randrange(1, 6))
        elif action == 8:
            await move(app, data, order, timedelta(hours=rng.randrange(-30, 30)))
        else:
            await data.order(rng.choice(buyers), order.created_at, (rng.choice(products), 2), status="paid")
        assert await rollup(app) == expected(data), f"step {step}, action {action}"
        assert await order_rollups(app) == expected_orders(data), f"step {step}, action {action}"


async def test_concurrent_payments_of_the_same_products(app, data):
    """Orders sharing products, paid at once in separate transactions: no deadlock, no lost update."""
    buyer = await data.customer()
    first, second = await data.product(price_cents=300), await data.product(price_cents=500)
    orders = [
        await data.order(buyer, utc(2026, 6, 1, 12), *(((first, 1), (second, 2))[:: 1 if n % 2 else -1]),
                         status="pending")
        for n in range(8)
    ]  # fmt: skip

    async def pay(order_id: uuid.UUID) -> None:
        async with app.state.container.session_factory() as session:
            await session.execute(update(Order).where(Order.id == order_id).values(status="paid"))
            await asyncio.sleep(0.01)
            await session.commit()

    await asyncio.gather(*(pay(order.id) for order in orders))
    for order in orders:
        data.orders[order.id] = replace(order, status="paid")

    assert await rollup(app) == expected(data) == {("2026-06-01", first): (8, 2400), ("2026-06-01", second): (16, 8000)}


async def test_concurrent_orders_and_payments_keep_the_order_rollups_exact(app, data):
    """Buyers' first orders of several days and payments, in overlapping transactions: every day still links to
    the buyer's day before it, and no count is lost."""
    buyers = [await data.customer() for _ in range(2)]
    product = await data.product(price_cents=700)
    pending = [await data.order(buyers[0], utc(2026, 6, 10, 9), (product, 1), status="pending") for _ in range(4)]
    placed: list[Order] = [
        Order(id=uuid.uuid4(), user_id=buyers[n % 2], status="pending", currency="USD", total_cents=700,
              created_at=utc(2026, 6, 1 + n, 12), updated_at=utc(2026, 6, 1 + n, 12))
        for n in range(8)
    ]  # fmt: skip

    async def place(order: Order) -> None:
        async with app.state.container.session_factory() as session:
            session.add(order)
            await session.flush()
            await asyncio.sleep(0.02)
            await session.commit()

    async def pay(order_id: uuid.UUID) -> None:
        async with app.state.container.session_factory() as session:
            await session.execute(update(Order).where(Order.id == order_id).values(status="paid"))
            await asyncio.sleep(0.02)
            await session.commit()

    await asyncio.gather(*(place(order) for order in placed), *(pay(order.id) for order in pending))
    for order in placed:
        data.orders[order.id] = PlacedOrder(order.id, order.user_id, "pending", order.created_at, 700, ())
    for order in pending:
        data.orders[order.id] = replace(order, status="paid")

    assert await order_rollups(app) == expected_orders(data)


async def test_emptying_the_orders_empties_the_rollup(app, data, database):
    buyer = await data.customer()
    await data.product()
    await data.order(buyer, utc(2026, 6, 2), status="delivered")
    await data.order(buyer, utc(2026, 6, 3), status="paid")
    assert len(await rollup(app)) == 2

    emptying = "TRUNCATE orders CASCADE" if database.backend == "postgresql" else "DELETE FROM orders"
    async with app.state.container.engine.begin() as connection:
        await connection.execute(text(emptying))

    assert await rollup(app) == {}
    assert await order_rollups(app) == {"stats": {}, "customers": {}, "months": {}, "returns": {}}


async def test_migration_creates_the_covering_index_the_model_declares(app, database):
    index = next(index for index in Order.__table__.indexes if index.name == "ix_orders_created_at_id")
    async with app.state.container.engine.connect() as connection:
        if database.backend == "postgresql":
            definition = await connection.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_orders_created_at_id'")
            )
            include = ", ".join(index.dialect_options["postgresql"]["include"])
            assert definition.endswith(f"(created_at, id) INCLUDE ({include})"), definition
        else:
            sql = await connection.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_orders_created_at_id'"))
            assert "(created_at, id)" in sql


async def test_erasing_a_buyer_keeps_the_rollups_and_the_reports(app, data, client, admin):
    """An erased account keeps its orders (accounting): rollups and reports are unchanged, its email is null."""
    keeper, leaver = await data.customer(), await data.customer()
    await data.product(price_cents=900)
    await data.order(keeper, utc(2026, 6, 1, 10), status="paid")
    await data.order(leaver, utc(2026, 6, 1, 11), status="delivered")
    await data.order(leaver, utc(2026, 6, 3, 9), status="shipped")
    await data.order(leaver, utc(2026, 6, 4, 12), status="cancelled")
    before = await order_rollups(app)

    erased = await client.delete(f"/users/{leaver}", headers=admin.headers)

    assert erased.status_code == 204, erased.text
    assert await order_rollups(app) == before == expected_orders(data)
    params = {"start": "2026-06-01T06:00:00Z", "end": "2026-06-05T00:00:00Z", "limit": 5}
    summary = (await client.get("/analytics/summary", params=params, headers=admin.headers)).json()
    top = (await client.get("/analytics/top-customers", params=params, headers=admin.headers)).json()
    assert summary["customer_count"] == 2 and summary["order_count"] == 4
    assert [(item["user_id"], item["email"], item["revenue_cents"]) for item in top["items"]] == [
        (str(leaver), None, 1800),
        (str(keeper), data.emails[keeper], 900),
    ]
