"""Every report over ranges cut anywhere: whole days come from the rollups, partial days at either end from the
orders, and the answer equals a computation from the orders themselves, buyers counted once across both."""

import random
from datetime import timedelta

import pytest

from tests.integration.analytics_data import STATUSES, AnalyticsData, iso, utc

ORIGIN = utc(2026, 4, 27)  # a Monday, so weeks and a month end fall inside the data


@pytest.fixture
def data(app) -> AnalyticsData:
    return AnalyticsData(app)


async def report(client, admin, path, start, end, **params):
    response = await client.get(path, params={"start": iso(start), "end": iso(end), **params}, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("data_as_of", None)
    return body


async def test_random_ranges_match_the_orders(client, admin, data):
    rng = random.Random(20261201)
    buyers = [await data.customer() for _ in range(5)]
    products = [await data.product(price_cents=rng.randrange(100, 3000)) for _ in range(3)]
    for _ in range(60):
        moment = ORIGIN + timedelta(minutes=rng.randrange(9 * 24 * 60))
        # Some buyers order on a few days only, so some are seen on the edges and not inside, or the reverse.
        buyer = buyers[min(rng.randrange(7), 4)]
        await data.order(buyer, moment, (rng.choice(products), rng.randrange(1, 4)), status=rng.choice(STATUSES))

    for attempt in range(12):
        start = ORIGIN + timedelta(minutes=rng.randrange(-600, 5 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(1, 6 * 24 * 60))
        if attempt == 0:
            start, end = ORIGIN + timedelta(days=1), ORIGIN + timedelta(days=4)  # whole days only
        context = f"[{iso(start)}, {iso(end)})"
        assert await report(client, admin, "/analytics/summary", start, end) == data.summary(start, end), context
        for interval in ("day", "week", "month"):
            body = await report(client, admin, "/analytics/revenue", start, end, interval=interval)
            assert body["points"] == data.points(start, end, interval), f"{context} {interval}"
        customers = await report(client, admin, "/analytics/top-customers", start, end, limit=3)
        assert customers["items"] == data.top_customers(start, end, 3), context
        products_body = await report(client, admin, "/analytics/top-products", start, end, limit=2)
        assert products_body["items"] == data.top_products(start, end, 2), context


async def test_ranges_over_whole_months_match_the_orders(client, admin, data):
    """Ranges holding whole calendar months: top customers reads those months from the monthly rollup and only
    the days around them from the daily one, and still equals the orders."""
    rng = random.Random(20261202)
    origin = utc(2026, 1, 20)
    buyers = [await data.customer() for _ in range(4)]
    product = await data.product(price_cents=1250)
    for _ in range(50):
        moment = origin + timedelta(minutes=rng.randrange(100 * 24 * 60))
        await data.order(rng.choice(buyers), moment, (product, rng.randrange(1, 4)), status=rng.choice(STATUSES))
    ranges = [
        (utc(2026, 2, 1), utc(2026, 4, 1)),  # whole months only
        (utc(2026, 1, 25, 13), utc(2026, 4, 10, 7)),  # days and partial days around two whole months
        (utc(2026, 1, 31), utc(2026, 3, 2)),  # February and a day either side
        (utc(2026, 2, 2), utc(2026, 3, 30)),  # no whole month: days only
    ]
    for start, end in ranges:
        customers = await report(client, admin, "/analytics/top-customers", start, end, limit=4)
        assert customers["items"] == data.top_customers(start, end, 4), f"[{iso(start)}, {iso(end)})"
