"""The pieces the analytics statements are built from: a range cut on UTC days, calendar periods, and the
distinct buyers of a range. Whole days are read from the rollups, partial days from the orders.

Dialects differ only in how a timestamp or a day is cut to its UTC day, Monday-started week or month, written
once in `period_start` below.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    ColumnElement,
    Date,
    ScalarSelect,
    SQLColumnExpression,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)

from app.models import CustomerReturnsDaily, CustomerSalesDaily, Order

PERIOD_UNITS = ("day", "week", "month")
# Whether a range holds whole days, and how many partial-day pieces (0 to 2) it has at its ends.
Shape = tuple[bool, int]


def period_start(
    dialect: str, unit: str, moment: SQLColumnExpression[datetime] | SQLColumnExpression[date], *, is_day: bool = False
) -> ColumnElement[date]:
    """The first UTC day of the day, week (Monday) or month holding `moment`, as a DATE on both databases.

    `moment` is a UTC timestamp, or with `is_day` a DATE (a rollup's UTC day). Units come from PERIOD_UNITS only and are
    inlined, so SELECT and GROUP BY render the same expression.
    """
    if unit not in PERIOD_UNITS:
        raise ValueError(f"unknown period unit: {unit}")
    if dialect == "postgresql":
        if is_day and unit == "day":
            return cast(moment, Date)
        # A DATE goes to date_trunc as a TIMESTAMP without time zone: as TIMESTAMPTZ, the session's zone would count.
        local = cast(moment, TIMESTAMP()) if is_day else func.timezone(literal_column("'UTC'"), moment)
        return cast(func.date_trunc(literal_column(f"'{unit}'"), local), Date)
    # SQLite keeps UTC timestamps as naive 'YYYY-MM-DD HH:MM:SS.ffffff' text and days as 'YYYY-MM-DD'.
    if unit == "day":
        return type_coerce(func.date(moment), Date)
    if unit == "week":
        # Back six days, then forward to the next Monday (or stay on it): the Monday on or before.
        return type_coerce(func.date(moment, literal_column("'-6 days'"), literal_column("'weekday 1'")), Date)
    return type_coerce(func.strftime(literal_column("'%Y-%m-01'"), moment), Date)


def bigint(aggregate: ColumnElement[Any]) -> ColumnElement[int]:
    # PostgreSQL's SUM over BIGINT is NUMERIC; cents stay integers end to end.
    return cast(func.coalesce(aggregate, 0), BigInteger)


@dataclass(frozen=True, slots=True)
class Cut:
    """[start, end) cut on UTC days: whole days [first_day, stop_day) read from the rollups, and the partial-day
    pieces at either end (`low_<n>`, `high_<n>`) read from the orders.

    Statements name these bounds as bind parameters, so one compiled statement serves every range of the same
    `shape` (whole days or not, zero to two pieces); `params` holds this range's values. With `months`, the whole
    days hold whole calendar months [month_first, month_stop), which a statement may read from a monthly rollup
    and take only the days outside them from a daily one.
    """

    whole: bool
    pieces: int
    params: dict[str, Any]
    months: bool = False

    @property
    def shape(self) -> Shape:
        return self.whole, self.pieces


def cut(start: datetime, end: datetime) -> Cut:
    whole_days, pieces = split_on_days(start, end)
    params: dict[str, Any] = {}
    for number, (low, high) in enumerate(pieces):
        params[f"low_{number}"], params[f"high_{number}"] = low, high
    months = None
    if whole_days is not None:
        params["first_day"], params["stop_day"] = whole_days
        months = whole_months(*whole_days)
        if months is not None:
            params["month_first"], params["month_stop"] = months
    return Cut(whole_days is not None, len(pieces), params, months is not None)


def whole_months(first: date, stop: date) -> tuple[date, date] | None:
    """The calendar months wholly inside the days [first, stop), as [the first's first day, the day after the
    last), or None if there is none."""
    month_first = first if first.day == 1 else _next_month(first)
    month_stop = stop.replace(day=1)
    return (month_first, month_stop) if month_first < month_stop else None


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def in_piece(number: int) -> ColumnElement[bool]:
    """Orders created in the partial-day piece `number`."""
    return and_(
        Order.created_at >= bindparam(f"low_{number}", required=False),
        Order.created_at < bindparam(f"high_{number}", required=False),
    )


def in_pieces(pieces: int) -> ColumnElement[bool]:
    """Orders created in any of the first `pieces` partial-day pieces."""
    return or_(*(in_piece(number) for number in range(pieces)))


def on_whole_days(day: SQLColumnExpression[date]) -> ColumnElement[bool]:
    return and_(day >= bindparam("first_day", required=False), day < bindparam("stop_day", required=False))


def on_whole_months(month: SQLColumnExpression[date]) -> ColumnElement[bool]:
    return and_(month >= bindparam("month_first", required=False), month < bindparam("month_stop", required=False))


def on_days_around_months(day: SQLColumnExpression[date]) -> ColumnElement[bool]:
    """The whole days before the first whole month and after the last."""
    return or_(
        and_(day >= bindparam("first_day", required=False), day < bindparam("month_first", required=False)),
        and_(day >= bindparam("month_stop", required=False), day < bindparam("stop_day", required=False)),
    )


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


def customer_count(shape: Shape) -> ScalarSelect[int]:
    """Distinct buyers of a range of this shape: over whole days a sum of the buyers whose previous day with an
    order is before the first whole day (each counts once, on their first day in range), plus the buyers of the
    partial days who have no order in the whole days. Without whole days, a DISTINCT over the orders."""
    whole, pieces = shape
    if not whole:
        buyers = select(Order.user_id).where(in_pieces(pieces)).distinct().subquery()
        return select(func.count()).select_from(buyers).scalar_subquery()
    returning = select(bigint(func.sum(CustomerReturnsDaily.customers))).where(
        on_whole_days(CustomerReturnsDaily.day),
        CustomerReturnsDaily.previous_day < bindparam("first_day", required=False),
    )
    if not pieces:
        return returning.scalar_subquery()
    edge = select(Order.user_id).where(in_pieces(pieces)).distinct().subquery()
    seen = (
        select(literal(1))
        .where(CustomerSalesDaily.user_id == edge.c.user_id, on_whole_days(CustomerSalesDaily.day))
        .exists()
    )
    only_on_edges = select(func.count()).select_from(edge).where(~seen)
    return select(returning.scalar_subquery() + only_on_edges.scalar_subquery()).scalar_subquery()
