"""Aggregates over orders for the analytics. Every figure is computed by the database (GROUP BY, filtered
aggregates); no order is ever loaded to be added up in Python. Each statement is planned for its own range.

Dialects differ only in how a timestamp is cut to its UTC day, Monday-started week or month, written once
in `_period_start` below. Top products read whole UTC days from `product_sales_daily` (kept exact by
triggers) and the partial days at either end of the range from the order lines themselves.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Float,
    Select,
    SQLColumnExpression,
    and_,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
)

from app.db.reader import AnySelect, Reader, ReadQuery, Row
from app.models import Order, OrderItem, OrderStatus, Product, ProductSalesDaily, User
from app.schemas.analytics import StatusCountsRead, SummaryRead, TopCustomerRead, TopProductRead

REVENUE_STATUSES = (OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)
PERIOD_UNITS = ("day", "week", "month")


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    period_start: date
    order_count: int
    revenue_cents: int


def _period_start(dialect: str, unit: str, moment: SQLColumnExpression[datetime]) -> ColumnElement[date]:
    """The first UTC day of the day, week (Monday) or month holding `moment`, as a DATE on both databases.

    Units come from PERIOD_UNITS only and are inlined, so SELECT and GROUP BY render the same expression.
    """
    if unit not in PERIOD_UNITS:
        raise ValueError(f"unknown period unit: {unit}")
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), moment)
        return cast(func.date_trunc(literal_column(f"'{unit}'"), utc), Date)
    # SQLite keeps UTC timestamps as naive 'YYYY-MM-DD HH:MM:SS.ffffff' text.
    if unit == "day":
        return type_coerce(func.date(moment), Date)
    if unit == "week":
        # Back six days, then forward to the next Monday (or stay on it): the Monday on or before.
        return type_coerce(func.date(moment, literal_column("'-6 days'"), literal_column("'weekday 1'")), Date)
    return type_coerce(func.strftime(literal_column("'%Y-%m-01'"), moment), Date)


def _bigint(aggregate: ColumnElement[Any]) -> ColumnElement[int]:
    # PostgreSQL's SUM over BIGINT is NUMERIC; cents stay integers end to end.
    return cast(func.coalesce(aggregate, 0), BigInteger)


def _created_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Order.created_at >= start, Order.created_at < end)


def split_on_days(start: datetime, end: datetime) -> tuple[tuple[date, date] | None, list[tuple[datetime, datetime]]]:
    """[start, end) as whole UTC days [first, stop) plus the partial-day pieces left at either end."""
    first = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    stop = end.date()
    if first >= stop:
        return None, [(start, end)]
    pieces = [(start, _midnight(first)), (_midnight(stop), end)]
    return (first, stop), [(low, high) for low, high in pieces if low < high]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class AnalyticsQueries:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    @property
    def _dialect(self) -> str:
        return self._reader.dialect

    async def _rows(self, query: AnySelect) -> Sequence[Row]:
        # The best plan depends on how wide the range is (an index range scan for a month, a parallel scan for a
        # year): a statement prepared with a generic plan knows neither bound (measured: 300 ms instead of 180 ms
        # for a year), so analytics are planned every time.
        return await self._reader.all(ReadQuery(lambda _dialect: query, plan_each_time=True))

    async def summary(self, *, start: datetime, end: datetime) -> SummaryRead:
        """Counts, revenue, average order value and cancellation rate of the orders created in [start, end)."""
        in_range = _created_in(start, end)
        per_status = (
            select(Order.status, func.count().label("orders"), func.sum(Order.total_cents).label("cents"))
            .where(in_range)
            .group_by(Order.status)
            .subquery()
        )
        buyers = select(func.count()).select_from(select(Order.user_id).where(in_range).distinct().subquery())
        is_revenue = per_status.c.status.in_(REVENUE_STATUSES)
        totals = select(
            buyers.scalar_subquery().label("customer_count"),
            _bigint(func.sum(per_status.c.orders)).label("order_count"),
            _bigint(func.sum(per_status.c.orders).filter(is_revenue)).label("revenue_order_count"),
            _bigint(func.sum(per_status.c.cents).filter(is_revenue)).label("revenue_cents"),
            *(
                _bigint(func.sum(per_status.c.orders).filter(per_status.c.status == status.value)).label(status.value)
                for status in OrderStatus
            ),
        ).subquery()
        # A bare "/" is integer division of two BIGINTs on both databases: the floor, as cents are never negative.
        average = totals.c.revenue_cents.op("/", return_type=BigInteger)(func.nullif(totals.c.revenue_order_count, 0))
        rate = cast(totals.c.cancelled, Float).op("/", return_type=Float)(func.nullif(totals.c.order_count, 0))
        query = select(
            totals,
            func.coalesce(average, 0).label("aov"),
            func.coalesce(rate, literal_column("0.0")).label("cancellation_rate"),
        )
        (row,) = await self._rows(query)
        return SummaryRead(
            start=start,
            end=end,
            order_count=row.order_count,
            revenue_cents=row.revenue_cents,
            average_order_value_cents=row.aov,
            customer_count=row.customer_count,
            cancelled_count=row.cancelled,
            cancellation_rate=float(row.cancellation_rate),
            by_status=StatusCountsRead(**{status.value: getattr(row, status.value) for status in OrderStatus}),
        )

    async def revenue_by_period(self, *, start: datetime, end: datetime, unit: str) -> Sequence[PeriodTotals]:
        """Revenue orders per UTC period holding any of them, oldest first; empty periods are absent."""
        period = _period_start(self._dialect, unit, Order.created_at).label("period_start")
        query = (
            select(period, func.count().label("order_count"), _bigint(func.sum(Order.total_cents)).label("cents"))
            .where(_created_in(start, end), Order.status.in_(REVENUE_STATUSES))
            .group_by(period)
            .order_by(period)
        )
        rows = await self._rows(query)
        return [PeriodTotals(row.period_start, row.order_count, row.cents) for row in rows]

    async def top_customers(self, *, start: datetime, end: datetime, limit: int) -> list[TopCustomerRead]:
        """Buyers by revenue over their revenue orders in range, then by id."""
        revenue = _bigint(func.sum(Order.total_cents)).label("revenue_cents")
        ranked = (
            select(Order.user_id, func.count().label("order_count"), revenue)
            .where(_created_in(start, end), Order.status.in_(REVENUE_STATUSES))
            .group_by(Order.user_id)
            .order_by(revenue.desc(), Order.user_id)
            .limit(limit)
            .subquery()
        )
        query = (
            select(ranked, User.email)
            .join(User, User.id == ranked.c.user_id)
            .order_by(ranked.c.revenue_cents.desc(), ranked.c.user_id)
        )
        rows = await self._rows(query)
        return [
            TopCustomerRead(
                user_id=row.user_id, email=row.email, order_count=row.order_count, revenue_cents=row.revenue_cents
            )
            for row in rows
        ]

    async def top_products(self, *, start: datetime, end: datetime, limit: int) -> list[TopProductRead]:
        """Products by revenue over the lines of revenue orders in range, then by id."""
        sales = union_all(*self._product_sales_parts(start, end)).subquery()
        revenue = _bigint(func.sum(sales.c.revenue_cents)).label("revenue_cents")
        ranked = (
            select(sales.c.product_id, _bigint(func.sum(sales.c.units)).label("units_sold"), revenue)
            .group_by(sales.c.product_id)
            # Rollup rows of days whose revenue orders were all cancelled later hold zeros.
            .having(func.sum(sales.c.units) > 0)
            .order_by(revenue.desc(), sales.c.product_id)
            .limit(limit)
            .subquery()
        )
        query = (
            select(ranked, Product.sku, Product.name)
            .join(Product, Product.id == ranked.c.product_id)
            .order_by(ranked.c.revenue_cents.desc(), ranked.c.product_id)
        )
        rows = await self._rows(query)
        return [
            TopProductRead(
                product_id=row.product_id,
                sku=row.sku,
                name=row.name,
                units_sold=row.units_sold,
                revenue_cents=row.revenue_cents,
            )
            for row in rows
        ]

    def _product_sales_parts(self, start: datetime, end: datetime) -> list[Select[uuid.UUID, int, int]]:
        whole_days, pieces = split_on_days(start, end)
        parts: list[Select[uuid.UUID, int, int]] = [
            select(
                OrderItem.product_id,
                cast(OrderItem.quantity, BigInteger).label("units"),
                OrderItem.line_total_cents.label("revenue_cents"),
            )
            .join(Order, Order.id == OrderItem.order_id)
            .where(_created_in(low, high), Order.status.in_(REVENUE_STATUSES))
            for low, high in pieces
        ]
        if whole_days is not None:
            first, stop = whole_days
            parts.append(
                select(ProductSalesDaily.product_id, ProductSalesDaily.units, ProductSalesDaily.revenue_cents).where(
                    ProductSalesDaily.day >= first, ProductSalesDaily.day < stop
                )
            )
        return parts
