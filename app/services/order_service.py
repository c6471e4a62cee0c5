"""Placing orders and reading them: prices come from the catalogue, stock is taken with the order."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.errors import AppError, ConflictError, InvalidInputError, NotFoundError
from app.core.pagination import CursorCodec
from app.core.time import as_utc, require_after
from app.models import OrderStatus
from app.queries.orders import OrderFilter
from app.repositories.order_repo import NewLine, NewOrder, Placement
from app.schemas.common import Page
from app.schemas.order import OrderCreate, OrderHistoryRead, OrderItemRead, OrderRead
from app.schemas.product import ProductRead
from app.services import idempotency_service, paging
from app.services.caller import Caller
from app.services.idempotency_service import Claim, StoredResponse
from app.services.outbox import SILENT, Outbox
from app.services.ports import ReadSide, UnitOfWorkFactory

IDEMPOTENCY_SCOPE = "POST /orders"
CREATED = 201
# A placement starts again when a product changed between its unlocked read and the guarded write.
PLACEMENT_ATTEMPTS = 3
NO_SUCH_ORDER = "No such order."


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: OrderRead
    replayed: bool = False


NEWEST_FIRST = paging.newest_first("orders")


class OrderService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reads: ReadSide,
        *,
        currency: str,
        key_ttl: timedelta,
        cursors: CursorCodec,
        outbox: Outbox = SILENT,
    ) -> None:
        self._uow = uow
        self._outbox = outbox
        self._reads = reads
        self._currency = currency
        self._key_ttl = key_ttl
        self._cursors = cursors

    async def place_order(
        self, caller: Caller, data: OrderCreate, *, idempotency_key: str | None = None
    ) -> PlacedOrder:
        """Price the lines from the catalogue, take the stock and record the order, all or nothing.

        With an idempotency key, the same body again replays the first response; see idempotency_service.
        """
        _refuse_repeated_products(data)
        if idempotency_key is None:
            return PlacedOrder(await self._place(caller, data, claim=None))

        outcome = await idempotency_service.claim(
            self._uow(),
            user_id=caller.id,
            key=idempotency_key,
            request_hash=idempotency_service.request_hash(IDEMPOTENCY_SCOPE, data),
            ttl=self._key_ttl,
        )
        if isinstance(outcome, StoredResponse):
            return PlacedOrder(OrderRead.model_validate_json(outcome.body), replayed=True)
        try:
            order = await self._place(caller, data, claim=outcome)
        except AppError:
            # The order was not written, so nothing happened: free the key for a retry.
            # Other failures keep it in flight (the write may have landed) until the lease runs out.
            await idempotency_service.release(self._uow(), outcome)
            raise
        return PlacedOrder(order)

    async def _place(self, caller: Caller, data: OrderCreate, *, claim: Claim | None) -> OrderRead:
        """Read the lines' products without a lock and price the order from them; then take the stock and write
        the order in one guarded step. If a product changed between the two (sold out, repriced, withdrawn),
        start again from the new catalogue: a refusal is then explained by what it shows."""
        for _ in range(PLACEMENT_ATTEMPTS):
            catalogue = await self._reads.products.get_many(line.product_id for line in data.items)
            _refuse_unservable(data, catalogue)
            order = _price(caller, data, catalogue, self._currency, datetime.now(UTC))
            placed = _as_read(order)
            body = placed.model_dump_json()
            answer = idempotency_service.answer(claim, status=CREATED, body=body) if claim else None
            messages = self._outbox.order_placed(placed)
            async with self._uow() as uow:
                outcome = await uow.orders.place(order, answer=answer, messages=messages)
                if outcome is Placement.PLACED:
                    await uow.commit()
                    return placed
            if outcome is Placement.CLAIM_LOST:
                raise ConflictError(idempotency_service.IN_FLIGHT_MESSAGE)
        raise ConflictError("The catalogue kept changing while the order was placed; try again.")

    async def get_order(self, caller: Caller, order_id: uuid.UUID) -> OrderRead:
        order = await self._reads.orders.get(order_id)
        if order is None or not can_see(caller, order.user_id):
            raise NotFoundError(NO_SUCH_ORDER)
        return order

    async def get_order_history(self, caller: Caller, order_id: uuid.UUID) -> OrderHistoryRead:
        found = await self._reads.orders.get_history(order_id)
        if found is None or not can_see(caller, found[0]):
            raise NotFoundError(NO_SUCH_ORDER)
        return found[1]

    async def list_orders(
        self,
        caller: Caller,
        *,
        limit: int,
        cursor: str | None,
        status: OrderStatus | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        user_id: uuid.UUID | None = None,
    ) -> Page[OrderRead]:
        """Newest first. Customers get only their own orders; only admins may filter by `user_id`."""
        if not caller.is_admin:
            if user_id is not None:
                raise InvalidInputError(
                    "Only admins may filter by user_id.", loc=["query", "user_id"], error_type="admin_only_filter"
                )
            user_id = caller.id
        since = as_utc(created_from, "created_from") if created_from else None
        until = as_utc(created_to, "created_to") if created_to else None
        if since is not None and until is not None:
            require_after(since, until, field="created_to", message="created_to must be later than created_from.")
        where = OrderFilter(user_id=user_id, status=status, created_from=since, created_to=until)

        async def fetch(after: paging.TimeAndId | None, count: int) -> list[OrderRead]:
            return await self._reads.orders.list_page(where=where, after=after, limit=count)

        return await paging.page(
            self._cursors, NEWEST_FIRST, viewer=str(caller.id), cursor=cursor, limit=limit, fetch=fetch
        )


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


def _refuse_unservable(data: OrderCreate, catalogue: Mapping[uuid.UUID, ProductRead]) -> None:
    """422 for the first unknown or inactive product; else 409 naming every line that is short of stock."""
    for index, line in enumerate(data.items):
        product = catalogue.get(line.product_id)
        if product is None or not product.is_active:
            # One message for both, so customers cannot probe for hidden products.
            raise InvalidInputError(
                "No such product, or it is not for sale.",
                loc=["body", "items", index, "product_id"],
                error_type="product_unavailable",
            )
    short = [
        (index, catalogue[line.product_id])
        for index, line in enumerate(data.items)
        if catalogue[line.product_id].stock < line.quantity
    ]
    if short:
        names = ", ".join(f"{product.sku} ({product.id})" for _, product in short)
        raise ConflictError(
            f"Insufficient stock for product {names}.",
            errors=[
                {
                    "loc": ["body", "items", index, "quantity"],
                    "msg": f"Only {product.stock} of {product.sku} in stock.",
                    "type": "insufficient_stock",
                }
                for index, product in short
            ],
        )


def _price(
    caller: Caller, data: OrderCreate, catalogue: Mapping[uuid.UUID, ProductRead], currency: str, now: datetime
) -> NewOrder:
    """The order as the catalogue prices it now: each line at its product's price, the total their sum."""
    lines = tuple(
        NewLine(
            id=uuid.uuid4(),
            product_id=line.product_id,
            sku=catalogue[line.product_id].sku,
            name=catalogue[line.product_id].name,
            unit_price_cents=catalogue[line.product_id].price_cents,
            quantity=line.quantity,
            line_total_cents=catalogue[line.product_id].price_cents * line.quantity,
        )
        for line in data.items
    )
    return NewOrder(
        id=uuid.uuid4(),
        user_id=caller.id,
        currency=currency,
        total_cents=sum(line.line_total_cents for line in lines),
        created_at=now,
        lines=lines,
        first_change_id=uuid.uuid4(),
    )


def _as_read(order: NewOrder) -> OrderRead:
    return OrderRead(
        id=order.id,
        user_id=order.user_id,
        status=OrderStatus.PENDING,
        currency=order.currency,
        total_cents=order.total_cents,
        items=[
            OrderItemRead(
                product_id=line.product_id,
                sku=line.sku,
                name=line.name,
                unit_price_cents=line.unit_price_cents,
                quantity=line.quantity,
                line_total_cents=line.line_total_cents,
            )
            for line in order.lines
        ],
        created_at=order.created_at,
        updated_at=order.created_at,
    )


def can_see(caller: Caller, owner_id: uuid.UUID) -> bool:
    """Admins see every order; anyone else only their own, and someone else's is as absent as a missing one."""
    return caller.is_admin or owner_id == caller.id
