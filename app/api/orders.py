import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from app.api.deps import AdminUser, AppSettings, CurrentUser, Reads, UoW
from app.core.strict_json import StrictJSONRoute
from app.models import OrderStatus
from app.schemas.common import QueryDateTime, problem_responses
from app.schemas.order import (
    IDEMPOTENCY_KEY_PATTERN,
    OrderCreate,
    OrderHistory,
    OrderPage,
    OrderRead,
    OrderStatusUpdate,
)
from app.services import order_service, order_status_service

router = APIRouter(prefix="/orders", tags=["orders"], route_class=StrictJSONRoute)

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
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 409, 422),
)
async def create_order(
    body: OrderCreate,
    caller: CurrentUser,
    uow: UoW,
    reads: Reads,
    settings: AppSettings,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> OrderRead:
    """Place an order; prices and totals come from the catalogue, stock is taken at once."""
    placed = await order_service.place_order(
        uow,
        reads,
        caller,
        body,
        currency=settings.currency,
        idempotency_key=idempotency_key,
        key_ttl=timedelta(hours=settings.idempotency_key_ttl_hours),
    )
    if placed.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return placed.order


@router.get("", response_model=OrderPage, responses=problem_responses(401, 422))
async def list_orders(
    caller: CurrentUser,
    reads: Reads,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    created_from: Annotated[QueryDateTime | None, Query(description="Inclusive; UTC when no offset is given")] = None,
    created_to: Annotated[QueryDateTime | None, Query(description="Exclusive; UTC when no offset is given")] = None,
    user_id: Annotated[uuid.UUID | None, Query(description="Admins only")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> OrderPage:
    """Orders, newest first: the caller's own, or everyone's for admins."""
    return await order_service.list_orders(
        reads,
        caller,
        limit=limit,
        cursor=cursor,
        status=order_status,
        created_from=created_from,
        created_to=created_to,
        user_id=user_id,
    )


@router.get("/{order_id}", response_model=OrderRead, responses=problem_responses(401, 404, 422))
async def get_order(order_id: uuid.UUID, caller: CurrentUser, reads: Reads) -> OrderRead:
    """One order of the caller's (any order, for admins)."""
    return await order_service.get_order(reads, caller, order_id)


@router.get("/{order_id}/history", response_model=OrderHistory, responses=problem_responses(401, 404, 422))
async def get_order_history(order_id: uuid.UUID, caller: CurrentUser, reads: Reads) -> OrderHistory:
    """Every status change of the order, oldest first, creation included."""
    return await order_service.get_history(reads, caller, order_id)


@router.post("/{order_id}/cancel", response_model=OrderRead, responses=problem_responses(401, 404, 409, 422))
async def cancel_order(order_id: uuid.UUID, caller: CurrentUser, uow: UoW) -> OrderRead:
    """Cancel a pending or paid order; its stock goes back to the catalogue."""
    return await order_status_service.cancel_order(uow, caller, order_id)


@router.patch("/{order_id}/status", response_model=OrderRead, responses=problem_responses(401, 403, 404, 409, 422))
async def change_order_status(order_id: uuid.UUID, body: OrderStatusUpdate, caller: AdminUser, uow: UoW) -> OrderRead:
    """Move an order along pending → paid → shipped → delivered, or cancel it (admin)."""
    return await order_status_service.change_status(uow, caller, order_id, body.status)
