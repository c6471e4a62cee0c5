import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Update, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.models import IdempotencyState, Order, OrderItem, OrderStatus, OrderStatusChange, Product
from app.repositories.committing import alone
from app.repositories.idempotency_repo import IdempotencyRepository
from app.repositories.outbox_repo import NewMessage, OutboxRepository
from app.repositories.rowcount import rowcount


class Placement(Enum):
    PLACED = "placed"
    CATALOGUE_CHANGED = "catalogue_changed"  # a line's product is no longer as the order was priced, or short
    CLAIM_LOST = "claim_lost"  # the idempotency key's claim was taken over meanwhile


@dataclass(frozen=True, slots=True)
class NewLine:
    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order to place: pending, its lines in their order, and the id of its first history row."""

    id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    total_cents: int
    created_at: datetime
    lines: tuple[NewLine, ...]
    first_change_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """The response to keep on a claimed idempotency key, written with the order or not at all."""

    user_id: uuid.UUID
    key: str
    claimed_at: datetime
    status: int
    body: str


# The whole placement in one statement (PostgreSQL), sent outside any transaction: one statement is atomic by
# itself, so nothing is held between round trips. The products are locked in id order (two orders sharing
# products queue instead of deadlocking) and only then checked: still active, priced, named and stocked as the
# order says. If every line passes (and a claimed idempotency key is still this request's), the stock is taken,
# the order, its lines, its first history row and its outbox messages are inserted and the answer is stored on the
# key; if one fails, nothing is written. The row locks last as long as this statement runs, and no longer.
PLACE_IN_ONE_STATEMENT = text(f"""
WITH line AS (
    SELECT * FROM json_to_recordset(CAST(:lines AS json)) AS l (
        id uuid, position integer, product_id uuid, sku varchar, name varchar, unit_price_cents bigint,
        quantity integer, line_total_cents bigint
    )
),
locked AS (
    SELECT p.id, p.stock, p.price_cents, p.sku, p.name, p.is_active
    FROM products AS p WHERE p.id IN (SELECT product_id FROM line)
    ORDER BY p.id
    FOR NO KEY UPDATE
),
claim AS (
    SELECT 1 FROM idempotency_keys AS k
    WHERE k.user_id = :user_id AND k.key = :idempotency_key AND k.state = '{IdempotencyState.IN_FLIGHT.value}'
      AND k.created_at = :claimed_at
    FOR UPDATE
),
checked AS (
    SELECT
        (SELECT count(*) FROM line AS l JOIN locked AS p ON p.id = l.product_id
         WHERE p.is_active AND p.stock >= l.quantity
           AND p.price_cents = l.unit_price_cents AND p.sku = l.sku AND p.name = l.name
        ) = (SELECT count(*) FROM line) AS servable,
        CAST(:idempotency_key AS varchar) IS NULL OR EXISTS (SELECT 1 FROM claim) AS claimed
),
go AS (SELECT servable AND claimed AS ok FROM checked),
taken AS (
    UPDATE products AS p SET stock = p.stock - l.quantity, updated_at = :now
    FROM line AS l
    WHERE p.id = l.product_id AND (SELECT ok FROM go)
),
new_order AS (
    INSERT INTO orders (id, user_id, status, currency, total_cents, created_at, updated_at)
    SELECT :order_id, :user_id, :status, :currency, :total_cents, :now, :now
    WHERE (SELECT ok FROM go)
),
new_lines AS (
    INSERT INTO order_items
        (id, order_id, position, product_id, sku, name, unit_price_cents, quantity, line_total_cents)
    SELECT l.id, :order_id, l.position, l.product_id, l.sku, l.name, l.unit_price_cents, l.quantity,
           l.line_total_cents
    FROM line AS l
    WHERE (SELECT ok FROM go)
),
first_change AS (
    INSERT INTO order_status_changes (id, order_id, from_status, to_status, changed_at, changed_by)
    SELECT :change_id, :order_id, NULL, :status, :now, :changed_by
    WHERE (SELECT ok FROM go)
),
answer AS (
    UPDATE idempotency_keys AS k
    SET state = '{IdempotencyState.COMPLETED.value}', response_status = :answer_status, response_body = :answer_body
    WHERE k.user_id = :user_id AND k.key = :idempotency_key AND (SELECT ok FROM go)
),
messages AS (
    INSERT INTO outbox (id, kind, type, subject, sequence, payload, created_at, attempts, next_attempt_at)
    SELECT m.id, m.kind, m.type, m.subject, m.sequence, m.payload, :now, 0, :now
    FROM json_to_recordset(CAST(:messages AS json)) AS m (
        id uuid, kind varchar, type varchar, subject uuid, sequence integer, payload text
    )
    WHERE (SELECT ok FROM go)
)
SELECT servable, claimed FROM checked
""")  # noqa: S608 - the two constants are the repository's own


class OrderRepository:
    """Orders with their lines, and each order's status history."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def place(
        self, order: NewOrder, *, answer: StoredAnswer | None = None, messages: Sequence[NewMessage] = ()
    ) -> Placement:
        """Take each line's stock and record the order, its lines, its creation, its outbox `messages` (written
        at the order's `created_at`) and the answer for its idempotency key, unless a line's product is no longer
        active, priced, named and stocked as the order says (or the key's claim was lost): then nothing is written.

        On PostgreSQL this is one statement outside any transaction, and must be the unit of work's first; on
        SQLite it joins the unit of work's transaction, which already holds the one write lock.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            return await self._place_in_one_statement(order, answer, messages)
        placement = await self._place_under_the_write_lock(order, answer)
        if placement is Placement.PLACED:
            await OutboxRepository(self._session).add(messages)
        return placement

    async def _place_in_one_statement(
        self, order: NewOrder, answer: StoredAnswer | None, messages: Sequence[NewMessage]
    ) -> Placement:
        params = {
            # The lines travel as one JSON parameter: cheaper to send than an array per column.
            "lines": json.dumps(_line_rows(order), default=str),
            "order_id": order.id,
            "user_id": order.user_id,
            "status": OrderStatus.PENDING.value,
            "currency": order.currency,
            "total_cents": order.total_cents,
            "now": order.created_at,
            "change_id": order.first_change_id,
            "changed_by": order.user_id,
            "idempotency_key": answer.key if answer else None,
            "claimed_at": answer.claimed_at if answer else None,
            "answer_status": answer.status if answer else None,
            "answer_body": answer.body if answer else None,
            "messages": json.dumps([_message_row(message) for message in messages], default=str),
        }
        async with alone(self._session) as connection:  # the statement commits as it ends
            servable, claimed = (await connection.execute(PLACE_IN_ONE_STATEMENT, params)).one()
        if not claimed:
            return Placement.CLAIM_LOST
        return Placement.PLACED if servable else Placement.CATALOGUE_CHANGED

    async def _place_under_the_write_lock(self, order: NewOrder, answer: StoredAnswer | None) -> Placement:
        # SQLite: the transaction holds the database's one write lock (BEGIN IMMEDIATE) from its first statement,
        # so nothing changes between the guarded updates and the inserts.
        if answer is not None and not await IdempotencyRepository(self._session).complete(
            user_id=answer.user_id, key=answer.key, claimed_at=answer.claimed_at, status=answer.status, body=answer.body
        ):
            return Placement.CLAIM_LOST
        for line in sorted(order.lines, key=lambda line: line.product_id):
            if not rowcount(await self._session.execute(_take_stock(line, now=order.created_at))):
                return Placement.CATALOGUE_CHANGED
        status = OrderStatus.PENDING.value
        created = order.created_at
        await self._session.execute(
            insert(Order).values(
                id=order.id,
                user_id=order.user_id,
                status=status,
                currency=order.currency,
                total_cents=order.total_cents,
                created_at=created,
                updated_at=created,
            )
        )
        await self._session.execute(insert(OrderItem), [{**row, "order_id": order.id} for row in _line_rows(order)])
        first_change = {"from_status": None, "to_status": status, "changed_at": created, "changed_by": order.user_id}
        await self._session.execute(
            insert(OrderStatusChange).values(id=order.first_change_id, order_id=order.id, **first_change)
        )
        return Placement.PLACED

    async def get_with_items(self, order_id: uuid.UUID) -> Order | None:
        query = select(Order).where(Order.id == order_id).options(joinedload(Order.items))
        return (await self._session.scalars(query)).unique().one_or_none()

    async def change_status(self, order: Order, *, expected: str, new: str, now: datetime) -> bool:
        """Move the order from `expected` to `new`; False when its status is no longer `expected`.

        The status guard makes concurrent changes of one order serialise on its row: the loser
        re-checks the guard after the winner commits, matches nothing and learns it lost.
        """
        result = await self._session.execute(
            update(Order)
            .where(Order.id == order.id, Order.status == expected)
            .values(status=new, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if not rowcount(result):
            return False
        # The row changed in the database; mirror it on the loaded object without a second write.
        set_committed_value(order, "status", new)
        set_committed_value(order, "updated_at", now)
        return True

    async def add_status_change(self, change: OrderStatusChange) -> None:
        self._session.add(change)
        await self._session.flush()

    async def count_changes(self, order_id: uuid.UUID) -> int:
        """How many changes the order's history holds, its creation included."""
        query = select(func.count()).select_from(OrderStatusChange).where(OrderStatusChange.order_id == order_id)
        return int(await self._session.scalar(query) or 0)


def _message_row(message: NewMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "kind": message.kind.value,
        "type": message.type,
        "subject": message.subject,
        "sequence": message.sequence,
        "payload": message.payload,
    }


def _line_rows(order: NewOrder) -> list[dict[str, Any]]:
    """The order's lines as `order_items` columns (but `order_id`), in order."""
    return [
        {
            "id": line.id,
            "position": position,
            "product_id": line.product_id,
            "sku": line.sku,
            "name": line.name,
            "unit_price_cents": line.unit_price_cents,
            "quantity": line.quantity,
            "line_total_cents": line.line_total_cents,
        }
        for position, line in enumerate(order.lines)
    ]


def _take_stock(line: NewLine, *, now: datetime) -> Update:
    """The line's stock, taken only if its product is still active, priced, named and stocked as it says."""
    return (
        update(Product)
        .where(
            Product.id == line.product_id,
            Product.is_active.is_(True),
            Product.stock >= line.quantity,
            Product.price_cents == line.unit_price_cents,
            Product.sku == line.sku,
            Product.name == line.name,
        )
        .values(stock=Product.stock - line.quantity, updated_at=now)
        .execution_options(synchronize_session=False)
    )
