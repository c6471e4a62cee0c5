"""product_sales_daily stays equal to the figures computed from orders and their lines, whatever changes them.

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

from app.models import Order, OrderItem, ProductSalesDaily
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
        moment = utc(2026, 5, 1) + timedelta(minutes=rng.randrange(5 * 24 * 60))
        await data.order(rng.choice(buyers), moment, *lines, status=rng.choice(STATUSES))
    assert await rollup(app) == expected(data)

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
