import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.models.order import OrderStatus
from app.schemas.common import Page, RequestBody

MAX_LINES = 50
MAX_QUANTITY = 1000

# Printable ASCII, as an HTTP header value can carry it unambiguously.
IDEMPOTENCY_KEY_PATTERN = r"^[\x20-\x7e]{1,255}$"


class OrderLineCreate(RequestBody):
    product_id: uuid.UUID
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]


class OrderCreate(RequestBody):
    """Only products and quantities: prices, totals, status and owner are the server's."""

    items: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)]


class OrderStatusUpdate(RequestBody):
    status: OrderStatus


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: uuid.UUID
    sku: str
    name: str
    unit_price_cents: int
    quantity: int
    line_total_cents: int


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: uuid.UUID
    status: OrderStatus
    currency: str
    total_cents: int
    items: list[OrderItemRead]
    created_at: datetime
    updated_at: datetime


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: OrderStatus | None
    to_status: OrderStatus
    changed_at: datetime
    changed_by: uuid.UUID


class OrderHistoryRead(BaseModel):
    items: list[StatusChangeRead]


OrderPage = Page[OrderRead]
