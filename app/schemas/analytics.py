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
    pending: int = Field(description="Orders in range now pending.")
    paid: int = Field(description="Orders in range now paid.")
    shipped: int = Field(description="Orders in range now shipped.")
    delivered: int = Field(description="Orders in range now delivered.")
    cancelled: int = Field(description="Orders in range now cancelled.")


class SummaryRead(BaseModel):
    data_as_of: datetime = Field(
        description="The time up to which the data this report read is complete (UTC): when it was read on the "
        "primary or a caught-up replica; on a replica that is behind, its last replayed commit."
    )
    start: datetime = Field(description="The range's inclusive start, defaults resolved (UTC).")
    end: datetime = Field(description="The range's exclusive end, defaults resolved (UTC).")
    order_count: int = Field(description="Orders created in [start, end), any status.")
    revenue_cents: int = Field(description="Sum of the totals of paid, shipped and delivered orders.")
    average_order_value_cents: int = Field(description="revenue_cents // revenue orders, rounded down; 0 if none.")
    customer_count: int = Field(description="Distinct buyers of the orders in range, any status.")
    cancelled_count: int = Field(description="Orders in range now cancelled (`by_status.cancelled`).")
    cancellation_rate: float = Field(ge=0, le=1, description="cancelled_count / order_count; 0 if no orders.")
    by_status: StatusCountsRead = Field(description="`order_count` split by status; every status is present.")


class RevenuePointRead(BaseModel):
    period_start: datetime = Field(description="The period's first instant (UTC), possibly before `start`.")
    order_count: int = Field(description="Revenue orders created in the period and the range.")
    revenue_cents: int = Field(description="The sum of their totals.")


class RevenueRead(BaseModel):
    data_as_of: datetime = Field(
        description="The time up to which the data this report read is complete (UTC): when it was read on the "
        "primary or a caught-up replica; on a replica that is behind, its last replayed commit."
    )
    interval: RevenueInterval = Field(description="The length of each period: a UTC day, ISO week or month.")
    points: list[RevenuePointRead] = Field(
        description="Every period overlapping the range, oldest first, zeros included."
    )


class TopProductRead(BaseModel):
    product_id: uuid.UUID = Field(description="The product's id.")
    sku: str = Field(description="Its SKU in the catalogue now.")
    name: str = Field(description="Its name in the catalogue now.")
    units_sold: int = Field(description="Units in revenue orders in range.")
    revenue_cents: int = Field(description="The sum of those lines' totals.")


class TopProductsRead(BaseModel):
    data_as_of: datetime = Field(
        description="The time up to which the data this report read is complete (UTC): when it was read on the "
        "primary or a caught-up replica; on a replica that is behind, its last replayed commit."
    )
    items: list[TopProductRead] = Field(description="By revenue, highest first, ties by id; at most `limit`.")


class TopCustomerRead(BaseModel):
    user_id: uuid.UUID = Field(description="The buyer's account id.")
    email: str | None = Field(description="The buyer's email; null when the account was erased.")
    order_count: int = Field(description="The buyer's revenue orders in range.")
    revenue_cents: int = Field(description="The sum of their totals.")


class TopCustomersRead(BaseModel):
    data_as_of: datetime = Field(
        description="The time up to which the data this report read is complete (UTC): when it was read on the "
        "primary or a caught-up replica; on a replica that is behind, its last replayed commit."
    )
    items: list[TopCustomerRead] = Field(description="By revenue, highest first, ties by id; at most `limit`.")


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
