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
    product_id: uuid.UUID = Field(description="An active product; each product at most once per order.")
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)] = Field(description="Units to buy.")


class OrderCreate(RequestBody):
    """Only products and quantities: prices, totals, status and owner are the server's."""

    items: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)] = Field(
        description="The lines, kept in this order in the answer."
    )


class OrderStatusUpdate(RequestBody):
    status: OrderStatus = Field(description="The next status; the state machine decides which are allowed.")


class OrderItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: uuid.UUID = Field(description="The product bought.")
    sku: str = Field(description="The product's SKU when the order was placed.")
    name: str = Field(description="The product's name when the order was placed.")
    unit_price_cents: int = Field(description="The catalogue price when the order was placed, in cents.")
    quantity: int = Field(description="Units bought.")
    line_total_cents: int = Field(description="`unit_price_cents` times `quantity`.")


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The order's id.")
    user_id: uuid.UUID = Field(description="The buyer's account id.")
    status: OrderStatus = Field(description="Where the order is: pending → paid → shipped → delivered, or cancelled.")
    currency: str = Field(description="The store currency (ISO 4217) of every amount in the order.")
    total_cents: int = Field(description="The sum of the lines' totals, in cents.")
    items: list[OrderItemRead] = Field(description="The lines, in the order they were sent.")
    created_at: datetime = Field(description="When the order was placed (UTC).")
    updated_at: datetime = Field(description="When its status last changed (UTC).")


class StatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: OrderStatus | None = Field(description="The status before; null for the order's creation.")
    to_status: OrderStatus = Field(description="The status after.")
    changed_at: datetime = Field(description="When the change was made (UTC).")
    changed_by: uuid.UUID = Field(description="The account that made it: the buyer, or an admin.")


class OrderHistoryRead(BaseModel):
    items: list[StatusChangeRead] = Field(description="Every change, oldest first, the creation included.")


OrderPage = Page[OrderRead]
