"""Who may read the analytics, and the 422s of their query parameters."""

import pytest

from tests.conftest import assert_problem

ROUTES = ["/analytics/summary", "/analytics/revenue", "/analytics/top-products", "/analytics/top-customers"]


@pytest.mark.parametrize("path", ROUTES)
async def test_admin_only(client, admin, customer, path):
    assert_problem(await client.get(path), 401)
    assert_problem(await client.get(path, headers={"Authorization": "Bearer not-a-token"}), 401)
    forbidden = assert_problem(await client.get(path, headers=customer.headers), 403)
    assert "admin" in forbidden["detail"]
    assert (await client.get(path, headers=admin.headers)).status_code == 200


async def test_who_is_asking_is_decided_before_the_parameters(client, customer):
    bad = {"start": "garbage", "limit": "0"}

    response = await client.get("/analytics/summary", params=bad)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert_problem(await client.get("/analytics/top-products", params=bad, headers=customer.headers), 403)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),  # empty
        ("2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"),  # reversed
        ("2026-03-01T01:00:00+01:00", "2026-03-01T00:00:00Z"),  # the same instant, spelled differently
    ],
)
async def test_end_not_after_start(client, admin, path, start, end):
    body = assert_problem(await client.get(path, params={"start": start, "end": end}, headers=admin.headers), 422)

    assert body["errors"][0]["loc"] == ["query", "end"]
    assert body["errors"][0]["type"] == "range_empty"


async def test_only_start_in_the_future_is_an_empty_range(client, admin):
    response = await client.get("/analytics/summary", params={"start": "2999-01-01T00:00:00Z"}, headers=admin.headers)

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "end"]


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", ["garbage", "2026-13-01T00:00:00Z", "2026-02-30", "1700000000", "", "-1"])
async def test_unreadable_datetimes(client, admin, field, value):
    response = await client.get("/analytics/summary", params={field: value}, headers=admin.headers)

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", field]


async def test_dates_out_of_range_are_422_not_500(client, admin):
    for params, field in (
        ({"start": "0001-01-01T00:00:00+01:00"}, "start"),
        ({"end": "0001-01-01T12:00:00Z"}, "start"),  # 30 days before it does not exist
        ({"end": "9999-12-31T23:59:59-05:00"}, "end"),
    ):
        response = await client.get("/analytics/summary", params=params, headers=admin.headers)
        assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", field], params


async def test_the_whole_calendar_is_a_valid_range_for_monthly_revenue(client, admin):
    params = {"start": "1970-01-01T00:00:00Z", "end": "2050-01-01T00:00:00Z", "interval": "month"}

    response = await client.get("/analytics/revenue", params=params, headers=admin.headers)

    assert response.status_code == 200, response.text
    assert len(response.json()["points"]) == 80 * 12


@pytest.mark.parametrize("interval", ["hour", "DAY", "", "year"])
async def test_unknown_interval(client, admin, interval):
    response = await client.get("/analytics/revenue", params={"interval": interval}, headers=admin.headers)

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "interval"]


@pytest.mark.parametrize("path", ["/analytics/top-products", "/analytics/top-customers"])
@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5"])
async def test_limit_outside_1_to_100(client, admin, path, limit):
    response = await client.get(path, params={"limit": limit}, headers=admin.headers)

    assert assert_problem(response, 422)["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("path", ["/analytics/top-products", "/analytics/top-customers"])
async def test_limit_bounds_are_accepted(client, admin, path):
    for limit in ("1", "100"):
        assert (await client.get(path, params={"limit": limit}, headers=admin.headers)).status_code == 200
