"""GET /analytics/summary: every figure against a computation from the orders the test created."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.analytics_data import AnalyticsData, iso, utc

START, END = utc(2026, 3, 1), utc(2026, 4, 1)


@pytest.fixture
def data(app) -> AnalyticsData:
    return AnalyticsData(app)


async def summary(client, admin, start=START, end=END, **params):
    response = await client.get(
        "/analytics/summary", params={"start": iso(start), "end": iso(end), **params}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("data_as_of")
    return body


async def test_every_figure_matches_the_orders(client, admin, data):
    alice, bob, carol = [await data.customer() for _ in range(3)]
    cheap, dear = await data.product(price_cents=333), await data.product(price_cents=1999)
    await data.order(alice, utc(2026, 3, 2, 9), (cheap, 2), (dear, 1), status="delivered")
    await data.order(alice, utc(2026, 3, 5), (dear, 3), status="shipped")
    await data.order(bob, utc(2026, 3, 9), (cheap, 1), status="paid")
    await data.order(bob, utc(2026, 3, 10), (dear, 1), status="pending")
    await data.order(carol, utc(2026, 3, 11), (cheap, 5), status="cancelled")
    await data.order(carol, utc(2026, 3, 12), (dear, 2), status="cancelled")
    await data.order(carol, utc(2026, 2, 28, 23, 59), (dear, 9), status="delivered")  # before the range
    await data.order(alice, utc(2026, 4, 1), (dear, 9), status="delivered")  # at `end`: excluded

    body = await summary(client, admin)

    assert body == data.summary(START, END)
    assert body["order_count"] == 6 and body["customer_count"] == 3
    assert body["revenue_cents"] == 333 * 2 + 1999 + 1999 * 3 + 333
    assert body["cancelled_count"] == 2 and body["cancellation_rate"] == pytest.approx(2 / 6)
    assert body["by_status"] == {"pending": 1, "paid": 1, "shipped": 1, "delivered": 1, "cancelled": 2}


async def test_average_order_value_is_rounded_down(client, admin, data):
    buyer, item = await data.customer(), await data.product(price_cents=100)
    for quantity in (1, 1, 2):  # 400 cents over 3 revenue orders: 133.33...
        await data.order(buyer, utc(2026, 3, 3), (item, quantity), status="paid")
    await data.order(buyer, utc(2026, 3, 3), (item, 50), status="pending")  # not revenue

    body = await summary(client, admin)

    assert body["revenue_cents"] == 400
    assert body["average_order_value_cents"] == 133 == data.summary(START, END)["average_order_value_cents"]


async def test_customer_count_counts_buyers_of_any_status_once(client, admin, data):
    buyers = [await data.customer() for _ in range(3)]
    await data.product()
    await data.order(buyers[0], utc(2026, 3, 1), status="cancelled")
    await data.order(buyers[0], utc(2026, 3, 2), status="delivered")
    await data.order(buyers[1], utc(2026, 3, 3), status="pending")
    await data.order(buyers[2], utc(2026, 5, 1), status="delivered")  # outside

    assert (await summary(client, admin))["customer_count"] == 2


async def test_an_empty_range_answers_zeros_and_every_status(client, admin):
    body = await summary(client, admin)

    assert body["order_count"] == body["revenue_cents"] == body["average_order_value_cents"] == 0
    assert body["customer_count"] == body["cancelled_count"] == 0
    assert body["cancellation_rate"] == 0 and isinstance(body["cancellation_rate"], (int, float))
    assert body["by_status"] == dict.fromkeys(("pending", "paid", "shipped", "delivered", "cancelled"), 0)


async def test_no_revenue_orders_means_an_average_of_zero(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=500)
    await data.order(buyer, utc(2026, 3, 4), status="cancelled")
    await data.order(buyer, utc(2026, 3, 4), status="pending")

    body = await summary(client, admin)

    assert body["average_order_value_cents"] == 0 and body["revenue_cents"] == 0
    assert body["cancellation_rate"] == 0.5


async def test_range_is_half_open(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=700)
    at_start = await data.order(buyer, START, status="paid")
    await data.order(buyer, END, status="paid")
    await data.order(buyer, START - timedelta(microseconds=1), status="paid")
    last = await data.order(buyer, END - timedelta(microseconds=1), status="paid")

    body = await summary(client, admin)

    assert body["order_count"] == 2
    assert body["revenue_cents"] == at_start.total_cents + last.total_cents


async def test_offsets_and_naive_datetimes(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=700)
    await data.order(buyer, utc(2026, 3, 1, 0, 30), status="paid")

    shifted = await client.get(
        "/analytics/summary",
        params={"start": "2026-03-01T02:00:00+02:00", "end": "2026-03-01T01:00:00"},  # 00:00Z and 01:00Z
        headers=admin.headers,
    )

    assert shifted.status_code == 200, shifted.text
    body = shifted.json()
    assert (body["start"], body["end"]) == ("2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z")
    assert body["order_count"] == 1


async def test_default_range_is_the_last_30_days(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=250)
    now = datetime.now(UTC)
    await data.order(buyer, now - timedelta(days=1), status="delivered")
    await data.order(buyer, now - timedelta(days=29, hours=23), status="paid")
    await data.order(buyer, now - timedelta(days=30, minutes=5), status="delivered")  # older than the window
    await data.order(buyer, now + timedelta(hours=1), status="delivered")  # after `end` (now)

    response = await client.get("/analytics/summary", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert end - start == timedelta(days=30)
    assert abs(end - datetime.now(UTC)) < timedelta(minutes=1)
    assert body["order_count"] == 2 and body["revenue_cents"] == 500


async def test_only_start_given_ends_now_and_only_end_given_starts_30_days_before(client, admin):
    start = datetime.now(UTC) - timedelta(days=3)
    since = await client.get("/analytics/summary", params={"start": iso(start)}, headers=admin.headers)
    until = await client.get("/analytics/summary", params={"end": iso(END)}, headers=admin.headers)

    assert since.status_code == until.status_code == 200
    assert abs(datetime.fromisoformat(since.json()["end"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert (until.json()["start"], until.json()["end"]) == (iso(END - timedelta(days=30)), iso(END))


@pytest.mark.parametrize("path", ["/analytics/summary", "/analytics/revenue", "/analytics/top-products",
                                  "/analytics/top-customers"])  # fmt: skip
async def test_every_report_says_up_to_when_its_data_is_complete(client, admin, path):
    before = datetime.now(UTC).replace(microsecond=0)
    response = await client.get(path, headers=admin.headers)
    after = datetime.now(UTC)

    assert response.status_code == 200, response.text
    data_as_of = datetime.fromisoformat(response.json()["data_as_of"])
    assert before <= data_as_of <= after
