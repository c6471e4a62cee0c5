"""Every report as CSV (`format=csv` or `Accept: text/csv`): a header row, then one row per point or item, the
same figures as the JSON answer, as an attachment named after the report and its range."""

import csv
import io

import pytest

from tests.conftest import assert_problem
from tests.integration.analytics_data import AnalyticsData, iso, utc

START, END = utc(2026, 3, 1, 6), utc(2026, 3, 20)
PARAMS = {"start": iso(START), "end": iso(END)}
FILENAME = "20260301T060000Z_20260320T000000Z.csv"


@pytest.fixture
async def data(app) -> AnalyticsData:
    data = AnalyticsData(app)
    alice, bob = await data.customer(), await data.customer()
    mug, teapot = await data.product(price_cents=450), await data.product(price_cents=2999)
    await data.order(alice, utc(2026, 3, 1, 7), (mug, 2), status="delivered")
    await data.order(alice, utc(2026, 3, 9), (teapot, 1), status="paid")
    await data.order(bob, utc(2026, 3, 9, 12), (mug, 1), (teapot, 1), status="shipped")
    await data.order(bob, utc(2026, 3, 15), (mug, 5), status="cancelled")
    await data.order(bob, utc(2026, 3, 19, 23), (teapot, 3), status="pending")
    return data


async def as_csv(client, admin, path, **params):
    response = await client.get(path, params={**PARAMS, **params, "format": "csv"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return response, list(csv.reader(io.StringIO(response.text)))


async def as_json(client, admin, path, **params):
    response = await client.get(path, params={**PARAMS, **params}, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_summary_is_one_row_of_the_json_figures(client, admin, data):
    response, rows = await as_csv(client, admin, "/analytics/summary")
    body = await as_json(client, admin, "/analytics/summary")

    assert response.headers["content-disposition"] == f'attachment; filename="summary_{FILENAME}"'
    header, values = rows
    flat = {**body, **body.pop("by_status")}
    assert len(rows) == 2
    assert header == [
        "start",
        "end",
        "order_count",
        "revenue_cents",
        "average_order_value_cents",
        "customer_count",
        "cancelled_count",
        "cancellation_rate",
        "pending",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
    ]
    assert values == [str(flat[name]) for name in header]
    assert values[header.index("customer_count")] == "2" and values[header.index("order_count")] == "5"


@pytest.mark.parametrize("interval", ["day", "week", "month"])
async def test_revenue_has_a_row_per_point(client, admin, data, interval):
    response, rows = await as_csv(client, admin, "/analytics/revenue", interval=interval)
    body = await as_json(client, admin, "/analytics/revenue", interval=interval)

    assert response.headers["content-disposition"] == f'attachment; filename="revenue_{FILENAME}"'
    assert rows[0] == ["period_start", "order_count", "revenue_cents"]
    assert rows[1:] == [[p["period_start"], str(p["order_count"]), str(p["revenue_cents"])] for p in body["points"]]
    assert sum(int(row[2]) for row in rows[1:]) == 450 * 2 + 2999 + 450 + 2999


async def test_top_lists_have_a_row_per_item(client, admin, data):
    for what, columns in (("products", ["product_id", "sku", "name", "units_sold", "revenue_cents"]),
                          ("customers", ["user_id", "email", "order_count", "revenue_cents"])):  # fmt: skip
        response, rows = await as_csv(client, admin, f"/analytics/top-{what}", limit=5)
        body = await as_json(client, admin, f"/analytics/top-{what}", limit=5)

        assert response.headers["content-disposition"] == f'attachment; filename="top-{what}_{FILENAME}"'
        assert rows[0] == columns
        assert rows[1:] == [[str(item[column]) for column in columns] for item in body["items"]]
        assert len(rows) == 3


@pytest.mark.parametrize(
    ("accept", "params", "is_csv"),
    [
        ("text/csv", {}, True),
        ("text/csv;q=0.9, application/json;q=0.5", {}, True),
        ("application/json, text/csv;q=0.5", {}, False),
        ("*/*", {}, False),
        (None, {}, False),
        ("application/json", {"format": "csv"}, True),
        ("text/csv", {"format": "json"}, False),
    ],
)
async def test_the_format_is_chosen_by_format_then_by_accept(client, admin, accept, params, is_csv):
    headers = {**admin.headers, **({"Accept": accept} if accept else {})}
    response = await client.get("/analytics/top-customers", params={**PARAMS, **params}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv" if is_csv else "application/json")


async def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_quoted(client, admin, app):
    data = AnalyticsData(app)
    buyer = await data.customer()
    product = await data.product(price_cents=100, sku="=SKU", name='=HYPERLINK("http://evil")')
    await data.order(buyer, utc(2026, 3, 10), (product, 1), status="paid")

    _, rows = await as_csv(client, admin, "/analytics/top-products")

    assert rows[1][1:3] == ["'=SKU", '\'=HYPERLINK("http://evil")']


async def test_csv_is_refused_as_json_is(client, customer, admin):
    assert_problem(await client.get("/analytics/summary", params={"format": "csv"}, headers=customer.headers), 403)
    assert_problem(await client.get("/analytics/summary", params={"format": "csv"}), 401)
    refused = assert_problem(
        await client.get("/analytics/summary", params={"format": "xml"}, headers=admin.headers), 422
    )
    assert refused["errors"][0]["loc"] == ["query", "format"]
