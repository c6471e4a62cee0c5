import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from app.core.pagination import CursorCodec
from app.models import OrderStatus, Role
from app.schemas.order import OrderCreate
from app.services import idempotency_service, order_service, order_status_service
from app.services.order_service import OrderService
from app.services.order_status_service import OrderStatusService
from tests.unit.fakes import FakeReadSide, FakeUnitOfWork, add_product, caller


def _orders(uow: FakeUnitOfWork, reads: FakeReadSide | None = None) -> OrderService:
    """The service over these fakes; the same unit of work is entered for every transaction."""
    return OrderService(
        lambda: uow,
        reads or FakeReadSide(uow.store),
        currency="EUR",
        key_ttl=timedelta(hours=24),
        cursors=CursorCodec(b"unit"),
    )


def _statuses(uow: FakeUnitOfWork) -> OrderStatusService:
    return OrderStatusService(lambda: uow)


def _body(*lines: tuple[uuid.UUID, int]) -> OrderCreate:
    return OrderCreate.model_validate({"items": [{"product_id": str(p), "quantity": q} for p, q in lines]})


async def _place(uow, who, *lines, key=None):
    return await _orders(uow).place_order(who, _body(*lines), idempotency_key=key)


async def test_lines_and_total_are_priced_from_the_catalogue(uow):
    mug = add_product(uow, price_cents=1250, stock=5, sku="MUG", name="Mug")
    tea = add_product(uow, price_cents=399, stock=5, sku="TEA", name="Tea")
    buyer = caller()

    placed = await _place(uow, buyer, (mug.id, 2), (tea.id, 3))

    order = placed.order
    assert not placed.replayed
    assert order.user_id == buyer.id and order.status == OrderStatus.PENDING and order.currency == "EUR"
    assert [(i.sku, i.name, i.unit_price_cents, i.quantity, i.line_total_cents) for i in order.items] == [
        ("MUG", "Mug", 1250, 2, 2500),
        ("TEA", "Tea", 399, 3, 1197),
    ]
    assert order.total_cents == 3697
    assert (mug.stock, tea.stock) == (3, 2)
    assert uow.commits == 1
    [change] = uow.orders.changes
    assert (change.from_status, change.to_status, change.changed_by) == (None, "pending", buyer.id)
    assert change.changed_at == order.created_at


async def test_stock_is_taken_in_product_id_order(uow):
    products = sorted((add_product(uow) for _ in range(5)), key=lambda product: product.id, reverse=True)
    await _place(uow, caller(), *((product.id, 1) for product in products))
    assert uow.products.touched == sorted(product.id for product in products)


async def test_insufficient_stock_names_every_short_line_and_does_not_commit(uow):
    plenty = add_product(uow, stock=10)
    scarce = add_product(uow, stock=1, sku="SCARCE")
    empty = add_product(uow, stock=0, sku="EMPTY")
    with pytest.raises(ConflictError, match="SCARCE") as raised:
        await _place(uow, caller(), (empty.id, 1), (plenty.id, 2), (scarce.id, 2))
    assert [(e["loc"], e["type"]) for e in raised.value.extra()["errors"]] == [
        (["body", "items", 0, "quantity"], "insufficient_stock"),
        (["body", "items", 2, "quantity"], "insufficient_stock"),
    ]
    assert uow.commits == 0 and uow.orders.rows == {} and plenty.stock == 10


async def test_a_product_repriced_meanwhile_is_placed_at_its_new_price(uow):
    product = add_product(uow, price_cents=100, stock=5)
    uow.orders.before_place.append(lambda: setattr(product, "price_cents", 120))
    order = (await _place(uow, caller(), (product.id, 2))).order
    assert (order.items[0].unit_price_cents, order.total_cents) == (120, 240)
    assert uow.commits == 1 and uow.rollbacks == 1 and product.stock == 3


async def test_stock_sold_meanwhile_is_a_conflict_on_the_next_read(uow):
    product = add_product(uow, stock=5)
    uow.orders.before_place.append(lambda: setattr(product, "stock", 1))
    with pytest.raises(ConflictError):
        await _place(uow, caller(), (product.id, 2))
    assert uow.commits == 0 and product.stock == 1


async def test_a_catalogue_that_keeps_changing_gives_up(uow):
    product = add_product(uow, price_cents=100, stock=50)
    for price in range(101, 101 + order_service.PLACEMENT_ATTEMPTS):
        uow.orders.before_place.append(lambda price=price: setattr(product, "price_cents", price))
    with pytest.raises(ConflictError, match="changing"):
        await _place(uow, caller(), (product.id, 1))
    assert uow.commits == 0 and product.stock == 50


@pytest.mark.parametrize("is_active", [None, False])
async def test_unknown_or_inactive_product_is_invalid_input(uow, is_active):
    good = add_product(uow)
    bad_id = uuid.uuid4() if is_active is None else add_product(uow, is_active=False).id
    with pytest.raises(InvalidInputError) as raised:
        await _place(uow, caller(), (good.id, 1), (bad_id, 1))
    assert raised.value.errors[0]["loc"] == ["body", "items", 1, "product_id"]
    assert uow.commits == 0


async def test_repeated_product_is_refused_before_any_work(uow):
    product = add_product(uow)
    with pytest.raises(InvalidInputError) as raised:
        await _place(uow, caller(), (product.id, 1), (product.id, 1))
    assert raised.value.errors[0]["loc"] == ["body", "items", 1, "product_id"]
    assert uow.blocks == 0


@pytest.mark.parametrize(("current", "new"), list(itertools.product(OrderStatus, OrderStatus)))
def test_transition_table(current, new):
    allowed = {
        ("pending", "paid"),
        ("pending", "cancelled"),
        ("paid", "shipped"),
        ("paid", "cancelled"),
        ("shipped", "delivered"),
    }
    assert order_status_service.can_transition(current, new) == ((current.value, new.value) in allowed)


async def test_owner_cancels_and_stock_returns(uow):
    product = add_product(uow, stock=5)
    owner = caller()
    order = (await _place(uow, owner, (product.id, 4))).order

    cancelled = await _statuses(uow).cancel_order(owner, order.id)

    assert cancelled.status == OrderStatus.CANCELLED
    assert product.stock == 5
    assert uow.commits == 2
    assert [(c.from_status, c.to_status) for c in uow.orders.changes] == [(None, "pending"), ("pending", "cancelled")]


async def test_stranger_cannot_see_or_cancel(uow, reads):
    product = add_product(uow)
    order = (await _place(uow, caller(), (product.id, 1))).order
    stranger = caller()
    for attempt in (
        _orders(uow, reads).get_order(stranger, order.id),
        _orders(uow, reads).get_order_history(stranger, order.id),
        _statuses(uow).cancel_order(stranger, order.id),
    ):
        with pytest.raises(NotFoundError):
            await attempt
    assert uow.commits == 1


async def test_admin_sees_and_cancels_any_order(uow, reads):
    product = add_product(uow, stock=3)
    order = (await _place(uow, caller(), (product.id, 3))).order
    admin = caller(Role.ADMIN)
    assert (await _orders(uow, reads).get_order(admin, order.id)).id == order.id
    await _statuses(uow).cancel_order(admin, order.id)
    assert product.stock == 3


async def test_cancel_after_shipping_is_conflict(uow):
    product = add_product(uow, stock=3)
    owner, admin = caller(), caller(Role.ADMIN)
    order = (await _place(uow, owner, (product.id, 1))).order
    await _statuses(uow).change_order_status(admin, order.id, OrderStatus.PAID)
    await _statuses(uow).change_order_status(admin, order.id, OrderStatus.SHIPPED)
    commits = uow.commits
    with pytest.raises(ConflictError) as raised:
        await _statuses(uow).cancel_order(owner, order.id)
    assert raised.value.extra()["allowed"] == ["delivered"]
    assert uow.commits == commits and product.stock == 2


async def test_losing_a_race_is_conflict_without_restock(uow):
    product = add_product(uow, stock=3)
    owner = caller()
    order = (await _place(uow, owner, (product.id, 1))).order
    uow.orders.lose_next_race = True
    with pytest.raises(ConflictError):
        await _statuses(uow).cancel_order(owner, order.id)
    assert product.stock == 2 and uow.commits == 1 and len(uow.orders.changes) == 1


async def test_customers_cannot_change_status(uow):
    product = add_product(uow)
    owner = caller()
    order = (await _place(uow, owner, (product.id, 1))).order
    with pytest.raises(PermissionDeniedError):
        await _statuses(uow).change_order_status(owner, order.id, OrderStatus.PAID)


async def test_list_is_scoped_to_the_customer(uow, reads):
    customer = caller()
    await _orders(uow, reads).list_orders(customer, limit=5, cursor=None)
    assert reads.orders.list_calls[-1]["where"].user_id == customer.id
    assert reads.orders.list_calls[-1]["limit"] == 6
    with pytest.raises(InvalidInputError):
        await _orders(uow, reads).list_orders(customer, limit=5, cursor=None, user_id=uuid.uuid4())


async def test_admin_may_filter_by_user_or_not(uow, reads):
    admin, someone = caller(Role.ADMIN), uuid.uuid4()
    await _orders(uow, reads).list_orders(admin, limit=5, cursor=None)
    assert reads.orders.list_calls[-1]["where"].user_id is None
    await _orders(uow, reads).list_orders(admin, limit=5, cursor=None, user_id=someone)
    assert reads.orders.list_calls[-1]["where"].user_id == someone


async def test_list_times_are_utc_and_the_range_must_not_be_empty(uow, reads):
    customer = caller()
    naive = datetime(2026, 1, 1, 12, 0)
    shifted = datetime(2026, 1, 1, 15, 0, tzinfo=timezone(timedelta(hours=2)))
    await _orders(uow, reads).list_orders(customer, limit=5, cursor=None, created_from=naive, created_to=shifted)
    where = reads.orders.list_calls[-1]["where"]
    assert where.created_from == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert where.created_to == datetime(2026, 1, 1, 13, 0, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        await _orders(uow, reads).list_orders(customer, limit=5, cursor=None, created_from=shifted, created_to=naive)


async def test_list_pages_with_a_cursor(uow, reads):
    product = add_product(uow, stock=100)
    customer = caller()
    placed = [(await _place(uow, customer, (product.id, 1))).order for _ in range(3)]
    first = await _orders(uow, reads).list_orders(customer, limit=2, cursor=None)
    assert [order.id for order in first.items] == [placed[2].id, placed[1].id]
    assert first.next_cursor is not None
    await _orders(uow, reads).list_orders(customer, limit=2, cursor=first.next_cursor)
    assert reads.orders.list_calls[-1]["after"] == (placed[1].created_at, placed[1].id)
    with pytest.raises(InvalidInputError):
        await _orders(uow, reads).list_orders(customer, limit=2, cursor="nonsense")


async def test_same_key_replays_without_a_second_order(uow):
    product = add_product(uow, stock=10)
    buyer = caller()
    first = await _place(uow, buyer, (product.id, 2), key="k")
    again = await _place(uow, buyer, (product.id, 2), key="k")
    assert again.replayed and again.order == first.order
    assert len(uow.orders.rows) == 1 and product.stock == 8
    [row] = uow.idempotency.rows.values()
    assert row.state == "completed" and row.response_status == 201


async def test_same_key_other_body_is_invalid_input(uow):
    product = add_product(uow, stock=10)
    buyer = caller()
    await _place(uow, buyer, (product.id, 2), key="k")
    with pytest.raises(InvalidInputError) as raised:
        await _place(uow, buyer, (product.id, 1), key="k")
    assert raised.value.errors[0]["loc"] == ["header", "Idempotency-Key"]


async def test_key_in_flight_is_conflict_until_the_lease_runs_out(uow):
    product = add_product(uow, stock=10)
    buyer = caller()
    body = _body((product.id, 1))
    request_hash = idempotency_service.request_hash(order_service.IDEMPOTENCY_SCOPE, body)
    claim = await idempotency_service.claim(
        uow, user_id=buyer.id, key="k", request_hash=request_hash, ttl=timedelta(days=1)
    )
    with pytest.raises(ConflictError):
        await _place(uow, buyer, (product.id, 1), key="k")

    uow.idempotency.rows[(buyer.id, "k")].created_at = claim.claimed_at - idempotency_service.LEASE
    placed = await _place(uow, buyer, (product.id, 1), key="k")
    assert not placed.replayed and len(uow.orders.rows) == 1
    # The crashed first attempt can no longer complete its claim.
    assert not await uow.idempotency.complete(
        user_id=claim.user_id, key=claim.key, claimed_at=claim.claimed_at, status=201, body="{}"
    )


async def test_failed_order_releases_its_key(uow):
    product = add_product(uow, stock=1)
    buyer = caller()
    with pytest.raises(ConflictError):
        await _place(uow, buyer, (product.id, 2), key="k")
    assert uow.idempotency.rows == {}
    product.stock = 2
    assert not (await _place(uow, buyer, (product.id, 2), key="k")).replayed


def test_request_hash_is_canonical():
    product_id = uuid.uuid4()
    spaced = OrderCreate.model_validate_json(f'{{ "items" : [ {{"quantity": 1, "product_id": "{product_id}"}} ] }}')
    compact = _body((product_id, 1))
    assert idempotency_service.request_hash("s", spaced) == idempotency_service.request_hash("s", compact)
    assert idempotency_service.request_hash("s", compact) != idempotency_service.request_hash("t", compact)
    assert len(idempotency_service.request_hash("s", compact)) == 64
