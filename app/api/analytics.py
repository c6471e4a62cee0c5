from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AdminUser, AnalyticsServiceDep
from app.api.openapi import problem_responses
from app.schemas.analytics import (
    RevenueInterval,
    RevenueRead,
    SummaryRead,
    TopCustomersRead,
    TopProductsRead,
)
from app.schemas.common import QueryDateTime

router = APIRouter(prefix="/analytics", tags=["analytics"])

Start = Annotated[
    QueryDateTime | None,
    Query(description="Inclusive lower bound on the order's created_at (ISO 8601; no offset means UTC). "
          "Default: 30 days before `end`."),
]  # fmt: skip
End = Annotated[
    QueryDateTime | None,
    Query(description="Exclusive upper bound on the order's created_at (ISO 8601; no offset means UTC). "
          "Default: now."),
]  # fmt: skip
Limit = Annotated[int, Query(ge=1, le=100, description="How many to list.")]
ERRORS = problem_responses(401, 403, 422)


@router.get(
    "/summary", summary="Summarise the orders in a range (admin).", response_model=SummaryRead, responses=ERRORS
)
async def get_summary(
    _: AdminUser, analytics: AnalyticsServiceDep, start: Start = None, end: End = None
) -> SummaryRead:
    """Order counts, revenue, average order value and cancellations over [start, end) (admin)."""
    return await analytics.get_summary(start=start, end=end)


@router.get("/revenue", summary="Report revenue per period (admin).", response_model=RevenueRead, responses=ERRORS)
async def get_revenue(
    _: AdminUser,
    analytics: AnalyticsServiceDep,
    start: Start = None,
    end: End = None,
    interval: Annotated[RevenueInterval, Query(description="UTC days, Monday-started weeks or months.")] = (
        RevenueInterval.DAY
    ),
) -> RevenueRead:
    """Revenue orders per period, every period overlapping [start, end) listed, empty ones as zeros (admin)."""
    return await analytics.get_revenue(start=start, end=end, interval=interval)


@router.get(
    "/top-products", summary="List the best-selling products (admin).", response_model=TopProductsRead, responses=ERRORS
)
async def list_top_products(
    _: AdminUser, analytics: AnalyticsServiceDep, start: Start = None, end: End = None, limit: Limit = 10
) -> TopProductsRead:
    """Best-selling products by revenue over [start, end), ties by id (admin)."""
    return await analytics.list_top_products(start=start, end=end, limit=limit)


@router.get(
    "/top-customers",
    summary="List the customers who spent most (admin).",
    response_model=TopCustomersRead,
    responses=ERRORS,
)
async def list_top_customers(
    _: AdminUser, analytics: AnalyticsServiceDep, start: Start = None, end: End = None, limit: Limit = 10
) -> TopCustomersRead:
    """Customers by revenue over [start, end), ties by id (admin)."""
    return await analytics.list_top_customers(start=start, end=end, limit=limit)
