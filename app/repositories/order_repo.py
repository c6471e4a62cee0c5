import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.models import Order, OrderStatusChange


class OrderRepository:
    """Orders with their lines, and each order's status history."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: Order, *, first_change: OrderStatusChange) -> Order:
        """Insert the order, its lines (one batched statement) and its creation record."""
        self._session.add_all([order, first_change])
        await self._session.flush()
        return order

    async def get_with_items(self, order_id: uuid.UUID) -> Order | None:
        query = select(Order).where(Order.id == order_id).options(joinedload(Order.items))
        return (await self._session.scalars(query)).unique().one_or_none()

    async def get(self, order_id: uuid.UUID) -> Order | None:
        return await self._session.get(Order, order_id)

    async def list_page(
        self,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None,
        user_id: uuid.UUID | None,
        status: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
    ) -> Sequence[Order]:
        """Newest first, keyset on (created_at, id); the page's lines come in one more query."""
        query = (
            select(Order)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(limit)
            .options(selectinload(Order.items))
        )
        if after is not None:
            query = query.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
        if user_id is not None:
            query = query.where(Order.user_id == user_id)
        if status is not None:
            query = query.where(Order.status == status)
        if created_from is not None:
            query = query.where(Order.created_at >= created_from)
        if created_to is not None:
            query = query.where(Order.created_at < created_to)
        return (await self._session.scalars(query)).all()

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
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        # The row changed in the database; mirror it on the loaded object without a second write.
        set_committed_value(order, "status", new)
        set_committed_value(order, "updated_at", now)
        return True

    async def add_status_change(self, change: OrderStatusChange) -> None:
        self._session.add(change)
        await self._session.flush()

    async def list_status_changes(self, *, order_id: uuid.UUID) -> Sequence[OrderStatusChange]:
        query = (
            select(OrderStatusChange)
            .where(OrderStatusChange.order_id == order_id)
            .order_by(OrderStatusChange.changed_at, OrderStatusChange.id)
        )
        return (await self._session.scalars(query)).all()
