"""Placing orders and reading them: prices come from the catalogue, stock is taken with the order."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from app.core.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from app.core.pagination import decode_cursor, encode_cursor
from app.models import Order, OrderItem, OrderStatus, OrderStatusChange, Product, Role
from app.schemas.common import Page
from app.schemas.order import OrderCreate, OrderHistory, OrderRead, StatusChangeRead
from app.services import idempotency_service
from app.services.auth_service import Principal
from app.services.idempotency_service import StoredResponse
from app.services.unit_of_work import UnitOfWork

IDEMPOTENCY_SCOPE = "POST /orders"
CREATED = 201


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: OrderRead
    replayed: bool = False


async def place_order(
    uow: UnitOfWork,
    principal: Principal,
    data: OrderCreate,
    *,
    currency: str,
    idempotency_key: str | None = None,
    key_ttl: timedelta = timedelta(hours=24),
) -> PlacedOrder:
    """Price the lines from the catalogue, take the stock and record the order, all or nothing.

    With an idempotency key, the same body again replays the first response; see idempotency_service.
    """
    _refuse_repeated_products(data)
    if idempotency_key is None:
        async with uow:
            order = await _place(uow, principal, data, currency)
            await uow.commit()
        return PlacedOrder(order)

    outcome = await idempotency_service.claim(
        uow,
        user_id=principal.user.id,
        key=idempotency_key,
        request_hash=idempotency_service.request_hash(IDEMPOTENCY_SCOPE, data),
        ttl=key_ttl,
    )
    if isinstance(outcome, StoredResponse):
        return PlacedOrder(OrderRead.model_validate_json(outcome.body), replayed=True)
    try:
        async with uow:
            order = await _place(uow, principal, data, currency)
            await idempotency_service.complete(uow, outcome, status=CREATED, body=order.model_dump_json())
            await uow.commit()
    except AppError:
        # The order's transaction rolled back, so nothing happened: free the key for a retry.
        # Other failures keep it in flight (the commit may have landed) until the lease runs out.
        await idempotency_service.release(uow, outcome)
        raise
    return PlacedOrder(order)


def _refuse_repeated_products(data: OrderCreate) -> None:
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(data.items):
        if line.product_id in seen:
            raise InvalidInputError(
                "Each product may appear only once in an order.",
                loc=["body", "items", index, "product_id"],
                error_type="duplicate_product",
            )
        seen.add(line.product_id)


async def _place(uow: UnitOfWork, principal: Principal, data: OrderCreate, currency: str) -> OrderRead:
    now = datetime.now(UTC)
    taken = await _take_stock(uow, data, now)
    order = _new_order(principal, data, taken, currency, now)
    first_change = OrderStatusChange(
        id=uuid.uuid4(),
        order_id=order.id,
        from_status=None,
        to_status=OrderStatus.PENDING,
        changed_at=now,
        changed_by=principal.user.id,
    )
    await uow.orders.add(order, first_change=first_change)
    return OrderRead.model_validate(order)


async def _take_stock(uow: UnitOfWork, data: OrderCreate, now: datetime) -> dict[uuid.UUID, Product]:
    """Each line's product as it was when its stock was taken; raises (and so rolls back) on the first refusal."""
    quantities = {line.product_id: line.quantity for line in data.items}
    taken: dict[uuid.UUID, Product] = {}
    # Always lock products in id order, so two orders sharing products wait for each other
    # instead of deadlocking.
    for product_id in sorted(quantities):
        product = await uow.products.take_stock(product_id=product_id, quantity=quantities[product_id], now=now)
        if product is None:
            await _explain_refusal(uow, data, product_id)
        taken[product_id] = product
    return taken


def _new_order(
    principal: Principal, data: OrderCreate, taken: dict[uuid.UUID, Product], currency: str, now: datetime
) -> Order:
    items = [
        OrderItem(
            id=uuid.uuid4(),
            position=position,
            product_id=line.product_id,
            sku=taken[line.product_id].sku,
            name=taken[line.product_id].name,
            unit_price_cents=taken[line.product_id].price_cents,
            quantity=line.quantity,
            line_total_cents=taken[line.product_id].price_cents * line.quantity,
        )
        for position, line in enumerate(data.items)
    ]
    return Order(
        id=uuid.uuid4(),
        user_id=principal.user.id,
        status=OrderStatus.PENDING,
        currency=currency,
        total_cents=sum(item.line_total_cents for item in items),
        created_at=now,
        updated_at=now,
        items=items,
    )


async def _explain_refusal(uow: UnitOfWork, data: OrderCreate, failed_id: uuid.UUID) -> NoReturn:
    """Raise why a line could not be taken: 422 for an unknown or inactive product, else 409 stock."""
    products = {p.id: p for p in await uow.products.get_many(product_ids=[line.product_id for line in data.items])}
    for index, line in enumerate(data.items):
        product = products.get(line.product_id)
        if product is None or not product.is_active:
            # One message for both, so customers cannot probe for hidden products.
            raise InvalidInputError(
                "No such product, or it is not for sale.",
                loc=["body", "items", index, "product_id"],
                error_type="product_unavailable",
            )
    failed = products[failed_id]
    raise ConflictError(f"Insufficient stock for product {failed.sku} ({failed.id}).")


async def get_order(uow: UnitOfWork, principal: Principal, order_id: uuid.UUID) -> OrderRead:
    async with uow:
        order = await uow.orders.get_with_items(order_id)
    return OrderRead.model_validate(visible(principal, order))


async def get_history(uow: UnitOfWork, principal: Principal, order_id: uuid.UUID) -> OrderHistory:
    async with uow:
        visible(principal, await uow.orders.get(order_id))
        changes = await uow.orders.list_status_changes(order_id=order_id)
    return OrderHistory(items=[StatusChangeRead.model_validate(change) for change in changes])


async def list_orders(
    uow: UnitOfWork,
    principal: Principal,
    *,
    limit: int,
    cursor: str | None,
    status: OrderStatus | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> Page[OrderRead]:
    """Newest first. Customers get only their own orders; only admins may filter by `user_id`."""
    if principal.user.role != Role.ADMIN:
        if user_id is not None:
            raise InvalidInputError(
                "Only admins may filter by user_id.", loc=["query", "user_id"], error_type="admin_only_filter"
            )
        user_id = principal.user.id
    created_from, created_to = _as_utc(created_from, "created_from"), _as_utc(created_to, "created_to")
    if created_from is not None and created_to is not None and created_to <= created_from:
        raise InvalidInputError(
            "created_to must be later than created_from.", loc=["query", "created_to"], error_type="range_empty"
        )
    after = decode_cursor(cursor, datetime, uuid.UUID) if cursor else None
    async with uow:
        rows = await uow.orders.list_page(
            limit=limit + 1,
            after=after,  # type: ignore[arg-type]
            user_id=user_id,
            status=status,
            created_from=created_from,
            created_to=created_to,
        )
    items, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page[OrderRead](items=[OrderRead.model_validate(order) for order in items], next_cursor=next_cursor)


def _as_utc(moment: datetime | None, field: str) -> datetime | None:
    """Query datetimes without an offset are UTC (the contract)."""
    if moment is None:
        return None
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise InvalidInputError(
            f"`{field}` is outside the supported range of dates.", loc=["query", field], error_type="datetime_range"
        ) from exc


def visible(principal: Principal, order: Order | None) -> Order:
    """The order if the caller may see it; someone else's order is as absent as a missing one."""
    if order is None or (principal.user.role != Role.ADMIN and order.user_id != principal.user.id):
        raise NotFoundError("No such order.")
    return order
