import asyncio
import base64
import json
import uuid
from datetime import datetime

import pytest

from tests.conftest import assert_problem
from tests.integration.shop import make_product

PRODUCT_FIELDS = {
    "id",
    "sku",
    "name",
    "description",
    "price_cents",
    "currency",
    "stock",
    "is_active",
    "created_at",
    "updated_at",
}


async def test_admin_creates_product(client, admin):
    body = {"sku": "MUG-1", "name": "Mug", "description": "Holds tea.\nAnd coffee.", "price_cents": 999, "stock": 7}
    response = await client.post("/products", json=body, headers=admin.headers)

    assert response.status_code == 201, response.text
    product = response.json()
    assert set(product) == PRODUCT_FIELDS
    assert {key: product[key] for key in body} == body
    assert product["currency"] == "USD"
    assert product["is_active"] is True
    assert product["created_at"] == product["updated_at"]
    uuid.UUID(product["id"])
    assert datetime.fromisoformat(product["created_at"]).utcoffset().total_seconds() == 0


async def test_create_needs_a_token(client):
    response = await client.post("/products", json={"sku": "A", "name": "A", "price_cents": 1, "stock": 0})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_customer_cannot_create_or_patch(client, admin, customer):
    body = {"sku": "A", "name": "A", "price_cents": 1, "stock": 0}
    assert_problem(await client.post("/products", json=body, headers=customer.headers), 403)
    product = await make_product(client, admin)
    response = await client.patch(f"/products/{product['id']}", json={"price_cents": 1}, headers=customer.headers)
    assert_problem(response, 403)
    assert_problem(await client.patch(f"/products/{product['id']}", json={"price_cents": 1}), 401)


async def test_duplicate_sku_is_conflict(client, admin):
    await make_product(client, admin, sku="DUP-1")
    response = await client.post(
        "/products", json={"sku": "DUP-1", "name": "Other", "price_cents": 5, "stock": 1}, headers=admin.headers
    )
    assert_problem(response, 409)


async def test_concurrent_duplicate_skus_create_one(client, admin):
    body = {"sku": "RACE-1", "name": "Racer", "price_cents": 5, "stock": 1}
    responses = await asyncio.gather(*(client.post("/products", json=body, headers=admin.headers) for _ in range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 7
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    listed = (await client.get("/products", params={"q": "Racer"}, headers=admin.headers)).json()["items"]
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"sku": ""}, ["body", "sku"]),
        ({"sku": "   "}, ["body", "sku"]),
        ({"sku": "x" * 65}, ["body", "sku"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "bad\x00name"}, ["body", "name"]),
        ({"price_cents": 0}, ["body", "price_cents"]),
        ({"price_cents": -5}, ["body", "price_cents"]),
        ({"price_cents": 12.5}, ["body", "price_cents"]),
        ({"price_cents": "100"}, ["body", "price_cents"]),
        ({"stock": -1}, ["body", "stock"]),
        ({"stock": True}, ["body", "stock"]),
        ({"is_active": False}, ["body", "is_active"]),
        ({"currency": "EUR"}, ["body", "currency"]),
        ({"id": str(uuid.uuid4())}, ["body", "id"]),
    ],
)
async def test_create_rejects_invalid_body(client, admin, change, loc):
    body = {"sku": "OK-1", "name": "Fine", "price_cents": 100, "stock": 1, **change}
    problem = assert_problem(await client.post("/products", json=body, headers=admin.headers), 422)
    assert loc in [error["loc"] for error in problem["errors"]]


async def test_create_requires_fields(client, admin):
    problem = assert_problem(await client.post("/products", json={}, headers=admin.headers), 422)
    missing = {error["loc"][-1] for error in problem["errors"] if error["type"] == "missing"}
    assert missing == {"sku", "name", "price_cents", "stock"}


async def test_get_product_without_token(client, admin):
    product = await make_product(client, admin)
    response = await client.get(f"/products/{product['id']}")
    assert response.status_code == 200
    assert response.json() == product


async def test_get_unknown_product_is_404(client):
    assert_problem(await client.get(f"/products/{uuid.uuid4()}"), 404)
    assert_problem(await client.get("/products/not-a-uuid"), 422)


async def test_inactive_product_is_hidden_except_from_admins(client, admin, customer):
    product = await make_product(client, admin, name="Retired")
    response = await client.patch(f"/products/{product['id']}", json={"is_active": False}, headers=admin.headers)
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert_problem(await client.get(f"/products/{product['id']}"), 404)
    assert_problem(await client.get(f"/products/{product['id']}", headers=customer.headers), 404)
    assert (await client.get(f"/products/{product['id']}", headers=admin.headers)).status_code == 200

    assert (await client.get("/products")).json()["items"] == []
    assert (await client.get("/products", headers=customer.headers)).json()["items"] == []
    listed = (await client.get("/products", headers=admin.headers)).json()["items"]
    assert [item["id"] for item in listed] == [product["id"]]


async def test_invalid_token_on_public_route_is_401(client, admin):
    await make_product(client, admin)
    response = await client.get("/products", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_list_is_sorted_by_name_and_public(client, admin):
    for name in ("Cherry", "apple", "Banana"):
        await make_product(client, admin, name=name)
    response = await client.get("/products")
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"items", "next_cursor"}
    assert page["next_cursor"] is None
    names = [item["name"] for item in page["items"]]
    assert sorted(names) == sorted(["Cherry", "apple", "Banana"])
    assert set(page["items"][0]) == PRODUCT_FIELDS


async def test_search_is_case_insensitive_substring(client, admin):
    for name in ("Blue Teapot", "TEAPOT large", "Cup", "steam teapots"):
        await make_product(client, admin, name=name)
    page = (await client.get("/products", params={"q": "teaPOT"})).json()
    assert sorted(item["name"] for item in page["items"]) == ["Blue Teapot", "TEAPOT large", "steam teapots"]


async def test_search_matches_percent_and_underscore_literally(client, admin):
    for name in ("100% cotton", "1000 cotton", "snake_case", "snakeXcase", "back\\slash"):
        await make_product(client, admin, name=name)

    async def names(q: str) -> list[str]:
        return sorted(item["name"] for item in (await client.get("/products", params={"q": q})).json()["items"])

    assert await names("0%") == ["100% cotton"]
    assert await names("%") == ["100% cotton"]
    assert await names("e_c") == ["snake_case"]
    assert await names("_") == ["snake_case"]
    assert await names("k\\s") == ["back\\slash"]


async def test_search_rejects_control_characters(client):
    assert_problem(await client.get("/products", params={"q": "a\x00b"}), 422)


# The one text rule (app/core/text.py), for every text field a product has and for the search.
REFUSED_TEXT = {
    "c1-next-line": "a\x85b",
    "c1-csi": "a\x9bb",
    "line-separator": "a\u2028b",
    "paragraph-separator": "a\u2029b",
    "right-to-left-override": "\u202eevil",
    "left-to-right-embedding": "a\u202ab",
    "first-strong-isolate": "a\u2068b",
    "byte-order-mark": "\ufeffa",
    "private-use": "a\ue000b",
    "private-use-plane-15": "a\U000f0001b",
    "unassigned": "a\U000e0080b",
    "noncharacter": "a\uffffb",
    "escape": "a\x1b[31mb",
}
ACCEPTED_TEXT = {
    "accents": "Café crème",
    "combining-mark": "Cafe\u0301",
    "cjk": "日本語の本",
    "hebrew": "שלום",
    "arabic-with-letter-mark": "مرحبا\u061c",
    "emoji-with-joiners": "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "flag": "\U0001f1fa\U0001f1f8",
}


@pytest.mark.parametrize("field", ["sku", "name", "description"])
@pytest.mark.parametrize("value", REFUSED_TEXT.values(), ids=REFUSED_TEXT.keys())
async def test_product_text_follows_the_text_rule(client, admin, field, value):
    body = {"sku": f"SKU-{uuid.uuid4().hex[:8]}", "name": "Mug", "price_cents": 100, "stock": 1, field: value}
    problem = assert_problem(await client.post("/products", json=body, headers=admin.headers), 422)
    assert [error["loc"] for error in problem["errors"]] == [["body", field]]
    product = await make_product(client, admin)
    response = await client.patch(f"/products/{product['id']}", json={field: value}, headers=admin.headers)
    if field == "sku":
        assert_problem(response, 422)  # a SKU cannot change at all
    else:
        assert [e["loc"] for e in assert_problem(response, 422)["errors"]] == [["body", field]]
    assert [e["loc"] for e in assert_problem(await client.get("/products", params={"q": value}), 422)["errors"]] == [
        ["query", "q"]
    ]


@pytest.mark.parametrize("value", ACCEPTED_TEXT.values(), ids=ACCEPTED_TEXT.keys())
async def test_text_of_every_script_with_marks_and_emoji_is_accepted(client, admin, value):
    body = {"sku": f"{value}-{uuid.uuid4().hex[:6]}", "name": value, "description": f"{value}\n\t{value}"}
    response = await client.post("/products", json=body | {"price_cents": 100, "stock": 1}, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["name"], response.json()["description"]) == (value, body["description"])
    assert [p["sku"] for p in (await client.get("/products", params={"q": value})).json()["items"]] == [body["sku"]]


async def test_pagination_walks_every_product_once_while_products_are_added(client, admin):
    created = [await make_product(client, admin, name=f"Item {index:02d}") for index in range(7)]
    seen: list[str] = []
    cursor = None
    for round_number in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/products", params=params)).json()
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        # New products on both sides of the cursor must neither repeat nor hide existing ones.
        await make_product(client, admin, name=f"Item {round_number:02d}a")
        await make_product(client, admin, name="Aardvark")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert {product["id"] for product in created} <= set(seen)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"cursor": "garbage!"}, {"cursor": "W10"}])
async def test_list_rejects_bad_paging(client, params):
    assert_problem(await client.get("/products", params=params), 422)


async def test_default_limit_is_20(client, admin):
    for index in range(21):
        await make_product(client, admin, name=f"P{index:02d}")
    page = (await client.get("/products")).json()
    assert len(page["items"]) == 20 and page["next_cursor"]
    rest = (await client.get("/products", params={"cursor": page["next_cursor"], "limit": 100})).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_admin_patches_product(client, admin):
    product = await make_product(client, admin, description="old")
    changes = {"name": "New name", "description": None, "price_cents": 4321, "stock": 3}
    response = await client.patch(f"/products/{product['id']}", json=changes, headers=admin.headers)

    assert response.status_code == 200, response.text
    updated = response.json()
    assert {key: updated[key] for key in changes} == changes
    assert updated["sku"] == product["sku"] and updated["created_at"] == product["created_at"]
    assert updated["updated_at"] > product["updated_at"]
    assert (await client.get(f"/products/{product['id']}")).json() == updated


async def test_patch_only_changes_fields_sent(client, admin):
    product = await make_product(client, admin, description="keep me")
    response = await client.patch(f"/products/{product['id']}", json={"stock": 0}, headers=admin.headers)
    assert response.json()["description"] == "keep me"
    assert response.json()["stock"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"sku": "NEW"},
        {"name": None},
        {"name": ""},
        {"price_cents": None},
        {"price_cents": 0},
        {"stock": -1},
        {"stock": None},
        {"is_active": None},
        {"is_active": "yes"},
        {"currency": "EUR"},
    ],
)
async def test_patch_rejects_invalid_changes(client, admin, change):
    product = await make_product(client, admin)
    response = await client.patch(f"/products/{product['id']}", json=change, headers=admin.headers)
    assert_problem(response, 422)
    assert (await client.get(f"/products/{product['id']}")).json() == product


async def test_patch_unknown_product_is_404(client, admin):
    response = await client.patch(f"/products/{uuid.uuid4()}", json={"stock": 1}, headers=admin.headers)
    assert_problem(response, 404)


async def test_reactivated_product_is_public_again(client, admin):
    product = await make_product(client, admin)
    await client.patch(f"/products/{product['id']}", json={"is_active": False}, headers=admin.headers)
    await client.patch(f"/products/{product['id']}", json={"is_active": True}, headers=admin.headers)
    assert (await client.get(f"/products/{product['id']}")).status_code == 200


async def test_pages_through_long_non_ascii_names(client, admin):
    names = [f"{letter}" + "ж" * 199 for letter in "abcde"]
    for name in names:
        await make_product(client, admin, name=name)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/products", params=params)
        assert response.status_code == 200, response.text
        seen.extend(item["name"] for item in response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == names


async def test_a_forged_cursor_is_refused_and_probes_nothing(client, admin):
    hidden = await make_product(client, admin, name="Hidden thing")
    await client.patch(f"/products/{hidden['id']}", json={"is_active": False}, headers=admin.headers)
    # The unsigned form a client could build: the id of a product it must not see.
    forged = base64.urlsafe_b64encode(json.dumps([hidden["id"].replace("-", "")]).encode()).decode().rstrip("=")
    problem = assert_problem(await client.get("/products", params={"cursor": forged}), 422)
    assert problem["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_cursor_serves_only_the_list_and_the_caller_it_was_made_for(client, admin, customer):
    for number in range(3):
        await make_product(client, admin, name=f"Cursor item {number}")
    admins = (await client.get("/products", params={"limit": 1}, headers=admin.headers)).json()["next_cursor"]
    anonymous = (await client.get("/products", params={"limit": 1})).json()["next_cursor"]
    orders = await client.get("/orders", params={"cursor": anonymous}, headers=customer.headers)
    assert_problem(await client.get("/products", params={"cursor": admins}), 422)
    assert_problem(await client.get("/products", params={"cursor": anonymous}, headers=admin.headers), 422)
    assert_problem(orders, 422)
    assert (await client.get("/products", params={"cursor": anonymous})).status_code == 200
