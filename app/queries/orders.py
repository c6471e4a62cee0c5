"""Orders as the API shows them: one statement per request, its JSON built by the database."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, bindparam, select, tuple_

from app.db.reader import AnySelect, Reader, ReadQuery
from app.models import Order, OrderItem, OrderStatusChange
from app.queries.shape import as_text, json_array, json_object
from app.schemas.order import OrderHistoryRead, OrderRead

_ORDERS = TypeAdapter(list[OrderRead])
_NEWEST_FIRST = (("created_at", True), ("id", True))


def _lines(dialect: str) -> ColumnElement[Any]:
    """The order's lines, in their order, as a JSON array."""
    line = json_object(
        dialect,
        {
            "product_id": OrderItem.product_id,
            "sku": OrderItem.sku,
            "name": OrderItem.name,
            "unit_price_cents": OrderItem.unit_price_cents,
            "quantity": OrderItem.quantity,
            "line_total_cents": OrderItem.line_total_cents,
        },
    )
    rows = (
        select(line.label("doc"), OrderItem.position)
        .where(OrderItem.order_id == Order.id)
        .order_by(OrderItem.position)
        .correlate(Order)
    )
    return json_array(dialect, rows, order=(("position", False),))


def order_document(dialect: str, *, with_history: bool = False) -> ColumnElement[Any]:
    """The order as `OrderRead`, or with `with_history` as `OrderExportRead` (its status changes, oldest first)."""
    fields: dict[str, Any] = {
        "id": Order.id,
        "user_id": Order.user_id,
        "status": Order.status,
        "currency": Order.currency,
        "total_cents": Order.total_cents,
        "items": _lines(dialect),
        "created_at": Order.created_at,
        "updated_at": Order.updated_at,
    }
    if with_history:
        fields["history"] = _changes(dialect)
    return json_object(dialect, fields)


def _order(dialect: str) -> ColumnElement[Any]:
    return order_document(dialect)


ORDER_BY_ID = ReadQuery(
    lambda dialect: select(as_text(dialect, _order(dialect))).where(Order.id == bindparam("order_id"))
)


def _changes(dialect: str) -> ColumnElement[Any]:
    """The order's status changes, oldest first, as a JSON array."""
    change = json_object(
        dialect,
        {
            "from_status": OrderStatusChange.from_status,
            "to_status": OrderStatusChange.to_status,
            "changed_at": OrderStatusChange.changed_at,
            "changed_by": OrderStatusChange.changed_by,
        },
    )
    rows = (
        select(change.label("doc"), OrderStatusChange.changed_at, OrderStatusChange.id)
        .where(OrderStatusChange.order_id == Order.id)
        .order_by(OrderStatusChange.changed_at, OrderStatusChange.id)
        .correlate(Order)
    )
    return json_array(dialect, rows, order=(("changed_at", False), ("id", False)))


def _history(dialect: str) -> AnySelect:
    return select(Order.user_id, as_text(dialect, json_object(dialect, {"items": _changes(dialect)}))).where(
        Order.id == bindparam("order_id")
    )


ORDER_HISTORY = ReadQuery(_history)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    user_id: uuid.UUID | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@cache
def page_query(by_user: bool, by_status: bool, since: bool, until: bool, after: bool) -> ReadQuery:
    """One statement per combination of filters, so each gets its own plan on PostgreSQL."""

    def build(dialect: str) -> AnySelect:
        rows = select(_order(dialect).label("doc"), Order.created_at, Order.id)
        if by_user:
            rows = rows.where(Order.user_id == bindparam("user_id"))
        if by_status:
            rows = rows.where(Order.status == bindparam("status", type_=Order.status.type))
        if since:
            rows = rows.where(Order.created_at >= bindparam("created_from", type_=Order.created_at.type))
        if until:
            rows = rows.where(Order.created_at < bindparam("created_to", type_=Order.created_at.type))
        if after:
            position = (
                bindparam("after_created_at", type_=Order.created_at.type),
                bindparam("after_id", type_=Order.id.type),
            )
            rows = rows.where(tuple_(Order.created_at, Order.id) < tuple_(*position))
        rows = rows.order_by(Order.created_at.desc(), Order.id.desc()).limit(bindparam("limit"))
        return select(as_text(dialect, json_array(dialect, rows, order=_NEWEST_FIRST)))

    return ReadQuery(build)


class OrderQueries:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader

    async def get(self, order_id: uuid.UUID) -> OrderRead | None:
        row = await self._reader.one(ORDER_BY_ID, {"order_id": order_id})
        return OrderRead.model_validate_json(row[0]) if row else None

    async def get_history(self, order_id: uuid.UUID) -> tuple[uuid.UUID, OrderHistoryRead] | None:
        """The order's owner and its history, oldest first; None when there is no such order."""
        row = await self._reader.one(ORDER_HISTORY, {"order_id": order_id})
        return (row[0], OrderHistoryRead.model_validate_json(row[1])) if row else None

    async def list_page(
        self, *, where: OrderFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[OrderRead]:
        """Newest first, keyset on (created_at, id), resuming after `after`."""
        query = page_query(
            where.user_id is not None,
            where.status is not None,
            where.created_from is not None,
            where.created_to is not None,
            after is not None,
        )
        params: dict[str, Any] = {
            "user_id": where.user_id,
            "status": where.status,
            "created_from": where.created_from,
            "created_to": where.created_to,
            "limit": limit,
        }
        if after is not None:
            params["after_created_at"], params["after_id"] = after
        row = await self._reader.one(query, {name: value for name, value in params.items() if value is not None})
        return _ORDERS.validate_json(row[0]) if row else []
