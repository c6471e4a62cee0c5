"""JSON built by the database, written once for both dialects.

PostgreSQL has `json_build_object` and `json_agg(... ORDER BY ...)`; SQLite has `json_object` and
`json_group_array`, which keeps the order of the rows it is fed, and it stores timestamps as naive UTC text
(`2026-11-26 10:00:00.123456`), which gets its `Z` here. UUIDs leave SQLite as 32 hex digits and booleans as
0 and 1; the response schemas read both.
"""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    SQLColumnExpression,
    Text,
    Uuid,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.db.reader import AnySelect
from app.models.base import UTCDateTime


def json_object(dialect: str, fields: Mapping[str, SQLColumnExpression[Any]]) -> ColumnElement[Any]:
    """A JSON object of these fields, in this order."""
    arguments: list[SQLColumnExpression[Any]] = []
    for name, value in fields.items():
        arguments += [literal_column(f"'{name}'"), _json_value(dialect, value)]
    if dialect == "postgresql":
        return func.json_build_object(*arguments)
    return func.json_object(*arguments)


def json_array(dialect: str, rows: AnySelect, *, order: Sequence[tuple[str, bool]] = ()) -> ColumnElement[Any]:
    """One JSON array of the column `doc` of `rows` ([] when there are none), in the order `rows` sorts them.

    `order` repeats that sort as (column name, descending) pairs, for PostgreSQL, whose `json_agg` needs its own
    ORDER BY; the columns must be selected by `rows` too.
    """
    page = rows.subquery("page")
    if dialect == "postgresql":
        ordering = [page.c[name].desc() if descending else page.c[name].asc() for name, descending in order]
        aggregate = func.json_agg(aggregate_order_by(page.c.doc, *ordering)) if ordering else func.json_agg(page.c.doc)
        return select(func.coalesce(aggregate, literal_column("'[]'::json"))).scalar_subquery()
    # SQLite aggregates rows in the order the subquery yields them; `json()` keeps each document JSON.
    return select(func.json_group_array(func.json(page.c.doc))).scalar_subquery()


def in_ids(dialect: str, column: SQLColumnExpression[uuid.UUID], name: str) -> ColumnElement[bool]:
    """`column` is one of the UUIDs bound as `name` (see `ids_value`): one statement text for any number of them.

    PostgreSQL takes them as an array; SQLite, which has none, as a JSON list read by `json_each`.
    """
    if dialect == "postgresql":
        return column == func.any(bindparam(name, type_=ARRAY(Uuid())))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=Text))))


def ids_value(dialect: str, ids: Iterable[uuid.UUID]) -> object:
    """The value to bind for `in_ids`: a list, or for SQLite a JSON list of the 32 hex digits it stores."""
    return list(ids) if dialect == "postgresql" else json.dumps([value.hex for value in ids])


def as_text(dialect: str, document: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON value as the text the driver hands back untouched (psycopg would parse `json` in Python)."""
    return cast(document, Text) if dialect == "postgresql" else document


def _json_value(dialect: str, value: SQLColumnExpression[Any]) -> SQLColumnExpression[Any]:
    if dialect != "sqlite":
        return value
    if isinstance(getattr(value, "type", None), UTCDateTime):
        return value.op("||", return_type=Text)(literal_column("'Z'"))
    return value
