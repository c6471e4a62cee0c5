"""Aggregates over orders for the analytics. Every figure is computed by the database (GROUP BY, filtered
aggregates); no order is ever loaded to be added up in Python. Each statement is planned for its own range.

Every report reads whole UTC days of its range from a rollup kept exact by triggers in the orders' own
transactions (`order_stats_daily`, `customer_sales_daily`, `customer_returns_daily`, `product_sales_daily`) and
only the partial days at either end from the orders and their lines, so its cost grows with the days in the
range, not with the orders. The shared pieces, dialect differences included, are in `analytics_parts`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    Select,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
)

from app.core.errors import DatabaseUnavailableError
from app.db.reader import AnySelect, ReaderChoice, ReadQuery, Row
from app.models import (
    CustomerSalesDaily,
    CustomerSalesMonthly,
    Order,
    OrderItem,
    OrderStatsDaily,
    OrderStatus,
    Product,
    ProductSalesDaily,
    User,
)
from app.models.base import UTCDateTime
from app.queries.analytics_parts import (
    PERIOD_UNITS,
    Shape,
    bigint,
    customer_count,
    cut,
    in_piece,
    in_pieces,
    on_days_around_months,
    on_whole_days,
    on_whole_months,
    period_start,
)
from app.schemas.analytics import (
    StatusCountsRead,
    SummaryRead,
    TopCustomerRead,
    TopCustomersRead,
    TopProductRead,
    TopProductsRead,
)

REVENUE_STATUSES = (OrderStatus.PAID.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)


@dataclass(frozen=True, slots=True)
class PeriodTotals:
    period_start: date
    order_count: int
    revenue_cents: int


@dataclass(frozen=True, slots=True)
class PeriodSeries:
    data_as_of: datetime
    periods: Sequence[PeriodTotals]


def _data_as_of(dialect: str) -> AnySelect:
    """The time up to which the data a read sees is complete. A primary, or a replica that has replayed all it
    received: now. A replica behind what it received (replay slow or paused): the commit time of the last
    transaction it replayed. SQLite: now, to the second (rounded down)."""
    if dialect == "postgresql":
        behind = and_(
            func.pg_is_in_recovery(),
            func.pg_last_wal_receive_lsn().is_distinct_from(func.pg_last_wal_replay_lsn()),
        )
        moment = case((behind, func.pg_last_xact_replay_timestamp()), else_=func.statement_timestamp())
        return select(moment.label("data_as_of"))
    return select(type_coerce(func.datetime(literal_column("'now'")), UTCDateTime()).label("data_as_of"))


DATA_AS_OF = ReadQuery(_data_as_of)


def summary_statement(shape: Shape) -> AnySelect:
    """One row: distinct buyers, counts and revenue by status, average order value, cancellation rate."""
    whole, pieces = shape
    status_parts: list[Select[str, int, int]] = [
        select(Order.status, func.count().label("orders"), bigint(func.sum(Order.total_cents)).label("cents"))
        .where(in_pieces(pieces))
        .group_by(Order.status)
    ] if pieces else []  # fmt: skip
    if whole:
        status_parts.append(
            select(
                OrderStatsDaily.status,
                OrderStatsDaily.orders.label("orders"),
                OrderStatsDaily.total_cents.label("cents"),
            ).where(on_whole_days(OrderStatsDaily.day))
        )
    parts = union_all(*status_parts).subquery()
    per_status = (
        select(
            parts.c.status,
            func.sum(parts.c.orders).label("orders"),
            func.sum(parts.c.cents).label("cents"),
        )
        .group_by(parts.c.status)
        .subquery()
    )
    is_revenue = per_status.c.status.in_(REVENUE_STATUSES)
    totals = select(
        customer_count(shape).label("customer_count"),
        bigint(func.sum(per_status.c.orders)).label("order_count"),
        bigint(func.sum(per_status.c.orders).filter(is_revenue)).label("revenue_order_count"),
        bigint(func.sum(per_status.c.cents).filter(is_revenue)).label("revenue_cents"),
        *(
            bigint(func.sum(per_status.c.orders).filter(per_status.c.status == status.value)).label(status.value)
            for status in OrderStatus
        ),
    ).subquery()
    # A bare "/" is integer division of two BIGINTs on both databases: the floor, as cents are never negative.
    average = totals.c.revenue_cents.op("/", return_type=BigInteger)(func.nullif(totals.c.revenue_order_count, 0))
    rate = cast(totals.c.cancelled, Float).op("/", return_type=Float)(func.nullif(totals.c.order_count, 0))
    return select(
        totals,
        func.coalesce(average, 0).label("aov"),
        func.coalesce(rate, literal_column("0.0")).label("cancellation_rate"),
    )


@lru_cache(maxsize=64)
def summary_query(shape: Shape) -> ReadQuery:
    return ReadQuery(lambda _dialect: summary_statement(shape), plan_each_time=True)


@lru_cache(maxsize=64)
def revenue_query(shape: Shape, unit: str) -> ReadQuery:
    return ReadQuery(lambda dialect: _revenue_statement(dialect, shape, unit), plan_each_time=True)


@lru_cache(maxsize=1024)
def top_customers_query(shape: Shape, months: bool, limit: int) -> ReadQuery:
    return ReadQuery(lambda _dialect: _top_customers_statement(shape, months, limit), plan_each_time=True)


@lru_cache(maxsize=1024)
def top_products_query(shape: Shape, limit: int) -> ReadQuery:
    return ReadQuery(lambda _dialect: _top_products_statement(shape, limit), plan_each_time=True)


def _revenue_statement(dialect: str, shape: Shape, unit: str) -> AnySelect:
    whole, pieces = shape
    order_period = period_start(dialect, unit, Order.created_at)
    parts: list[Select[date, int, int]] = [
        select(
            order_period.label("period_start"),
            func.count().label("orders"),
            bigint(func.sum(Order.total_cents)).label("cents"),
        )
        .where(in_pieces(pieces), Order.status.in_(REVENUE_STATUSES))
        .group_by(order_period)
    ] if pieces else []  # fmt: skip
    if whole:
        day_period = period_start(dialect, unit, OrderStatsDaily.day, is_day=True)
        parts.append(
            select(
                day_period.label("period_start"),
                bigint(func.sum(OrderStatsDaily.orders)).label("orders"),
                bigint(func.sum(OrderStatsDaily.total_cents)).label("cents"),
            )
            .where(on_whole_days(OrderStatsDaily.day), OrderStatsDaily.status.in_(REVENUE_STATUSES))
            .group_by(day_period)
        )
    periods = union_all(*parts).subquery()
    return (
        select(
            periods.c.period_start,
            bigint(func.sum(periods.c.orders)).label("order_count"),
            bigint(func.sum(periods.c.cents)).label("cents"),
        )
        .group_by(periods.c.period_start)
        .having(func.sum(periods.c.orders) > 0)
        .order_by(periods.c.period_start)
    )


def _top_customers_statement(shape: Shape, months: bool, limit: int) -> AnySelect:
    """Revenue per buyer: whole months from customer_sales_monthly, the other whole days from
    customer_sales_daily, partial days from the orders."""
    whole, pieces = shape
    parts: list[Select[uuid.UUID, int, int]] = [
        select(Order.user_id, func.count().label("orders"), bigint(func.sum(Order.total_cents)).label("cents"))
        .where(in_pieces(pieces), Order.status.in_(REVENUE_STATUSES))
        .group_by(Order.user_id)
    ] if pieces else []  # fmt: skip
    if whole:
        days = on_days_around_months(CustomerSalesDaily.day) if months else on_whole_days(CustomerSalesDaily.day)
        parts.append(
            select(
                CustomerSalesDaily.user_id,
                CustomerSalesDaily.revenue_orders.label("orders"),
                CustomerSalesDaily.revenue_cents.label("cents"),
            ).where(days, CustomerSalesDaily.revenue_orders > 0)
        )
    if whole and months:
        parts.append(
            select(
                CustomerSalesMonthly.user_id,
                CustomerSalesMonthly.revenue_orders.label("orders"),
                CustomerSalesMonthly.revenue_cents.label("cents"),
            ).where(on_whole_months(CustomerSalesMonthly.month), CustomerSalesMonthly.revenue_orders > 0)
        )
    sales = union_all(*parts).subquery()
    revenue = bigint(func.sum(sales.c.cents)).label("revenue_cents")
    ranked = (
        select(sales.c.user_id, bigint(func.sum(sales.c.orders)).label("order_count"), revenue)
        .group_by(sales.c.user_id)
        .order_by(revenue.desc(), sales.c.user_id)
        .limit(limit)
        .subquery()
    )
    return (
        select(ranked, User.email)
        .join(User, User.id == ranked.c.user_id)
        .order_by(ranked.c.revenue_cents.desc(), ranked.c.user_id)
    )


def _top_products_statement(shape: Shape, limit: int) -> AnySelect:
    sales = union_all(*_product_sales_parts(shape)).subquery()
    revenue = bigint(func.sum(sales.c.revenue_cents)).label("revenue_cents")
    ranked = (
        select(sales.c.product_id, bigint(func.sum(sales.c.units)).label("units_sold"), revenue)
        .group_by(sales.c.product_id)
        # Rollup rows of days whose revenue orders were all cancelled later hold zeros.
        .having(func.sum(sales.c.units) > 0)
        .order_by(revenue.desc(), sales.c.product_id)
        .limit(limit)
        .subquery()
    )
    return (
        select(ranked, Product.sku, Product.name)
        .join(Product, Product.id == ranked.c.product_id)
        .order_by(ranked.c.revenue_cents.desc(), ranked.c.product_id)
    )


def _product_sales_parts(shape: Shape) -> list[Select[uuid.UUID, int, int]]:
    whole, pieces = shape
    parts: list[Select[uuid.UUID, int, int]] = [
        select(
            OrderItem.product_id,
            cast(OrderItem.quantity, BigInteger).label("units"),
            OrderItem.line_total_cents.label("revenue_cents"),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(in_piece(number), Order.status.in_(REVENUE_STATUSES))
        for number in range(pieces)
    ]
    if whole:
        parts.append(
            select(ProductSalesDaily.product_id, ProductSalesDaily.units, ProductSalesDaily.revenue_cents).where(
                on_whole_days(ProductSalesDaily.day)
            )
        )
    return parts


class AnalyticsQueries:
    """The reports. Each statement is compiled once per shape of range (whole days or not, partial days at
    either end or not) and given the range's bounds as parameters."""

    def __init__(self, readers: ReaderChoice) -> None:
        self._readers = readers

    async def _rows(self, query: ReadQuery, params: dict[str, Any]) -> tuple[datetime, Sequence[Row]]:
        """The report's rows and the time up to which they are complete, read on the replica if there is one and
        it answers, else on the primary."""
        # The best plan depends on how wide the range is (an index range scan for a month, a parallel scan for a
        # year): a statement prepared with a generic plan knows neither bound (measured: 300 ms instead of 180 ms
        # for a year), so analytics are planned every time (`plan_each_time`).
        candidates = self._readers.candidates()
        for reader in candidates:
            try:
                # Asked first: the report's own snapshot, taken after it, holds at least that much.
                (as_of,) = await reader.all(DATA_AS_OF)
                rows = await reader.all(query, params)
            except DatabaseUnavailableError:
                if reader is candidates[-1]:
                    raise
                self._readers.failed(reader)
                continue
            return as_of.data_as_of, rows
        raise AssertionError("no reader to read from")

    async def summary(self, *, start: datetime, end: datetime) -> SummaryRead:
        """Counts, revenue, average order value and cancellation rate of the orders created in [start, end)."""
        range_cut = cut(start, end)
        as_of, (row,) = await self._rows(summary_query(range_cut.shape), range_cut.params)
        return SummaryRead(
            data_as_of=as_of,
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

    async def revenue_by_period(self, *, start: datetime, end: datetime, unit: str) -> PeriodSeries:
        """Revenue orders per UTC period holding any of them, oldest first; empty periods are absent."""
        if unit not in PERIOD_UNITS:
            raise ValueError(f"unknown period unit: {unit}")
        range_cut = cut(start, end)
        as_of, rows = await self._rows(revenue_query(range_cut.shape, unit), range_cut.params)
        return PeriodSeries(as_of, [PeriodTotals(row.period_start, row.order_count, row.cents) for row in rows])

    async def top_customers(self, *, start: datetime, end: datetime, limit: int) -> TopCustomersRead:
        """Buyers by revenue over their revenue orders in range, then by id."""
        range_cut = cut(start, end)
        query = top_customers_query(range_cut.shape, range_cut.months, limit)
        as_of, rows = await self._rows(query, range_cut.params)
        items = [
            TopCustomerRead(
                user_id=row.user_id, email=row.email, order_count=row.order_count, revenue_cents=row.revenue_cents
            )
            for row in rows
        ]
        return TopCustomersRead(data_as_of=as_of, items=items)

    async def top_products(self, *, start: datetime, end: datetime, limit: int) -> TopProductsRead:
        """Products by revenue over the lines of revenue orders in range, then by id."""
        range_cut = cut(start, end)
        as_of, rows = await self._rows(top_products_query(range_cut.shape, limit), range_cut.params)
        items = [
            TopProductRead(
                product_id=row.product_id,
                sku=row.sku,
                name=row.name,
                units_sold=row.units_sold,
                revenue_cents=row.revenue_cents,
            )
            for row in rows
        ]
        return TopProductsRead(data_as_of=as_of, items=items)
