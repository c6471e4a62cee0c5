"""The order state machine: the one table of allowed changes, and the use cases that move an order."""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from app.core.errors import ConflictError, PermissionDeniedError
from app.models import OrderStatus, OrderStatusChange, Role
from app.schemas.order import OrderRead
from app.services.auth_service import Principal
from app.services.order_service import visible
from app.services.unit_of_work import UnitOfWork

ALLOWED_TRANSITIONS: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
}


def can_transition(current: str, new: str) -> bool:
    return new in ALLOWED_TRANSITIONS.get(OrderStatus(current), frozenset())


async def cancel_order(uow: UnitOfWork, principal: Principal, order_id: uuid.UUID) -> OrderRead:
    """Cancel a pending or paid order of the caller's (or any, for admins) and put its stock back."""
    return await _move(uow, principal, order_id, OrderStatus.CANCELLED)


async def change_status(
    uow: UnitOfWork, principal: Principal, order_id: uuid.UUID, new_status: OrderStatus
) -> OrderRead:
    """Move any order along the state machine (admins); cancelling this way restocks too."""
    if principal.user.role != Role.ADMIN:
        raise PermissionDeniedError("This action needs the admin role.")
    return await _move(uow, principal, order_id, new_status)


async def _move(uow: UnitOfWork, principal: Principal, order_id: uuid.UUID, new: OrderStatus) -> OrderRead:
    async with uow:
        order = visible(principal, await uow.orders.get_with_items(order_id))
        # Read after the status: the change that produced it committed earlier, with an earlier
        # time, so the history's times follow its order.
        now = datetime.now(UTC)
        current = order.status
        if not can_transition(current, new):
            raise ConflictError(f"An order cannot go from {current} to {new}.")
        # Guarded on the status just read: of two concurrent changes, only one matches.
        if not await uow.orders.change_status(order, expected=current, new=new, now=now):
            raise ConflictError("The order was changed by another request; read it again.")
        if new == OrderStatus.CANCELLED:
            # Same id order as placing takes stock in, so restocking never deadlocks with it.
            for item in sorted(order.items, key=lambda line: line.product_id):
                await uow.products.put_back_stock(product_id=item.product_id, quantity=item.quantity, now=now)
        await uow.orders.add_status_change(
            OrderStatusChange(
                id=uuid.uuid4(),
                order_id=order.id,
                from_status=current,
                to_status=new,
                changed_at=now,
                changed_by=principal.user.id,
            )
        )
        await uow.commit()
    return OrderRead.model_validate(order)
