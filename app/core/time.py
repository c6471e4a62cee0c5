"""Date-times from the query string: naive ones are UTC (the contract), and a range must not be empty."""

from datetime import UTC, datetime

from app.core.errors import InvalidInputError


def as_utc(moment: datetime, field: str) -> datetime:
    """`moment` in UTC; without an offset it already is. One that leaves the calendar in UTC is a 422."""
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise out_of_range(field) from exc


def out_of_range(field: str) -> InvalidInputError:
    return InvalidInputError(
        f"`{field}` is outside the supported range of dates.", loc=["query", field], error_type="datetime_range"
    )


def require_after(start: datetime, end: datetime, *, field: str, message: str) -> None:
    """422 on `field` (the range's end) unless `end` is later than `start`: an empty range is a client's bug."""
    if end <= start:
        raise InvalidInputError(message, loc=["query", field], error_type="range_empty")
