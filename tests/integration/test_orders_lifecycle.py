import uuid

import pytest

from app.schemas.product import MAX_STOCK
from tests.conftest import assert_problem
from tests.integration.shop import make_product, place_ok, stock_of

ALL = ["pending", "paid", "shipped", "delivered", "cancelled"]
ALLOWED = {
    ("pending", "paid"),
    ("pending", "cancelled"),
    ("paid", "shipped"),
    ("paid", "cancelled"),
    ("shipped", "delivered"),
}
# The shortest way from a new order to each status.
PATH = {
    "pending": [],
    "paid": ["paid"],
    "shipped": ["paid", "shipped"],
    "delivered": ["paid", "shipped", "delivered"],
    "cancelled": ["cancelled"],
}


async def _set_status(client, admin, order_id: str, new: str):
    return await client.patch(f"/orders/{order_id}/status", json={"status": new}, headers=admin.headers)


async def _order_in(client, admin, customer, status: str, *, stock: int = 10, quantity: int = 2):
    product = await make_product(client, admin, stock=stock)
    order = await place_ok(client, customer, (product["id"], quantity))
    for step in PATH[status]:
        response = await _set_status(client, admin, order["id"], step)
        assert response.status_code == 200, response.text
    return product, order


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("new", ALL)
async def test_state_machine(client, admin, customer, current, new):
    product, order = await _order_in(client, admin, customer, current)
    stock_before = await stock_of(client, admin, product["id"])

    response = await _set_status(client, admin, order["id"], new)

    if (current, new) in ALLOWED:
        assert response.status_code == 200, response.text
        changed = response.json()
        assert changed["status"] == new
        assert changed["updated_at"] > order["updated_at"]
        assert changed["items"] == order["items"] and changed["total_cents"] == order["total_cents"]
        expected_stock = stock_before + 2 if new == "cancelled" else stock_before
        assert await stock_of(client, admin, product["id"]) == expected_stock
    else:
        problem = assert_problem(response, 409)
        assert problem["allowed"] == sorted(after for before, after in ALLOWED if before == current)
        assert (await client.get(f"/orders/{order['id']}", headers=admin.headers)).json()["status"] == current
        assert await stock_of(client, admin, product["id"]) == stock_before


async def test_history_lists_every_change_oldest_first(client, admin, customer):
    _, order = await _order_in(client, admin, customer, "delivered")
    response = await client.get(f"/orders/{order['id']}/history", headers=customer.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(item["from_status"], item["to_status"]) for item in items] == [
        (None, "pending"),
        ("pending", "paid"),
        ("paid", "shipped"),
        ("shipped", "delivered"),
    ]
    assert [item["changed_by"] for item in items] == [customer.id, admin.id, admin.id, admin.id]
    times = [item["changed_at"] for item in items]
    assert times == sorted(times) and times[0] == order["created_at"]
    final = (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()
    assert times[-1] == final["updated_at"]


async def test_owner_cancels_pending_order_and_stock_returns(client, admin, customer):
    product, order = await _order_in(client, admin, customer, "pending", stock=10, quantity=4)
    assert await stock_of(client, admin, product["id"]) == 6

    response = await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert await stock_of(client, admin, product["id"]) == 10
    history = (await client.get(f"/orders/{order['id']}/history", headers=customer.headers)).json()["items"]
    assert history[-1]["from_status"] == "pending" and history[-1]["to_status"] == "cancelled"
    assert history[-1]["changed_by"] == customer.id


async def test_owner_cancels_paid_order(client, admin, customer):
    product, order = await _order_in(client, admin, customer, "paid", stock=5, quantity=5)
    response = await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
    assert response.status_code == 200
    assert await stock_of(client, admin, product["id"]) == 5


async def test_admin_cancels_someone_elses_order(client, admin, customer):
    product, order = await _order_in(client, admin, customer, "pending", stock=3, quantity=3)
    response = await client.post(f"/orders/{order['id']}/cancel", headers=admin.headers)
    assert response.status_code == 200
    assert await stock_of(client, admin, product["id"]) == 3
    history = (await client.get(f"/orders/{order['id']}/history", headers=admin.headers)).json()["items"]
    assert history[-1]["changed_by"] == admin.id


@pytest.mark.parametrize("status", ["shipped", "delivered", "cancelled"])
async def test_cancel_is_409_after_shipping_or_twice(client, admin, customer, status):
    product, order = await _order_in(client, admin, customer, status, stock=10, quantity=2)
    stock_before = await stock_of(client, admin, product["id"])
    assert_problem(await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers), 409)
    assert await stock_of(client, admin, product["id"]) == stock_before


async def test_restock_puts_back_every_line(client, admin, customer):
    first = await make_product(client, admin, stock=10)
    second = await make_product(client, admin, stock=10)
    order = await place_ok(client, customer, (second["id"], 7), (first["id"], 3))
    await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
    assert await stock_of(client, admin, first["id"]) == 10
    assert await stock_of(client, admin, second["id"]) == 10


async def test_cancel_restocks_an_inactive_product(client, admin, customer):
    product, order = await _order_in(client, admin, customer, "pending", stock=4, quantity=4)
    await client.patch(f"/products/{product['id']}", json={"is_active": False}, headers=admin.headers)
    assert (await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)).status_code == 200
    assert await stock_of(client, admin, product["id"]) == 4


@pytest.mark.parametrize("status", ["pending", "paid"])
@pytest.mark.parametrize("via", ["cancel", "status"])
async def test_cancel_restocks_exactly_onto_a_stock_set_to_the_maximum_meanwhile(client, admin, customer, status, via):
    """Stock may be set to at most MAX_STOCK; the units of an order cancelled afterwards still come back, all."""
    product, order = await _order_in(client, admin, customer, status, stock=MAX_STOCK, quantity=1000)
    response = await client.patch(f"/products/{product['id']}", json={"stock": MAX_STOCK}, headers=admin.headers)
    assert response.status_code == 200
    if via == "cancel":
        response = await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
    else:
        response = await _set_status(client, admin, order["id"], "cancelled")
    assert response.status_code == 200, response.text
    assert await stock_of(client, admin, product["id"]) == MAX_STOCK + 1000


async def test_someone_elses_order_is_404_everywhere(client, admin, customer, register):
    _, order = await _order_in(client, admin, customer, "pending")
    stranger = await register()
    for response in (
        await client.get(f"/orders/{order['id']}", headers=stranger.headers),
        await client.get(f"/orders/{order['id']}/history", headers=stranger.headers),
        await client.post(f"/orders/{order['id']}/cancel", headers=stranger.headers),
    ):
        problem = assert_problem(response, 404)
        assert problem["detail"] == "No such order."
    assert (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()["status"] == "pending"


async def test_missing_order_is_404(client, admin, customer):
    missing = uuid.uuid4()
    assert_problem(await client.get(f"/orders/{missing}", headers=customer.headers), 404)
    assert_problem(await client.get(f"/orders/{missing}/history", headers=customer.headers), 404)
    assert_problem(await client.post(f"/orders/{missing}/cancel", headers=customer.headers), 404)
    assert_problem(await _set_status(client, admin, str(missing), "paid"), 404)
    assert_problem(await client.get("/orders/not-a-uuid", headers=customer.headers), 422)


async def test_owner_and_admin_read_the_order(client, admin, customer):
    _, order = await _order_in(client, admin, customer, "pending")
    for account in (customer, admin):
        response = await client.get(f"/orders/{order['id']}", headers=account.headers)
        assert response.status_code == 200
        assert response.json() == order


async def test_order_routes_need_a_token(client, admin, customer):
    _, order = await _order_in(client, admin, customer, "pending")
    for response in (
        await client.get("/orders"),
        await client.get(f"/orders/{order['id']}"),
        await client.get(f"/orders/{order['id']}/history"),
        await client.post(f"/orders/{order['id']}/cancel"),
        await client.patch(f"/orders/{order['id']}/status", json={"status": "paid"}),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


async def test_customer_cannot_change_status(client, admin, customer):
    _, order = await _order_in(client, admin, customer, "pending")
    response = await _set_status(client, customer, order["id"], "paid")
    assert_problem(response, 403)
    assert (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()["status"] == "pending"


@pytest.mark.parametrize("body", [{"status": "refunded"}, {}, {"status": "paid", "total_cents": 1}, {"status": None}])
async def test_status_body_is_validated(client, admin, customer, body):
    _, order = await _order_in(client, admin, customer, "pending")
    response = await client.patch(f"/orders/{order['id']}/status", json=body, headers=admin.headers)
    assert_problem(response, 422)


async def test_cancelled_through_patch_restocks_once(client, admin, customer):
    product, order = await _order_in(client, admin, customer, "paid", stock=6, quantity=6)
    assert (await _set_status(client, admin, order["id"], "cancelled")).status_code == 200
    assert_problem(await _set_status(client, admin, order["id"], "cancelled"), 409)
    assert_problem(await client.post(f"/orders/{order['id']}/cancel", headers=customer.headers), 409)
    assert await stock_of(client, admin, product["id"]) == 6
