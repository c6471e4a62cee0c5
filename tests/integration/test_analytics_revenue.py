"""GET /analytics/revenue: UTC periods, zero-filled and in order, across week and month boundaries."""

from datetime import timedelta

import pytest

from tests.integration.analytics_data import AnalyticsData, iso, utc


@pytest.fixture
def data(app) -> AnalyticsData:
    return AnalyticsData(app)


async def revenue(client, admin, start, end, interval=None):
    params = {"start": iso(start), "end": iso(end), **({"interval": interval} if interval else {})}
    response = await client.get("/analytics/revenue", params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def month_end(data):
    """Orders around the end of January 2026 (Saturday the 31st) and the start of February (Monday the 2nd)."""
    buyer = await data.customer()
    item = await data.product(price_cents=1250)
    await data.order(buyer, utc(2026, 1, 29, 23, 59, 59), (item, 1), status="paid")
    await data.order(buyer, utc(2026, 1, 31, 23, 59, 59, 999999), (item, 2), status="delivered")
    await data.order(buyer, utc(2026, 2, 1), (item, 3), status="shipped")  # Sunday, first of the month
    await data.order(buyer, utc(2026, 2, 2), (item, 4), status="delivered")  # Monday: a new week
    await data.order(buyer, utc(2026, 2, 2, 12), (item, 5), status="cancelled")  # not revenue
    await data.order(buyer, utc(2026, 2, 2, 13), (item, 6), status="pending")  # not revenue
    await data.order(buyer, utc(2026, 2, 4, 8), (item, 1), status="paid")
    return data


async def test_days_across_a_month_end_are_zero_filled(client, admin, month_end):
    start, end = utc(2026, 1, 28, 18), utc(2026, 2, 5, 6)

    body = await revenue(client, admin, start, end, "day")

    assert body["interval"] == "day"
    assert body["points"] == month_end.points(start, end, "day")
    assert [point["period_start"] for point in body["points"]] == [
        f"2026-01-{day}T00:00:00Z" for day in (28, 29, 30, 31)
    ] + [f"2026-02-0{day}T00:00:00Z" for day in (1, 2, 3, 4, 5)]
    by_day = {point["period_start"][:10]: point for point in body["points"]}
    assert by_day["2026-01-30"] == {"period_start": "2026-01-30T00:00:00Z", "order_count": 0, "revenue_cents": 0}
    assert by_day["2026-02-02"]["order_count"] == 1 and by_day["2026-02-02"]["revenue_cents"] == 4 * 1250


async def test_weeks_start_on_monday(client, admin, month_end):
    start, end = utc(2026, 1, 21), utc(2026, 2, 17)  # a Wednesday to a Tuesday

    body = await revenue(client, admin, start, end, "week")

    assert body["points"] == month_end.points(start, end, "week")
    assert [point["period_start"][:10] for point in body["points"]] == [
        "2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09", "2026-02-16",
    ]  # fmt: skip
    counts = [point["order_count"] for point in body["points"]]
    assert counts == [0, 3, 2, 0, 0]  # Sunday 1 Feb still belongs to the week of Monday 26 Jan


async def test_months_overlapping_the_range(client, admin, month_end):
    start, end = utc(2025, 12, 15), utc(2026, 3, 1)  # ends exactly at a month boundary

    body = await revenue(client, admin, start, end, "month")

    assert body["points"] == month_end.points(start, end, "month")
    assert [point["period_start"][:10] for point in body["points"]] == ["2025-12-01", "2026-01-01", "2026-02-01"]
    assert [point["revenue_cents"] for point in body["points"]] == [0, 3 * 1250, (3 + 4 + 1) * 1250]


async def test_range_edges_are_half_open(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=100)
    await data.order(buyer, utc(2026, 2, 2), status="paid")  # exactly at start
    await data.order(buyer, utc(2026, 2, 4), status="paid")  # exactly at end

    body = await revenue(client, admin, utc(2026, 2, 2), utc(2026, 2, 4), "day")

    assert [(p["period_start"][:10], p["order_count"]) for p in body["points"]] == [
        ("2026-02-02", 1), ("2026-02-03", 0),
    ]  # fmt: skip


async def test_default_interval_is_day_over_the_last_30_days(client, admin):
    response = await client.get("/analytics/revenue", headers=admin.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval"] == "day"
    assert len(body["points"]) in (30, 31)  # 31 unless "now" is exactly midnight
    assert all(point["order_count"] == point["revenue_cents"] == 0 for point in body["points"])


async def test_a_sub_day_range_has_one_point(client, admin, data):
    buyer = await data.customer()
    await data.product(price_cents=900)
    await data.order(buyer, utc(2026, 2, 3, 10), status="delivered")
    await data.order(buyer, utc(2026, 2, 3, 9), status="delivered")  # before start

    body = await revenue(client, admin, utc(2026, 2, 3, 9, 30), utc(2026, 2, 3, 11), "month")

    assert body["points"] == [{"period_start": "2026-02-01T00:00:00Z", "order_count": 1, "revenue_cents": 900}]


async def test_too_many_points_is_refused_but_a_coarser_interval_is_not(client, admin):
    start = utc(2020, 1, 1)
    params = {"start": iso(start), "end": iso(start + timedelta(days=1001))}

    too_many = await client.get("/analytics/revenue", params={**params, "interval": "day"}, headers=admin.headers)
    weekly = await client.get("/analytics/revenue", params={**params, "interval": "week"}, headers=admin.headers)
    at_cap = await client.get(
        "/analytics/revenue",
        params={"start": iso(start), "end": iso(start + timedelta(days=1000)), "interval": "day"},
        headers=admin.headers,
    )

    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["loc"] == ["query", "interval"]
    assert weekly.status_code == 200 and len(weekly.json()["points"]) == 144
    assert at_cap.status_code == 200 and len(at_cap.json()["points"]) == 1000
