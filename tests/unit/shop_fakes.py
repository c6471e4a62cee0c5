"""In-memory catalogue, orders and idempotency keys behind a unit of work, for the order services.

The fakes keep the storage contracts the services rely on (a guarded stock decrement, a guarded
status change, one row per idempotency key) and record what happened: commits, rollbacks, the
order in which stock rows were touched.
"""

import copy
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from app.models import IdempotencyKey, Order, OrderStatusChange, Product, Role, User
from app.services.auth_service import Principal


class FakeProducts:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Product] = {}
        self.touched: list[uuid.UUID] = []

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return self.rows.get(product_id)

    async def get_many(self, *, product_ids: Iterable[uuid.UUID]) -> Sequence[Product]:
        return [self.rows[pid] for pid in product_ids if pid in self.rows]

    async def take_stock(self, *, product_id: uuid.UUID, quantity: int, now: datetime) -> Product | None:
        self.touched.append(product_id)
        product = self.rows.get(product_id)
        if product is None or not product.is_active or product.stock < quantity:
            return None
        product.stock -= quantity
        return product

    async def put_back_stock(self, *, product_id: uuid.UUID, quantity: int, now: datetime) -> None:
        self.touched.append(product_id)
        self.rows[product_id].stock += quantity


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Order] = {}
        self.changes: list[OrderStatusChange] = []
        self.list_calls: list[dict[str, Any]] = []
        # Simulates a concurrent request that changed the order between our read and our write.
        self.lose_next_race = False

    async def add(self, order: Order, *, first_change: OrderStatusChange) -> Order:
        self.rows[order.id] = order
        self.changes.append(first_change)
        return order

    async def get(self, order_id: uuid.UUID) -> Order | None:
        return self.rows.get(order_id)

    async def get_with_items(self, order_id: uuid.UUID) -> Order | None:
        return self.rows.get(order_id)

    async def list_page(self, **filters: Any) -> Sequence[Order]:
        self.list_calls.append(filters)
        orders = sorted(self.rows.values(), key=lambda order: (order.created_at, order.id), reverse=True)
        if filters["user_id"] is not None:
            orders = [order for order in orders if order.user_id == filters["user_id"]]
        return orders[: filters["limit"]]

    async def change_status(self, order: Order, *, expected: str, new: str, now: datetime) -> bool:
        if self.lose_next_race or order.status != expected:
            self.lose_next_race = False
            return False
        order.status, order.updated_at = new, now
        return True

    async def add_status_change(self, change: OrderStatusChange) -> None:
        self.changes.append(change)

    async def list_status_changes(self, *, order_id: uuid.UUID) -> Sequence[OrderStatusChange]:
        return sorted((c for c in self.changes if c.order_id == order_id), key=lambda change: change.changed_at)


class FakeIdempotency:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], IdempotencyKey] = {}

    async def add_if_absent(self, row: IdempotencyKey) -> bool:
        if (row.user_id, row.key) in self.rows:
            return False
        self.rows[(row.user_id, row.key)] = copy.copy(row)
        return True

    async def get(self, *, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        return self.rows.get((user_id, key))

    async def delete_if_expired(self, *, user_id: uuid.UUID, key: str, now: datetime) -> None:
        row = self.rows.get((user_id, key))
        if row is not None and row.expires_at <= now:
            del self.rows[(user_id, key)]

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        expired = sorted(
            (k for k, row in self.rows.items() if row.expires_at <= now), key=lambda k: self.rows[k].expires_at
        )
        for k in expired[:limit]:
            del self.rows[k]
        return len(expired[:limit])

    def _claimed(self, user_id: uuid.UUID, key: str, claimed_at: datetime) -> IdempotencyKey | None:
        row = self.rows.get((user_id, key))
        return row if row is not None and row.state == "in_flight" and row.created_at == claimed_at else None

    async def take_over(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, now: datetime) -> bool:
        row = self._claimed(user_id, key, claimed_at)
        if row is not None:
            row.created_at = now
        return row is not None

    async def complete(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, status: int, body: str) -> bool:
        row = self._claimed(user_id, key, claimed_at)
        if row is not None:
            row.state, row.response_status, row.response_body = "completed", status, body
        return row is not None

    async def release(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime) -> None:
        if self._claimed(user_id, key, claimed_at) is not None:
            del self.rows[(user_id, key)]


class FakeShopUnitOfWork:
    """Counts commits and blocks; a block left without commit counts as a rollback."""

    def __init__(self) -> None:
        self.products = FakeProducts()
        self.orders = FakeOrders()
        self.idempotency = FakeIdempotency()
        self.commits = 0
        self.rollbacks = 0
        self.blocks = 0
        self._committed_in_block = False

    @property
    def committed(self) -> bool:
        return self.commits > 0

    async def __aenter__(self) -> "FakeShopUnitOfWork":
        self.blocks += 1
        self._committed_in_block = False
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if not self._committed_in_block:
            self.rollbacks += 1

    async def commit(self) -> None:
        self.commits += 1
        self._committed_in_block = True


def principal(role: Role = Role.CUSTOMER) -> Principal:
    user = User(id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@example.com", role=role, is_active=True)
    return Principal(user=user, session_id=uuid.uuid4())


def add_product(uow: FakeShopUnitOfWork, *, price_cents: int = 100, stock: int = 10, **values: Any) -> Product:
    now = datetime.now(UTC)
    product = Product(
        id=values.pop("id", uuid.uuid4()),
        sku=values.pop("sku", f"SKU-{uuid.uuid4().hex[:6]}"),
        name=values.pop("name", "Thing"),
        description=None,
        price_cents=price_cents,
        stock=stock,
        is_active=values.pop("is_active", True),
        created_at=now,
        updated_at=now,
    )
    uow.products.rows[product.id] = product
    return product
