"""The admin's analytics: summary, revenue series and top lists. Money is integer cents."""

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field


def _iso_8601_only(value: object) -> object:
    # pydantic would also read "1700000000" as Unix seconds; the contract speaks ISO 8601 only.
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(\.\d*)?\s*", value):
        raise ValueError("expected an ISO 8601 date or date-time, such as 2026-11-26T10:00:00Z")
    return value


# An ISO 8601 date-time (or a date, meaning its 00:00); without an offset it is taken as UTC.
QueryDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


class RevenueInterval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class StatusCounts(BaseModel):
    pending: int
    paid: int
    shipped: int
    delivered: int
    cancelled: int


class SummaryRead(BaseModel):
    start: datetime
    end: datetime
    order_count: int = Field(description="Orders created in [start, end), any status.")
    revenue_cents: int = Field(description="Sum of the totals of paid, shipped and delivered orders.")
    average_order_value_cents: int = Field(description="revenue_cents // revenue orders, rounded down; 0 if none.")
    customer_count: int = Field(description="Distinct buyers of the orders in range, any status.")
    cancelled_count: int
    cancellation_rate: float = Field(ge=0, le=1, description="cancelled_count / order_count; 0 if no orders.")
    by_status: StatusCounts


class RevenuePoint(BaseModel):
    period_start: datetime
    order_count: int
    revenue_cents: int


class RevenueRead(BaseModel):
    interval: RevenueInterval
    points: list[RevenuePoint]


class TopProduct(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    units_sold: int
    revenue_cents: int


class TopProductsRead(BaseModel):
    items: list[TopProduct]


class TopCustomer(BaseModel):
    user_id: uuid.UUID
    email: str
    order_count: int
    revenue_cents: int


class TopCustomersRead(BaseModel):
    items: list[TopCustomer]
