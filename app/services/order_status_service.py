"""The order state machine: the one table of allowed changes, and the use cases that move an order."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from app.core.errors import ConflictError, NotFoundError
from app.models import OrderStatus, OrderStatusChange
from app.schemas.order import OrderRead
from app.services.caller import Caller, require_admin
from app.services.order_service import NO_SUCH_ORDER, can_see
from app.services.outbox import SILENT, Outbox
from app.services.ports import UnitOfWorkFactory

ALLOWED_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
}


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(OrderStatus(current), frozenset())


class OrderStatusService:
    def __init__(self, uow: UnitOfWorkFactory, *, outbox: Outbox = SILENT) -> None:
        self._uow = uow
        self._outbox = outbox

    async def cancel_order(self, caller: Caller, order_id: uuid.UUID) -> OrderRead:
        """Cancel a pending or paid order of the caller's (or any, for admins) and put its stock back."""
        return await self._move(caller, order_id, OrderStatus.CANCELLED)

    async def change_order_status(self, caller: Caller, order_id: uuid.UUID, new_status: OrderStatus) -> OrderRead:
        """Move any order along the state machine (admins); cancelling this way restocks too."""
        require_admin(caller)
        return await self._move(caller, order_id, new_status)

    async def _move(self, caller: Caller, order_id: uuid.UUID, new: OrderStatus) -> OrderRead:
        async with self._uow() as uow:
            order = await uow.orders.get_with_items(order_id)
            if order is None or not can_see(caller, order.user_id):
                raise NotFoundError(NO_SUCH_ORDER)
            # Read after the status: the change that produced it committed earlier, with an earlier
            # time, so the history's times follow its order.
            now = datetime.now(UTC)
            current = order.status
            if not can_transition(current, new):
                allowed = sorted(ALLOWED_TRANSITIONS.get(OrderStatus(current), ()))
                raise ConflictError(f"An order cannot go from {current} to {new}.", allowed=allowed)
            # Guarded on the status just read: of two concurrent changes, only one matches.
            if not await uow.orders.change_status(order, expected=current, new=new, now=now):
                raise ConflictError("The order was changed by another request; read it again.")
            await uow.orders.add_status_change(
                OrderStatusChange(
                    id=uuid.uuid4(),
                    order_id=order.id,
                    from_status=current,
                    to_status=new,
                    changed_at=now,
                    changed_by=caller.id,
                )
            )
            changed = OrderRead.model_validate(order)
            if self._outbox.events:
                sequence = await uow.orders.count_changes(order.id)
                await uow.outbox.add(
                    self._outbox.order_status_changed(
                        changed, from_status=current, changed_by=caller.id, sequence=sequence
                    )
                )
            if new == OrderStatus.CANCELLED:
                # Last before the commit, so the products' row locks are held briefly.
                await uow.products.put_back_stock({item.product_id: item.quantity for item in order.items}, now=now)
            await uow.commit()
        return changed
