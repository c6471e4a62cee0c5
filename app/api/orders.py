import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response, status

from app.api.deps import AdminUser, CurrentUser, OrderServiceDep, OrderStatusServiceDep
from app.api.openapi import problem_responses
from app.api.params import PageCursor, PageLimit
from app.core.strict_json import StrictJSONRoute
from app.models import OrderStatus
from app.schemas.common import QueryDateTime
from app.schemas.order import (
    IDEMPOTENCY_KEY_PATTERN,
    OrderCreate,
    OrderHistoryRead,
    OrderPage,
    OrderRead,
    OrderStatusUpdate,
)

router = APIRouter(prefix="/orders", tags=["orders"], route_class=StrictJSONRoute)
OrderId = Annotated[uuid.UUID, Path(description="The order's id.")]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="1 to 255 printable ASCII characters; the same key and body again replay the first answer.",
    ),
]


@router.post(
    "",
    summary="Place an order.",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 409, 422),
)
async def place_order(
    body: OrderCreate,
    caller: CurrentUser,
    orders: OrderServiceDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> OrderRead:
    """Prices and totals come from the catalogue and the stock is taken at once; 409 names every line short of stock."""
    placed = await orders.place_order(caller, body, idempotency_key=idempotency_key)
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@router.get("", summary="List orders.", response_model=OrderPage, responses=problem_responses(401, 422))
async def list_orders(
    caller: CurrentUser,
    orders: OrderServiceDep,
    order_status: Annotated[OrderStatus | None, Query(alias="status", description="Only orders in this status")] = None,
    created_from: Annotated[QueryDateTime | None, Query(description="Inclusive; UTC when no offset is given")] = None,
    created_to: Annotated[QueryDateTime | None, Query(description="Exclusive; UTC when no offset is given")] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="Admins only")] = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> OrderPage:
    """Orders, newest first: the caller's own, or everyone's for admins."""
    return await orders.list_orders(
        caller,
        limit=limit,
        cursor=cursor,
        status=order_status,
        created_from=created_from,
        created_to=created_to,
        user_id=user_id,
    )


@router.get(
    "/{order_id}", summary="Read an order.", response_model=OrderRead, responses=problem_responses(401, 404, 422)
)
async def get_order(order_id: OrderId, caller: CurrentUser, orders: OrderServiceDep) -> OrderRead:
    """One order of the caller's (any order, for admins); someone else's is a 404, like a missing one."""
    return await orders.get_order(caller, order_id)


@router.get(
    "/{order_id}/history",
    summary="Read an order's status history.",
    response_model=OrderHistoryRead,
    responses=problem_responses(401, 404, 422),
)
async def get_order_history(order_id: OrderId, caller: CurrentUser, orders: OrderServiceDep) -> OrderHistoryRead:
    """Every status change of the order, oldest first, creation included."""
    return await orders.get_order_history(caller, order_id)


@router.post(
    "/{order_id}/cancel",
    summary="Cancel an order.",
    response_model=OrderRead,
    responses=problem_responses(401, 404, 409, 422),
)
async def cancel_order(order_id: OrderId, caller: CurrentUser, statuses: OrderStatusServiceDep) -> OrderRead:
    """Cancel a pending or paid order; its stock goes back to the catalogue."""
    return await statuses.cancel_order(caller, order_id)


@router.patch(
    "/{order_id}/status",
    summary="Change an order's status (admin).",
    response_model=OrderRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def change_order_status(
    order_id: OrderId, body: OrderStatusUpdate, caller: AdminUser, statuses: OrderStatusServiceDep
) -> OrderRead:
    """Move an order along pending → paid → shipped → delivered, or cancel it (admin)."""
    return await statuses.change_order_status(caller, order_id, body.status)
