from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.csv_reports import csv_response, wants_csv
from app.api.deps import AdminUser, AnalyticsServiceDep
from app.api.openapi import problem_responses
from app.schemas import examples
from app.schemas.analytics import (
    ReportFormat,
    RevenueInterval,
    RevenueRead,
    SummaryRead,
    TopCustomersRead,
    TopProductsRead,
)
from app.schemas.common import QueryDateTime
from app.services.analytics_export import AnalyticsReport

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
Format = Annotated[
    ReportFormat | None,
    Query(description="`csv` for a CSV attachment (as `Accept: text/csv` asks), `json` for JSON whatever `Accept` "
          "says. Default: by `Accept`, JSON unless it prefers text/csv."),
]  # fmt: skip
Interval = Annotated[RevenueInterval, Query(description="UTC days, Monday-started weeks or months.")]
ERRORS = problem_responses(401, 403, 422)


def _answers(csv_example: str) -> dict[int | str, dict[str, object]]:
    return {**ERRORS, 200: {"content": {"text/csv": {"example": csv_example}}}}


@router.get(
    "/summary",
    summary="Summarise the orders in a range (admin).",
    response_model=SummaryRead,
    responses=_answers(examples.SUMMARY_CSV),
)
async def get_summary(
    _: AdminUser,
    analytics: AnalyticsServiceDep,
    request: Request,
    start: Start = None,
    end: End = None,
    format: Format = None,
) -> SummaryRead | Response:
    """Order counts, revenue, average order value and cancellations over [start, end) (admin)."""
    if wants_csv(format, request.headers.get("accept")):
        return csv_response(await analytics.export(AnalyticsReport.SUMMARY, start=start, end=end))
    return await analytics.get_summary(start=start, end=end)


@router.get(
    "/revenue",
    summary="Report revenue per period (admin).",
    response_model=RevenueRead,
    responses=_answers(examples.REVENUE_CSV),
)
async def get_revenue(
    _: AdminUser,
    analytics: AnalyticsServiceDep,
    request: Request,
    start: Start = None,
    end: End = None,
    interval: Interval = RevenueInterval.DAY,
    format: Format = None,
) -> RevenueRead | Response:
    """Revenue orders per period, every period overlapping [start, end) listed, empty ones as zeros (admin)."""
    if wants_csv(format, request.headers.get("accept")):
        table = await analytics.export(AnalyticsReport.REVENUE, start=start, end=end, interval=interval)
        return csv_response(table)
    return await analytics.get_revenue(start=start, end=end, interval=interval)


@router.get(
    "/top-products",
    summary="List the best-selling products (admin).",
    response_model=TopProductsRead,
    responses=_answers(examples.TOP_PRODUCTS_CSV),
)
async def list_top_products(
    _: AdminUser,
    analytics: AnalyticsServiceDep,
    request: Request,
    start: Start = None,
    end: End = None,
    limit: Limit = 10,
    format: Format = None,
) -> TopProductsRead | Response:
    """Best-selling products by revenue over [start, end), ties by id (admin)."""
    if wants_csv(format, request.headers.get("accept")):
        table = await analytics.export(AnalyticsReport.TOP_PRODUCTS, start=start, end=end, limit=limit)
        return csv_response(table)
    return await analytics.list_top_products(start=start, end=end, limit=limit)


@router.get(
    "/top-customers",
    summary="List the customers who spent most (admin).",
    response_model=TopCustomersRead,
    responses=_answers(examples.TOP_CUSTOMERS_CSV),
)
async def list_top_customers(
    _: AdminUser,
    analytics: AnalyticsServiceDep,
    request: Request,
    start: Start = None,
    end: End = None,
    limit: Limit = 10,
    format: Format = None,
) -> TopCustomersRead | Response:
    """Customers by revenue over [start, end), ties by id (admin)."""
    if wants_csv(format, request.headers.get("accept")):
        table = await analytics.export(AnalyticsReport.TOP_CUSTOMERS, start=start, end=end, limit=limit)
        return csv_response(table)
    return await analytics.list_top_customers(start=start, end=end, limit=limit)
