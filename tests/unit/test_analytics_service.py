"""The analytics service without a database: the range rules, the calendar of periods, zero-filling."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.core.errors import InvalidInputError
from app.queries.analytics import PeriodTotals
from app.schemas.analytics import RevenueInterval
from app.services import analytics_service
from app.services.analytics_service import AnalyticsService, Window, periods, resolve_window
from tests.unit.fakes import FakeAnalyticsQueries, FakeReadSide, Store

NOW = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)
DAY, WEEK, MONTH = RevenueInterval.DAY, RevenueInterval.WEEK, RevenueInterval.MONTH


def _service() -> tuple[AnalyticsService, FakeAnalyticsQueries]:
    reads = FakeReadSide(Store())
    return AnalyticsService(reads), reads.analytics


def test_defaults_are_the_30_days_before_now():
    assert resolve_window(None, None, now=NOW) == Window(NOW - timedelta(days=30), NOW)


def test_one_bound_given():
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    assert resolve_window(start, None, now=NOW) == Window(start, NOW)
    assert resolve_window(None, end, now=NOW) == Window(end - timedelta(days=30), end)


def test_naive_means_utc_and_offsets_are_converted():
    plus_two = timezone(timedelta(hours=2))
    window = resolve_window(datetime(2026, 11, 1, 2, tzinfo=plus_two), datetime(2026, 11, 2), now=NOW)
    assert window == Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert window.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize("end", [datetime(2026, 11, 1), datetime(2026, 10, 31)])
def test_end_must_be_after_start(end):
    with pytest.raises(InvalidInputError) as raised:
        resolve_window(datetime(2026, 11, 1), end, now=NOW)
    assert raised.value.errors[0]["loc"] == ["query", "end"]


def test_dates_beyond_the_calendar_are_invalid_input():
    with pytest.raises(InvalidInputError) as raised:
        resolve_window(None, datetime(1, 1, 2, tzinfo=UTC), now=NOW)
    assert raised.value.errors[0]["loc"] == ["query", "start"]


def window(start: datetime, end: datetime) -> Window:
    return Window(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))


def test_weeks_start_on_monday_and_cover_every_overlapping_week():
    # Sunday 1 Feb 2026 to Monday 9 Feb 00:00 (excluded): two weeks
    got = list(periods(window(datetime(2026, 2, 1, 23), datetime(2026, 2, 9)), WEEK))
    assert got == [date(2026, 1, 26), date(2026, 2, 2)]


def test_months_roll_over_the_year_and_stop_before_end():
    got = list(periods(window(datetime(2025, 11, 30, 23), datetime(2026, 2, 1)), MONTH))
    assert got == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]


def test_days_include_a_partial_last_day():
    got = list(periods(window(datetime(2026, 2, 27, 12), datetime(2026, 3, 1, 0, 0, 1)), DAY))
    assert got == [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1)]


def test_the_last_month_of_the_calendar_ends_the_series():
    got = list(periods(window(datetime(9999, 11, 15), datetime(9999, 12, 31, 23)), MONTH))
    assert got == [date(9999, 11, 1), date(9999, 12, 1)]


async def test_revenue_is_zero_filled_in_order():
    service, analytics = _service()
    analytics.periods = [PeriodTotals(date(2026, 2, 3), 2, 500)]

    result = await service.get_revenue(start=datetime(2026, 2, 2, 12), end=datetime(2026, 2, 5), interval=DAY)

    assert [(p.period_start.date(), p.order_count, p.revenue_cents) for p in result.points] == [
        (date(2026, 2, 2), 0, 0),
        (date(2026, 2, 3), 2, 500),
        (date(2026, 2, 4), 0, 0),
    ]
    assert all(point.period_start.tzinfo is UTC for point in result.points)
    assert analytics.calls == [
        ("revenue_by_period", {
            "start": datetime(2026, 2, 2, 12, tzinfo=UTC), "end": datetime(2026, 2, 5, tzinfo=UTC), "unit": "day",
        }),
    ]  # fmt: skip


async def test_too_many_points_is_refused_before_any_query():
    service, analytics = _service()
    start = datetime(2020, 1, 1, tzinfo=UTC)

    with pytest.raises(InvalidInputError) as raised:
        await service.get_revenue(
            start=start, end=start + timedelta(days=analytics_service.MAX_POINTS + 1), interval=DAY
        )

    assert raised.value.errors[0]["loc"] == ["query", "interval"]
    assert analytics.calls == []


async def test_summary_echoes_the_window_and_the_totals():
    service, analytics = _service()

    result = await service.get_summary(start=datetime(2026, 1, 1), end=datetime(2026, 2, 1))

    assert (result.start, result.end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    assert (result.order_count, result.revenue_cents, result.average_order_value_cents) == (10, 1001, 200)
    assert (result.customer_count, result.cancelled_count, result.cancellation_rate) == (7, 4, 0.4)
    assert result.by_status.model_dump() == {"pending": 1, "paid": 2, "shipped": 0, "delivered": 3, "cancelled": 4}
    assert analytics.calls == [
        ("summary", {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2026, 2, 1, tzinfo=UTC)})
    ]
