"""The admin's analytics over orders created in a half-open range [start, end), in UTC.

The database does every sum and count; this module settles the range, lays out the calendar periods a
revenue series must show (zero-filled) and shapes the answers.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.core.errors import InvalidInputError
from app.core.time import as_utc, out_of_range, require_after
from app.schemas.analytics import (
    RevenueInterval,
    RevenuePointRead,
    RevenueRead,
    SummaryRead,
    TopCustomersRead,
    TopProductsRead,
)
from app.services.analytics_export import (
    AnalyticsReport,
    ReportTable,
    revenue_table,
    summary_table,
    top_customers_table,
    top_products_table,
)
from app.services.ports import ReadSide

DEFAULT_WINDOW = timedelta(days=30)
# One series answers at most this many points (about 2.7 years of days); past it, ask for a coarser interval.
MAX_POINTS = 1000


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def resolve_window(start: datetime | None, end: datetime | None, *, now: datetime | None = None) -> Window:
    """Defaults: `end` is now, `start` is 30 days before `end`. Naive datetimes are UTC."""
    end_utc = as_utc(end, "end") if end is not None else (now or datetime.now(UTC)).astimezone(UTC)
    if start is not None:
        start_utc = as_utc(start, "start")
    else:
        try:
            start_utc = end_utc - DEFAULT_WINDOW
        except OverflowError as exc:
            raise out_of_range("start") from exc
    message = "`end` must be later than `start` (the range is [start, end); `end` defaults to now)."
    require_after(start_utc, end_utc, field="end", message=message)
    return Window(start_utc, end_utc)


def period_floor(moment: datetime, interval: RevenueInterval) -> date:
    """The first day of the UTC day, Monday-started week or month that holds `moment`."""
    day = moment.astimezone(UTC).date()
    if interval is RevenueInterval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval is RevenueInterval.MONTH:
        return day.replace(day=1)
    return day


def _next_period(start: date, interval: RevenueInterval) -> date:
    if interval is RevenueInterval.DAY:
        return start + timedelta(days=1)
    if interval is RevenueInterval.WEEK:
        return start + timedelta(days=7)
    return date(start.year + start.month // 12, start.month % 12 + 1, 1)


def periods(window: Window, interval: RevenueInterval) -> Iterator[date]:
    """Every period overlapping [start, end), in order."""
    current = period_floor(window.start, interval)
    while datetime.combine(current, time(), tzinfo=UTC) < window.end:
        yield current
        try:
            current = _next_period(current, interval)
        except (OverflowError, ValueError):  # past year 9999: no later period exists
            return


def _layout(window: Window, interval: RevenueInterval) -> list[date]:
    layout: list[date] = []
    for period in periods(window, interval):
        if len(layout) == MAX_POINTS:
            raise InvalidInputError(
                f"The range holds more than {MAX_POINTS} {interval.value} periods; "
                "choose a coarser interval or a shorter range.",
                loc=["query", "interval"],
                error_type="too_many_points",
            )
        layout.append(period)
    return layout


class AnalyticsService:
    def __init__(self, reads: ReadSide) -> None:
        self._reads = reads

    async def get_summary(self, *, start: datetime | None, end: datetime | None) -> SummaryRead:
        window = resolve_window(start, end)
        return await self._reads.analytics.summary(start=window.start, end=window.end)

    async def get_revenue(
        self, *, start: datetime | None, end: datetime | None, interval: RevenueInterval
    ) -> RevenueRead:
        """Revenue orders per period; every period overlapping the range is present, empty ones as zeros."""
        window = resolve_window(start, end)
        layout = _layout(window, interval)
        series = await self._reads.analytics.revenue_by_period(start=window.start, end=window.end, unit=interval.value)
        found = {row.period_start: row for row in series.periods}
        points = [
            RevenuePointRead(
                period_start=datetime.combine(period, time(), tzinfo=UTC),
                order_count=found[period].order_count if period in found else 0,
                revenue_cents=found[period].revenue_cents if period in found else 0,
            )
            for period in layout
        ]
        return RevenueRead(data_as_of=series.data_as_of, interval=interval, points=points)

    async def list_top_products(self, *, start: datetime | None, end: datetime | None, limit: int) -> TopProductsRead:
        window = resolve_window(start, end)
        return await self._reads.analytics.top_products(start=window.start, end=window.end, limit=limit)

    async def list_top_customers(self, *, start: datetime | None, end: datetime | None, limit: int) -> TopCustomersRead:
        window = resolve_window(start, end)
        return await self._reads.analytics.top_customers(start=window.start, end=window.end, limit=limit)

    async def export(
        self,
        report: AnalyticsReport,
        *,
        start: datetime | None,
        end: datetime | None,
        interval: RevenueInterval = RevenueInterval.DAY,
        limit: int = 10,
    ) -> ReportTable:
        """A report as a table of the same figures as its JSON answer, for CSV."""
        window = resolve_window(start, end)
        start, end = window.start, window.end
        if report is AnalyticsReport.SUMMARY:
            summary = await self.get_summary(start=start, end=end)
            data_as_of, (header, rows) = summary.data_as_of, summary_table(summary)
        elif report is AnalyticsReport.REVENUE:
            revenue = await self.get_revenue(start=start, end=end, interval=interval)
            data_as_of, (header, rows) = revenue.data_as_of, revenue_table(revenue)
        elif report is AnalyticsReport.TOP_PRODUCTS:
            products = await self.list_top_products(start=start, end=end, limit=limit)
            data_as_of, (header, rows) = products.data_as_of, top_products_table(products)
        else:
            customers = await self.list_top_customers(start=start, end=end, limit=limit)
            data_as_of, (header, rows) = customers.data_as_of, top_customers_table(customers)
        return ReportTable(report, start, end, data_as_of, header, rows)
