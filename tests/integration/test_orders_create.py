import uuid
from datetime import datetime

import pytest

from tests.conftest import assert_problem
from tests.integration.shop import all_orders, make_product, place, place_ok, stock_of

ORDER_FIELDS = {"id", "user_id", "status", "currency", "total_cents", "items", "created_at", "updated_at"}
ITEM_FIELDS = {"product_id", "sku", "name", "unit_price_cents", "quantity", "line_total_cents"}


async def test_order_is_priced_from_the_catalogue(client, admin, customer):
    mug = await make_product(client, admin, sku="MUG", name="Mug", price_cents=1250, stock=10)
    tea = await make_product(client, admin, sku="TEA", name="Tea", price_cents=399, stock=5)

    response = await place(client, customer, (mug["id"], 2), (tea["id"], 3))

    assert response.status_code == 201, response.text
    order = response.json()
    assert set(order) == ORDER_FIELDS
    assert order["user_id"] == customer.id
    assert order["status"] == "pending"
    assert order["currency"] == "USD"
    assert order["total_cents"] == 2 * 1250 + 3 * 399
    assert order["created_at"] == order["updated_at"]
    assert datetime.fromisoformat(order["created_at"]).utcoffset().total_seconds() == 0
    assert [set(item) for item in order["items"]] == [ITEM_FIELDS, ITEM_FIELDS]
    assert order["items"] == [
        {
            "product_id": mug["id"],
            "sku": "MUG",
            "name": "Mug",
            "unit_price_cents": 1250,
            "quantity": 2,
            "line_total_cents": 2500,
        },
        {
            "product_id": tea["id"],
            "sku": "TEA",
            "name": "Tea",
            "unit_price_cents": 399,
            "quantity": 3,
            "line_total_cents": 1197,
        },
    ]
    assert await stock_of(client, admin, mug["id"]) == 8
    assert await stock_of(client, admin, tea["id"]) == 2


async def test_later_price_changes_do_not_touch_the_order(client, admin, customer):
    product = await make_product(client, admin, price_cents=1000, name="Lamp")
    order = await place_ok(client, customer, (product["id"], 1))
    await client.patch(
        f"/products/{product['id']}", json={"price_cents": 5000, "name": "Fancy lamp"}, headers=admin.headers
    )

    again = (await client.get(f"/orders/{order['id']}", headers=customer.headers)).json()
    assert again == order
    assert again["items"][0]["unit_price_cents"] == 1000 and again["items"][0]["name"] == "Lamp"
    newer = await place_ok(client, customer, (product["id"], 1))
    assert newer["total_cents"] == 5000


async def test_the_last_unit_can_be_bought(client, admin, customer):
    product = await make_product(client, admin, stock=3)
    await place_ok(client, customer, (product["id"], 3))
    assert await stock_of(client, admin, product["id"]) == 0


async def test_insufficient_stock_is_409_naming_the_product_and_changes_nothing(client, admin, customer):
    plenty = await make_product(client, admin, stock=50)
    scarce = await make_product(client, admin, sku="SCARCE-1", stock=2)

    response = await place(client, customer, (plenty["id"], 5), (scarce["id"], 3))

    problem = assert_problem(response, 409)
    assert "SCARCE-1" in problem["detail"] and scarce["id"] in problem["detail"]
    assert problem["errors"] == [
        {"loc": ["body", "items", 1, "quantity"], "msg": "Only 2 of SCARCE-1 in stock.", "type": "insufficient_stock"}
    ]
    assert await stock_of(client, admin, plenty["id"]) == 50
    assert await stock_of(client, admin, scarce["id"]) == 2
    assert await all_orders(client, customer) == []
    assert await all_orders(client, admin) == []


async def test_insufficient_stock_names_every_short_line(client, admin, customer):
    empty = await make_product(client, admin, sku="EMPTY-1", stock=0)
    plenty = await make_product(client, admin, stock=50)
    scarce = await make_product(client, admin, sku="SCARCE-2", stock=1)

    response = await place(client, customer, (scarce["id"], 2), (plenty["id"], 1), (empty["id"], 1))

    problem = assert_problem(response, 409)
    assert [(error["loc"], error["type"]) for error in problem["errors"]] == [
        (["body", "items", 0, "quantity"], "insufficient_stock"),
        (["body", "items", 2, "quantity"], "insufficient_stock"),
    ]
    assert "SCARCE-2" in problem["detail"] and "EMPTY-1" in problem["detail"]
    assert await stock_of(client, admin, plenty["id"]) == 50


async def test_order_needs_a_token(client, admin):
    product = await make_product(client, admin)
    response = await client.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_admins_can_order_too(client, admin):
    product = await make_product(client, admin)
    assert (await place_ok(client, admin, (product["id"], 1)))["user_id"] == admin.id


def _line(product_id: str, quantity: object = 1, **extra: object) -> dict[str, object]:
    return {"product_id": product_id, "quantity": quantity, **extra}


@pytest.mark.parametrize(
    ("make_body", "loc"),
    [
        (lambda pid: {"items": []}, ["body", "items"]),
        (lambda pid: {"items": [_line(str(uuid.uuid4())) for _ in range(51)]}, ["body", "items"]),
        (lambda pid: {}, ["body", "items"]),
        (lambda pid: {"items": [_line(pid, 0)]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [_line(pid, 1001)]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [_line(pid, -1)]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [_line(pid, 1.5)]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [_line(pid, "2")]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [{"product_id": pid}]}, ["body", "items", 0, "quantity"]),
        (lambda pid: {"items": [_line("not-a-uuid")]}, ["body", "items", 0, "product_id"]),
        # Mass assignment: nothing but product and quantity may be sent.
        (lambda pid: {"items": [_line(pid, unit_price_cents=1)]}, ["body", "items", 0, "unit_price_cents"]),
        (lambda pid: {"items": [_line(pid, price_cents=1)]}, ["body", "items", 0, "price_cents"]),
        (lambda pid: {"items": [_line(pid, line_total_cents=1)]}, ["body", "items", 0, "line_total_cents"]),
        (lambda pid: {"items": [_line(pid)], "total_cents": 1}, ["body", "total_cents"]),
        (lambda pid: {"items": [_line(pid)], "status": "delivered"}, ["body", "status"]),
        (lambda pid: {"items": [_line(pid)], "user_id": str(uuid.uuid4())}, ["body", "user_id"]),
        (lambda pid: {"items": [_line(pid)], "currency": "EUR"}, ["body", "currency"]),
        (lambda pid: {"items": [_line(pid)], "id": str(uuid.uuid4())}, ["body", "id"]),
    ],
)
async def test_invalid_order_bodies_are_422_and_change_nothing(client, admin, customer, make_body, loc):
    product = await make_product(client, admin, stock=5)
    response = await client.post("/orders", json=make_body(product["id"]), headers=customer.headers)
    problem = assert_problem(response, 422)
    assert loc in [error["loc"] for error in problem["errors"]]
    assert await stock_of(client, admin, product["id"]) == 5
    assert await all_orders(client, admin) == []


async def test_fifty_lines_and_a_thousand_units_are_allowed(client, admin, customer):
    products = [await make_product(client, admin, stock=1000, price_cents=1) for _ in range(50)]
    order = await place_ok(client, customer, *((product["id"], 1000) for product in products))
    assert len(order["items"]) == 50
    assert order["total_cents"] == 50 * 1000
    assert [item["product_id"] for item in order["items"]] == [product["id"] for product in products]


async def test_duplicate_product_is_422(client, admin, customer):
    first = await make_product(client, admin, stock=5)
    second = await make_product(client, admin, stock=5)
    response = await place(client, customer, (first["id"], 1), (second["id"], 1), (first["id"], 2))
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "items", 2, "product_id"]
    assert problem["errors"][0]["type"] == "duplicate_product"
    assert await stock_of(client, admin, first["id"]) == 5


async def test_unknown_product_is_422(client, admin, customer):
    known = await make_product(client, admin, stock=5)
    response = await place(client, customer, (known["id"], 1), (str(uuid.uuid4()), 1))
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"loc": ["body", "items", 1, "product_id"], "msg": problem["detail"], "type": "product_unavailable"}
    ]
    assert await stock_of(client, admin, known["id"]) == 5
    assert await all_orders(client, customer) == []


async def test_inactive_product_is_422_even_with_stock(client, admin, customer):
    known = await make_product(client, admin, stock=5)
    hidden = await make_product(client, admin, stock=5)
    await client.patch(f"/products/{hidden['id']}", json={"is_active": False}, headers=admin.headers)

    response = await place(client, customer, (hidden["id"], 1), (known["id"], 1))

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "items", 0, "product_id"]
    assert await stock_of(client, admin, hidden["id"]) == 5
    assert await stock_of(client, admin, known["id"]) == 5


async def test_unknown_product_wins_over_short_stock(client, admin, customer):
    scarce = await make_product(client, admin, stock=0)
    response = await place(client, customer, (scarce["id"], 1), (str(uuid.uuid4()), 1))
    assert assert_problem(response, 422)["errors"][0]["loc"] == ["body", "items", 1, "product_id"]


async def test_history_records_creation(client, admin, customer):
    product = await make_product(client, admin)
    order = await place_ok(client, customer, (product["id"], 1))
    history = (await client.get(f"/orders/{order['id']}/history", headers=customer.headers)).json()
    assert history == {
        "items": [
            {"from_status": None, "to_status": "pending", "changed_at": order["created_at"], "changed_by": customer.id}
        ]
    }
