"""Races through the real stack: every request has its own unit of work, hence its own connection.

`watch_connections` proves the requests overlapped: several connections were checked out at once.
"""

import asyncio
import itertools
from collections import Counter

import pytest

from tests.conftest import assert_problem
from tests.integration.shop import all_orders, make_product, place, place_ok, stock_of, watch_connections


def _statuses(responses) -> Counter[int]:
    return Counter(response.status_code for response in responses)


async def test_thirty_buyers_for_ten_units(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)

    with watch_connections(app) as pool:
        responses = await asyncio.gather(*(place(client, customer, (product["id"], 1)) for _ in range(30)))

    assert pool.peak > 1
    assert _statuses(responses) == {201: 10, 409: 20}
    for response in responses:
        if response.status_code == 409:
            assert product["sku"] in assert_problem(response, 409)["detail"]
    assert await stock_of(client, admin, product["id"]) == 0
    assert len(await all_orders(client, admin)) == 10


async def test_buyers_with_different_quantities_never_oversell(app, client, admin, customer):
    product = await make_product(client, admin, stock=20)
    quantities = [1, 2, 3, 4, 5] * 4

    with watch_connections(app) as pool:
        responses = await asyncio.gather(*(place(client, customer, (product["id"], q)) for q in quantities))

    assert pool.peak > 1
    assert set(_statuses(responses)) <= {201, 409}
    sold = sum(q for q, response in zip(quantities, responses, strict=True) if response.status_code == 201)
    assert sold <= 20
    assert await stock_of(client, admin, product["id"]) == 20 - sold
    orders = await all_orders(client, admin)
    assert sum(order["items"][0]["quantity"] for order in orders) == sold


@pytest.mark.parametrize("round_number", range(3))
async def test_opposite_line_orders_do_not_deadlock(app, client, admin, customer, round_number):
    first = await make_product(client, admin, stock=1000)
    second = await make_product(client, admin, stock=1000)
    forward = ((first["id"], 1), (second["id"], 1))
    backward = ((second["id"], 1), (first["id"], 1))

    with watch_connections(app) as pool:
        responses = await asyncio.gather(
            *(place(client, customer, *(forward if i % 2 else backward)) for i in range(20))
        )

    assert pool.peak > 1
    assert _statuses(responses) == {201: 20}, [r.text for r in responses if r.status_code != 201]
    assert await stock_of(client, admin, first["id"]) == 980
    assert await stock_of(client, admin, second["id"]) == 980


async def test_concurrent_cancels_restock_once(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (product["id"], 4))

    with watch_connections(app) as pool:
        responses = await asyncio.gather(
            *(
                client.post(f"/orders/{order['id']}/cancel", headers=(customer if i % 2 else admin).headers)
                for i in range(10)
            )
        )

    assert pool.peak > 1
    assert _statuses(responses) == {200: 1, 409: 9}
    assert await stock_of(client, admin, product["id"]) == 10
    history = (await client.get(f"/orders/{order['id']}/history", headers=customer.headers)).json()["items"]
    assert [change["to_status"] for change in history] == ["pending", "cancelled"]


async def test_concurrent_status_changes_have_one_winner(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (product["id"], 3))
    await client.patch(f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers)
    # From paid, shipped and cancelled exclude each other: exactly one request may win.
    targets = ["shipped", "cancelled"] * 5

    with watch_connections(app) as pool:
        responses = await asyncio.gather(
            *(
                client.patch(f"/orders/{order['id']}/status", json={"status": target}, headers=admin.headers)
                for target in targets
            )
        )

    assert pool.peak > 1
    assert _statuses(responses) == {200: 1, 409: 9}
    winner = next(target for target, r in zip(targets, responses, strict=True) if r.status_code == 200)
    final = (await client.get(f"/orders/{order['id']}", headers=admin.headers)).json()
    assert final["status"] == winner
    assert await stock_of(client, admin, product["id"]) == (10 if winner == "cancelled" else 7)
    history = (await client.get(f"/orders/{order['id']}/history", headers=admin.headers)).json()["items"]
    assert [change["to_status"] for change in history] == ["pending", "paid", winner]


async def test_concurrent_identical_changes_apply_once(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (product["id"], 3))

    with watch_connections(app) as pool:
        responses = await asyncio.gather(
            *(
                client.patch(f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers)
                for _ in range(10)
            )
        )

    assert pool.peak > 1
    assert _statuses(responses) == {200: 1, 409: 9}
    history = (await client.get(f"/orders/{order['id']}/history", headers=admin.headers)).json()["items"]
    assert [change["to_status"] for change in history] == ["pending", "paid"]


async def test_mixed_concurrent_changes_leave_a_valid_history(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (product["id"], 3))
    targets = ["paid", "cancelled", "shipped", "delivered"] * 3

    responses = await asyncio.gather(
        *(
            client.patch(f"/orders/{order['id']}/status", json={"status": target}, headers=admin.headers)
            for target in targets
        )
    )

    assert set(_statuses(responses)) <= {200, 409}
    history = (await client.get(f"/orders/{order['id']}/history", headers=admin.headers)).json()["items"]
    # Each accepted change is one step of the state machine from the status before it.
    assert len(history) == 1 + _statuses(responses)[200]
    for before, after in itertools.pairwise(history):
        assert after["from_status"] == before["to_status"]
    final = history[-1]["to_status"]
    assert await stock_of(client, admin, product["id"]) == (10 if final == "cancelled" else 7)


async def test_cancel_racing_an_admin_change_has_one_winner(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (product["id"], 5))
    await client.patch(f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers)

    cancel, ship = await asyncio.gather(
        client.post(f"/orders/{order['id']}/cancel", headers=customer.headers),
        client.patch(f"/orders/{order['id']}/status", json={"status": "shipped"}, headers=admin.headers),
    )

    assert sorted([cancel.status_code, ship.status_code]) == [200, 409]
    final = (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()["status"]
    assert final == ("cancelled" if cancel.status_code == 200 else "shipped")
    assert await stock_of(client, admin, product["id"]) == (10 if final == "cancelled" else 5)


async def test_ten_twins_with_one_key_make_one_order(app, client, admin, customer):
    product = await make_product(client, admin, stock=100)

    with watch_connections(app) as pool:
        responses = await asyncio.gather(*(place(client, customer, (product["id"], 3), key="twin") for _ in range(10)))

    assert pool.peak > 1
    statuses = _statuses(responses)
    assert set(statuses) <= {201, 409} and statuses[201] >= 1
    assert len({response.json()["id"] for response in responses if response.status_code == 201}) == 1
    assert await stock_of(client, admin, product["id"]) == 97
    assert len(await all_orders(client, customer)) == 1
    # Once the first has finished, every retry replays it.
    replay = await place(client, customer, (product["id"], 3), key="twin")
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"


async def test_twins_and_strangers_race_for_the_last_units(app, client, admin, customer, register):
    product = await make_product(client, admin, stock=3)
    other = await register()
    requests = [place(client, customer, (product["id"], 1), key="same") for _ in range(5)]
    requests += [place(client, other, (product["id"], 1)) for _ in range(5)]

    responses = await asyncio.gather(*requests)

    assert set(_statuses(responses)) <= {201, 409}
    orders = await all_orders(client, admin)
    assert len([o for o in orders if o["user_id"] == customer.id]) <= 1
    assert len(orders) <= 3
    assert await stock_of(client, admin, product["id"]) == 3 - len(orders)


async def test_a_sale_on_a_few_products_never_oversells_nor_deadlocks(app, client, admin, register):
    """The hot catalogue: many buyers of two-line orders over four scarce products, lines in either order."""
    stocks = [7, 9, 11, 13]
    products = [await make_product(client, admin, stock=stock) for stock in stocks]
    buyers = [await register() for _ in range(4)]
    orders = []
    for number in range(40):
        first, second = products[number % 4], products[(number + 1 + number // 4) % 4]
        if first is second:
            second = products[(number + 2) % 4]
        lines = [(first["id"], 1 + number % 3), (second["id"], 1 + number % 2)]
        orders.append((buyers[number % 4], lines if number % 2 else lines[::-1]))

    with watch_connections(app) as pool:
        responses = await asyncio.gather(*(place(client, buyer, *lines) for buyer, lines in orders))

    assert pool.peak > 1
    assert set(_statuses(responses)) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    assert _statuses(responses)[201] > 0 and _statuses(responses)[409] > 0
    sold = Counter[str]()
    for (_, lines), response in zip(orders, responses, strict=True):
        if response.status_code == 201:
            sold.update({product_id: quantity for product_id, quantity in lines})
            assert [line["quantity"] for line in response.json()["items"]] == [q for _, q in lines]
        else:
            shortages = assert_problem(response, 409)["errors"]
            assert shortages and all(error["type"] == "insufficient_stock" for error in shortages)
    for product, stock in zip(products, stocks, strict=True):
        assert sold[product["id"]] <= stock
        assert await stock_of(client, admin, product["id"]) == stock - sold[product["id"]]
    placed = await all_orders(client, admin)
    assert len(placed) == _statuses(responses)[201]
    assert sum(line["quantity"] for order in placed for line in order["items"]) == sum(sold.values())


async def test_orders_racing_a_price_change_are_priced_at_one_price_or_the_other(app, client, admin, customer):
    product = await make_product(client, admin, stock=1000, price_cents=500)

    responses = await asyncio.gather(
        *(place(client, customer, (product["id"], 2)) for _ in range(15)),
        client.patch(f"/products/{product['id']}", json={"price_cents": 700}, headers=admin.headers),
        *(place(client, customer, (product["id"], 2)) for _ in range(15)),
    )

    assert all(response.status_code in (200, 201) for response in responses), [r.text for r in responses]
    placed = [response.json() for response in responses if response.status_code == 201]
    for order in placed:
        [line] = order["items"]
        assert (line["unit_price_cents"], line["line_total_cents"], order["total_cents"]) in {
            (500, 1000, 1000),
            (700, 1400, 1400),
        }
    assert await stock_of(client, admin, product["id"]) == 1000 - 2 * len(placed)
