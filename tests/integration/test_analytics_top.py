"""GET /analytics/top-products and /analytics/top-customers: revenue orders only, ties by id, half-open ranges."""

import uuid
from datetime import timedelta

import pytest

from tests.integration.analytics_data import AnalyticsData, iso, utc

START, END = utc(2026, 3, 1), utc(2026, 4, 1)


@pytest.fixture
def data(app) -> AnalyticsData:
    return AnalyticsData(app)


async def top(client, admin, what, start=START, end=END, **params):
    response = await client.get(
        f"/analytics/top-{what}", params={"start": iso(start), "end": iso(end), **params}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def ids(*numbers: int) -> list[uuid.UUID]:
    """Version-4 UUIDs that sort like the numbers given."""
    return [uuid.UUID(f"{number:08x}-0000-4000-8000-000000000000") for number in numbers]


async def test_products_by_revenue_over_revenue_orders_only(client, admin, data):
    buyer = await data.customer()
    a, b, c = [await data.product(price_cents=price) for price in (500, 1200, 99)]
    await data.order(buyer, utc(2026, 3, 3), (a, 2), (b, 1), status="delivered")
    await data.order(buyer, utc(2026, 3, 4), (a, 1), status="paid")
    await data.order(buyer, utc(2026, 3, 5), (c, 100), status="pending")  # not revenue
    await data.order(buyer, utc(2026, 3, 6), (c, 100), status="cancelled")  # not revenue
    await data.order(buyer, utc(2026, 3, 7), (c, 3), status="shipped")

    items = await top(client, admin, "products")

    assert items == data.top_products(START, END, 10)
    assert [(item["units_sold"], item["revenue_cents"]) for item in items] == [(3, 1500), (1, 1200), (3, 297)]


async def test_product_ties_break_by_id_and_limit_applies(client, admin, data):
    buyer = await data.customer()
    products = [await data.product(price_cents=400, product_id=pid) for pid in ids(3, 1, 2)]
    await data.order(buyer, utc(2026, 3, 10), *((pid, 1) for pid in products), status="paid")

    items = await top(client, admin, "products", limit=2)

    assert [item["product_id"] for item in items] == [str(pid) for pid in ids(1, 2)]
    assert items == data.top_products(START, END, 2)


async def test_customers_by_revenue_with_ties_by_id(client, admin, data):
    first, second, third, idle = [await data.customer(user_id=uid) for uid in ids(9, 4, 7, 1)]
    item = await data.product(price_cents=1000)
    await data.order(first, utc(2026, 3, 2), (item, 2), status="delivered")
    await data.order(second, utc(2026, 3, 2), (item, 1), status="paid")
    await data.order(second, utc(2026, 3, 3), (item, 1), status="shipped")
    await data.order(third, utc(2026, 3, 4), (item, 1), status="paid")
    await data.order(third, utc(2026, 3, 4), (item, 5), status="cancelled")  # not revenue
    await data.order(idle, utc(2026, 3, 4), (item, 9), status="pending")  # not revenue

    items = await top(client, admin, "customers")

    assert items == data.top_customers(START, END, 10)
    assert [item["user_id"] for item in items] == [str(second), str(first), str(third)]  # 2000, 2000, 1000
    assert [item["order_count"] for item in items] == [2, 1, 1]
    assert (await top(client, admin, "customers", limit=1)) == items[:1]


async def test_partial_days_at_both_ends_count_exactly(client, admin, data):
    """Whole days come from the daily rollup, the ends of the range from the order lines: no gap, no overlap."""
    buyer = await data.customer()
    item, other = await data.product(price_cents=300), await data.product(price_cents=700)
    start, end = utc(2026, 3, 5, 15, 30), utc(2026, 3, 9, 6)
    moments = [
        start - timedelta(microseconds=1), start, utc(2026, 3, 5, 23, 59, 59), utc(2026, 3, 6),
        utc(2026, 3, 8, 23), utc(2026, 3, 9), end - timedelta(microseconds=1), end,
    ]  # fmt: skip
    for number, moment in enumerate(moments, start=1):
        await data.order(buyer, moment, (item, number), (other, 1), status="delivered")

    assert await top(client, admin, "products", start, end) == data.top_products(start, end, 10)
    assert await top(client, admin, "customers", start, end) == data.top_customers(start, end, 10)
    same_day = (utc(2026, 3, 5, 10), utc(2026, 3, 5, 23, 59, 59, 999999))
    assert await top(client, admin, "products", *same_day) == data.top_products(*same_day, 10)
    whole_days = (utc(2026, 3, 5), utc(2026, 3, 9))
    assert await top(client, admin, "products", *whole_days) == data.top_products(*whole_days, 10)


async def test_status_changes_move_sales_in_and_out(client, admin, data):
    buyer = await data.customer()
    item = await data.product(price_cents=250)
    pending = await data.order(buyer, utc(2026, 3, 12), (item, 4), status="pending")
    paid = await data.order(buyer, utc(2026, 3, 13), (item, 2), status="paid")

    await data.set_status(pending.id, "paid")
    await data.set_status(paid.id, "cancelled")
    await data.set_status(pending.id, "shipped")

    items = await top(client, admin, "products")
    assert items == data.top_products(START, END, 10)
    assert items[0]["units_sold"] == 4

    await data.set_status(pending.id, "pending")  # not a transition the API allows, but the figures follow
    assert await top(client, admin, "products") == []


async def test_empty_range_lists_nothing(client, admin):
    assert await top(client, admin, "products") == []
    assert await top(client, admin, "customers") == []
