import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from app.models import IdempotencyKey
from app.schemas.order import OrderCreate
from app.services import idempotency_service
from app.services.order_service import IDEMPOTENCY_SCOPE
from app.services.unit_of_work import SqlAlchemyUnitOfWork
from tests.conftest import assert_problem
from tests.integration.shop import all_orders, make_product, place, stock_of


def _uow(app) -> SqlAlchemyUnitOfWork:
    return app.state.container.unit_of_work()


def _hash(product_id: str, quantity: int) -> str:
    body = OrderCreate.model_validate({"items": [{"product_id": product_id, "quantity": quantity}]})
    return idempotency_service.request_hash(IDEMPOTENCY_SCOPE, body)


async def _keys(app) -> list[IdempotencyKey]:
    async with app.state.container.session_factory() as session:
        return list((await session.scalars(select(IdempotencyKey).order_by(IdempotencyKey.key))).all())


async def _insert_key(app, user_id: str, key: str, *, request_hash: str, created_at: datetime, expires_at: datetime):
    async with _uow(app) as uow:
        row = IdempotencyKey(
            user_id=uuid.UUID(user_id),
            key=key,
            request_hash=request_hash,
            state="in_flight",
            created_at=created_at,
            expires_at=expires_at,
        )
        assert await uow.idempotency.add_if_absent(row)
        await uow.commit()


async def test_same_key_and_body_replays_the_first_response(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    first = await place(client, customer, (product["id"], 2), key="order-123")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers

    again = await place(client, customer, (product["id"], 2), key="order-123")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await stock_of(client, admin, product["id"]) == 8
    assert [order["id"] for order in await all_orders(client, customer)] == [first.json()["id"]]


async def test_replay_returns_the_first_response_even_after_changes(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    first = (await place(client, customer, (product["id"], 1), key="k")).json()
    await client.post(f"/orders/{first['id']}/cancel", headers=customer.headers)
    again = await place(client, customer, (product["id"], 1), key="k")
    assert again.status_code == 201 and again.json() == first
    assert await stock_of(client, admin, product["id"]) == 10


async def test_same_key_with_another_body_is_422(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    await place(client, customer, (product["id"], 1), key="k-1")

    response = await place(client, customer, (product["id"], 2), key="k-1")

    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert problem["errors"][0]["type"] == "idempotency_key_reused"
    assert await stock_of(client, admin, product["id"]) == 9
    assert len(await all_orders(client, customer)) == 1


async def test_keys_are_per_user(client, admin, customer, register):
    product = await make_product(client, admin, stock=10)
    other = await register()
    mine = await place(client, customer, (product["id"], 1), key="shared")
    theirs = await place(client, other, (product["id"], 1), key="shared")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert await stock_of(client, admin, product["id"]) == 8


async def test_without_a_key_every_post_is_a_new_order(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    await place(client, customer, (product["id"], 1))
    await place(client, customer, (product["id"], 1))
    assert len(await all_orders(client, customer)) == 2
    assert await _keys(app) == []


async def test_key_row_is_kept_for_the_configured_time(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    response = await place(client, customer, (product["id"], 1), key="ttl")
    [row] = await _keys(app)
    assert row.state == "completed" and row.response_status == 201
    assert row.expires_at - row.created_at == timedelta(hours=app.state.container.settings.idempotency_key_ttl_hours)
    assert row.expires_at - row.created_at >= timedelta(hours=24)
    assert row.request_hash == _hash(product["id"], 1)
    assert response.json()["id"] in (row.response_body or "")


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "nl\u00e9"])
async def test_malformed_keys_are_422(client, admin, customer, key):
    product = await make_product(client, admin, stock=10)
    headers = {**customer.headers, "Idempotency-Key": key.encode("latin-1")}
    body = {"items": [{"product_id": product["id"], "quantity": 1}]}
    problem = assert_problem(await client.post("/orders", json=body, headers=headers), 422)
    assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await stock_of(client, admin, product["id"]) == 10


async def test_longest_and_oddest_printable_keys_work(client, admin, customer):
    product = await make_product(client, admin, stock=10)
    for key in ("x" * 255, "a b~!@#$%^&*()_+{}|:<>?"):
        assert (await place(client, customer, (product["id"], 1), key=key)).status_code == 201


async def test_twin_still_in_flight_is_409(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    now = datetime.now(UTC)
    await _insert_key(
        app, customer.id, "busy", request_hash=_hash(product["id"], 1), created_at=now, expires_at=now + timedelta(1)
    )

    assert_problem(await place(client, customer, (product["id"], 1), key="busy"), 409)
    # Another body is refused as such even while the first is in flight.
    assert_problem(await place(client, customer, (product["id"], 2), key="busy"), 422)
    assert await stock_of(client, admin, product["id"]) == 10


async def test_abandoned_in_flight_key_is_taken_over(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    long_ago = datetime.now(UTC) - idempotency_service.LEASE - timedelta(seconds=1)
    await _insert_key(
        app,
        customer.id,
        "crashed",
        request_hash=_hash(product["id"], 1),
        created_at=long_ago,
        expires_at=long_ago + timedelta(days=1),
    )

    response = await place(client, customer, (product["id"], 1), key="crashed")

    assert response.status_code == 201
    assert await stock_of(client, admin, product["id"]) == 9
    [row] = await _keys(app)
    assert row.state == "completed" and row.created_at > long_ago


async def test_failed_order_frees_the_key_for_a_retry(app, client, admin, customer):
    product = await make_product(client, admin, stock=1)
    assert_problem(await place(client, customer, (product["id"], 2), key="retry"), 409)
    assert await _keys(app) == []

    await client.patch(f"/products/{product['id']}", json={"stock": 5}, headers=admin.headers)
    response = await place(client, customer, (product["id"], 2), key="retry")
    assert response.status_code == 201
    assert await stock_of(client, admin, product["id"]) == 3


async def test_rejected_lines_free_the_key(app, client, admin, customer):
    response = await place(client, customer, (str(uuid.uuid4()), 1), key="unknown")
    assert_problem(response, 422)
    assert await _keys(app) == []


async def test_expired_key_is_forgotten(app, client, admin, customer):
    product = await make_product(client, admin, stock=10)
    first = await place(client, customer, (product["id"], 1), key="old")
    async with app.state.container.session_factory() as session, session.begin():
        await session.execute(update(IdempotencyKey).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    again = await place(client, customer, (product["id"], 3), key="old")

    assert again.status_code == 201
    assert again.json()["id"] != first.json()["id"]
    assert await stock_of(client, admin, product["id"]) == 6


async def test_claiming_a_key_cleans_up_expired_keys(app, client, admin, customer, register):
    product = await make_product(client, admin, stock=10)
    other = await register()
    past = datetime.now(UTC) - timedelta(days=2)
    for index in range(3):
        await _insert_key(app, other.id, f"stale-{index}", request_hash="x" * 64, created_at=past, expires_at=past)
    future = datetime.now(UTC) + timedelta(days=1)
    await _insert_key(app, other.id, "live", request_hash="x" * 64, created_at=past, expires_at=future)

    await place(client, customer, (product["id"], 1), key="fresh")

    assert [row.key for row in await _keys(app)] == ["fresh", "live"]


async def test_purge_deletes_expired_keys_in_batches(app, client, admin, customer):
    now = datetime.now(UTC)
    for index in range(5):
        await _insert_key(
            app,
            customer.id,
            f"k{index}",
            request_hash="x" * 64,
            created_at=now,
            expires_at=now + timedelta(hours=index),
        )
    later = now + timedelta(hours=2, minutes=30)

    maintenance = app.state.container.services.maintenance
    assert (await maintenance.purge_expired(now=later, batch_size=2))["idempotency_keys"] == 3
    assert (await maintenance.purge_expired(now=later, batch_size=2))["idempotency_keys"] == 0
    assert [row.key for row in await _keys(app)] == ["k3", "k4"]
