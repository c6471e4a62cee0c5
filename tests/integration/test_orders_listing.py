import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import assert_problem
from tests.integration.shop import all_orders, make_product, place_ok, recording_reads


async def _orders(client, admin, account, count: int) -> list[dict]:
    product = await make_product(client, admin, stock=1000)
    return [await place_ok(client, account, (product["id"], index + 1)) for index in range(count)]


async def test_customers_see_only_their_own_orders_newest_first(client, admin, customer, register):
    mine = await _orders(client, admin, customer, 3)
    other = await register()
    theirs = await _orders(client, admin, other, 2)

    response = await client.get("/orders", headers=customer.headers)

    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    assert page["items"] == list(reversed(mine))
    assert [order["id"] for order in await all_orders(client, other)] == [o["id"] for o in reversed(theirs)]


async def test_admin_sees_everyone_and_filters_by_user(client, admin, customer, register):
    mine = await _orders(client, admin, customer, 2)
    other = await register()
    theirs = await _orders(client, admin, other, 2)

    everything = await all_orders(client, admin)
    assert {order["id"] for order in everything} == {order["id"] for order in mine + theirs}
    created = [order["created_at"] for order in everything]
    assert created == sorted(created, reverse=True)

    filtered = await all_orders(client, admin, user_id=other.id)
    assert [order["id"] for order in filtered] == [order["id"] for order in reversed(theirs)]
    assert await all_orders(client, admin, user_id=str(uuid.uuid4())) == []


async def test_customer_filtering_by_user_is_422(client, admin, customer, register):
    other = await register()
    await _orders(client, admin, other, 1)
    for user_id in (other.id, customer.id):
        response = await client.get("/orders", params={"user_id": user_id}, headers=customer.headers)
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["loc"] == ["query", "user_id"]


async def test_status_filter(client, admin, customer):
    orders = await _orders(client, admin, customer, 3)
    await client.patch(f"/orders/{orders[1]['id']}/status", json={"status": "paid"}, headers=admin.headers)
    await client.post(f"/orders/{orders[2]['id']}/cancel", headers=customer.headers)

    async def ids(status: str) -> list[str]:
        return [order["id"] for order in await all_orders(client, customer, status=status)]

    assert await ids("pending") == [orders[0]["id"]]
    assert await ids("paid") == [orders[1]["id"]]
    assert await ids("cancelled") == [orders[2]["id"]]
    assert await ids("delivered") == []
    assert_problem(await client.get("/orders", params={"status": "lost"}, headers=customer.headers), 422)


async def test_created_range_is_half_open_and_naive_times_are_utc(client, admin, customer):
    orders = await _orders(client, admin, customer, 3)
    first, middle, last = (datetime.fromisoformat(order["created_at"]) for order in orders)

    async def ids(**params: str) -> list[str]:
        return [order["id"] for order in await all_orders(client, customer, **params)]

    # created_from is inclusive, created_to exclusive.
    assert await ids(created_from=middle.isoformat()) == [orders[2]["id"], orders[1]["id"]]
    assert await ids(created_to=middle.isoformat()) == [orders[0]["id"]]
    assert await ids(created_from=first.isoformat(), created_to=last.isoformat()) == [
        orders[1]["id"],
        orders[0]["id"],
    ]
    # Without an offset the time is UTC; with one, it is converted.
    naive = middle.replace(tzinfo=None).isoformat()
    assert await ids(created_from=naive) == [orders[2]["id"], orders[1]["id"]]
    shifted = middle.astimezone(timezone(timedelta(hours=2))).isoformat()
    assert await ids(created_from=shifted) == [orders[2]["id"], orders[1]["id"]]
    assert await ids(created_from=(last + timedelta(seconds=1)).isoformat()) == []


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "2026-01-02T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
        {"created_from": "2026-01-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
        {"created_from": "yesterday"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "definitely not a cursor"},
        {"cursor": "eyJhIjoxfQ"},
        {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ"},
    ],
)
async def test_bad_list_queries_are_422(client, customer, params):
    assert_problem(await client.get("/orders", params=params, headers=customer.headers), 422)


async def test_pages_follow_the_cursor_and_limit(client, admin, customer):
    orders = await _orders(client, admin, customer, 5)
    first = (await client.get("/orders", params={"limit": 2}, headers=customer.headers)).json()
    assert [o["id"] for o in first["items"]] == [orders[4]["id"], orders[3]["id"]]
    assert first["next_cursor"]
    second = (
        await client.get("/orders", params={"limit": 2, "cursor": first["next_cursor"]}, headers=customer.headers)
    ).json()
    assert [o["id"] for o in second["items"]] == [orders[2]["id"], orders[1]["id"]]
    third = (
        await client.get("/orders", params={"limit": 2, "cursor": second["next_cursor"]}, headers=customer.headers)
    ).json()
    assert [o["id"] for o in third["items"]] == [orders[0]["id"]]
    assert third["next_cursor"] is None


async def test_default_limit_is_20(client, admin, customer):
    await _orders(client, admin, customer, 21)
    page = (await client.get("/orders", headers=customer.headers)).json()
    assert len(page["items"]) == 20 and page["next_cursor"] is not None


async def test_paging_while_new_orders_arrive_neither_repeats_nor_skips(client, admin, customer):
    product = await make_product(client, admin, stock=1000)
    existing = [await place_ok(client, customer, (product["id"], 1)) for _ in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/orders", params=params, headers=customer.headers)).json()
        seen.extend(order["id"] for order in page["items"])
        await place_ok(client, customer, (product["id"], 1))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [order["id"] for order in reversed(existing)]


async def test_a_page_with_its_lines_is_one_statement(app, client, admin, customer):
    products = [await make_product(client, admin, stock=100) for _ in range(3)]
    for _ in range(6):
        await place_ok(client, customer, *((product["id"], 1) for product in products))

    with recording_reads(app) as reads:
        response = await client.get("/orders", params={"limit": 5}, headers=customer.headers)

    assert response.status_code == 200
    assert [len(order["items"]) for order in response.json()["items"]] == [3] * 5
    # The token's session check, then the page: orders, their lines and the JSON, in one statement.
    assert len(reads) == 2, reads
    assert "order_items" in reads[1] and "count(" not in reads[1].lower()
