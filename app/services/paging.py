"""Keyset pages, one mechanism for every list: fetch `limit + 1` rows after the cursor's key, keep `limit`, and
sign the last one's key as the next cursor (ADR-018). A cursor is scoped to its list and its viewer."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from app.core.pagination import CursorCodec, CursorValue, invalid_cursor
from app.schemas.common import Page

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R", contravariant=True)
TimeAndId = tuple[datetime, uuid.UUID]


class Dated(Protocol):
    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> uuid.UUID: ...


class Identified(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


@dataclass(frozen=True, slots=True)
class Keyset(Generic[R, K]):
    """A list's sort key: its name (part of every cursor's scope), a row's key, and how a cursor's text reads."""

    name: str
    key: Callable[[R], tuple[CursorValue, ...]]
    parse: Callable[[list[str]], K]


def _created_and_id(row: Dated) -> tuple[CursorValue, ...]:
    return row.created_at, row.id


def _time_and_id(values: list[str]) -> TimeAndId:
    try:
        created_at, row_id = values
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("cursor time without offset")
        return moment, uuid.UUID(hex=row_id)
    except ValueError as exc:
        raise invalid_cursor() from exc


def _id(row: Identified) -> tuple[CursorValue, ...]:
    return (row.id,)


def _one_id(values: list[str]) -> uuid.UUID:
    try:
        (row_id,) = values
        return uuid.UUID(hex=row_id)
    except ValueError as exc:
        raise invalid_cursor() from exc


def newest_first(name: str) -> Keyset[Dated, TimeAndId]:
    """Newest first, on (created_at, id)."""
    return Keyset(name, _created_and_id, _time_and_id)


def after_row(name: str) -> Keyset[Identified, uuid.UUID]:
    """Resumed after the row with this id, wherever its sort key puts it (the query looks the key up)."""
    return Keyset(name, _id, _one_id)


async def page(
    codec: CursorCodec,
    keyset: Keyset[T, K],
    *,
    viewer: str,
    cursor: str | None,
    limit: int,
    fetch: Callable[[K | None, int], Awaitable[Sequence[T]]],
) -> Page[T]:
    """The page after `cursor` (which must have been made for this list and this viewer)."""
    scope = f"{keyset.name}:{viewer}"
    after = keyset.parse(codec.decode(scope, cursor)) if cursor else None
    rows = await fetch(after, limit + 1)
    items = list(rows[:limit])
    next_cursor = codec.encode(scope, keyset.key(items[-1])) if len(rows) > limit else None
    return Page[T](items=items, next_cursor=next_cursor)
