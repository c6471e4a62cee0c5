"""The analytics reports as tables: a header and rows holding the same figures as the JSON answers.

One row per revenue point or list item; the summary is one row, its `by_status` spread over five columns.
Values are already text, written as the JSON writes them (UTC instants with `Z`, integers, the rate as a
float), so a spreadsheet and a JSON client see the same numbers; an erased buyer's email (null in JSON) is an
empty cell.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.schemas.analytics import RevenueRead, SummaryRead, TopCustomersRead, TopProductsRead

Row = tuple[str, ...]
Table = tuple[Row, list[Row]]


class AnalyticsReport(StrEnum):
    SUMMARY = "summary"
    REVENUE = "revenue"
    TOP_PRODUCTS = "top-products"
    TOP_CUSTOMERS = "top-customers"


@dataclass(frozen=True, slots=True)
class ReportTable:
    report: AnalyticsReport
    start: datetime
    end: datetime
    data_as_of: datetime
    header: Row
    rows: Sequence[Row]


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def summary_table(report: SummaryRead) -> Table:
    header: Row = (
        "start", "end", "order_count", "revenue_cents", "average_order_value_cents", "customer_count",
        "cancelled_count", "cancellation_rate", "pending", "paid", "shipped", "delivered", "cancelled",
    )  # fmt: skip
    counts = report.by_status
    row: Row = (
        instant(report.start), instant(report.end), str(report.order_count), str(report.revenue_cents),
        str(report.average_order_value_cents), str(report.customer_count), str(report.cancelled_count),
        repr(report.cancellation_rate), str(counts.pending), str(counts.paid), str(counts.shipped),
        str(counts.delivered), str(counts.cancelled),
    )  # fmt: skip
    return header, [row]


def revenue_table(report: RevenueRead) -> Table:
    rows: list[Row] = [(instant(p.period_start), str(p.order_count), str(p.revenue_cents)) for p in report.points]
    return ("period_start", "order_count", "revenue_cents"), rows


def top_products_table(report: TopProductsRead) -> Table:
    rows: list[Row] = [
        (str(item.product_id), item.sku, item.name, str(item.units_sold), str(item.revenue_cents))
        for item in report.items
    ]
    return ("product_id", "sku", "name", "units_sold", "revenue_cents"), rows


def top_customers_table(report: TopCustomersRead) -> Table:
    rows: list[Row] = [
        (str(item.user_id), item.email or "", str(item.order_count), str(item.revenue_cents)) for item in report.items
    ]
    return ("user_id", "email", "order_count", "revenue_cents"), rows
