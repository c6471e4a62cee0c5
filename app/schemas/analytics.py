"""The admin's analytics: summary, revenue series and top lists. Money is integer cents."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class RevenueInterval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class StatusCountsRead(BaseModel):
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
    by_status: StatusCountsRead


class RevenuePointRead(BaseModel):
    period_start: datetime
    order_count: int
    revenue_cents: int


class RevenueRead(BaseModel):
    interval: RevenueInterval
    points: list[RevenuePointRead]


class TopProductRead(BaseModel):
    product_id: uuid.UUID
    sku: str
    name: str
    units_sold: int
    revenue_cents: int


class TopProductsRead(BaseModel):
    items: list[TopProductRead]


class TopCustomerRead(BaseModel):
    user_id: uuid.UUID
    email: str
    order_count: int
    revenue_cents: int


class TopCustomersRead(BaseModel):
    items: list[TopCustomerRead]
