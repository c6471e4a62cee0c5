"""Orders for the analytics tests, written as ORM rows with chosen timestamps, and the figures expected of them.

The expectations are computed here in plain Python from the rows the test created, independently of the
service's SQL, so every figure the API answers is checked against a second computation.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import delete, update

from app.models import Order, OrderItem, Product, User

REVENUE = ("paid", "shipped", "delivered")
STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Line:
    product_id: uuid.UUID
    quantity: int
    line_total_cents: int


@dataclass(frozen=True)
class PlacedOrder:
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    created_at: datetime
    total_cents: int
    lines: tuple[Line, ...]


class AnalyticsData:
    def __init__(self, app: FastAPI) -> None:
        self._factory = app.state.container.session_factory
        self.orders: dict[uuid.UUID, PlacedOrder] = {}
        self.emails: dict[uuid.UUID, str] = {}
        self.products: dict[uuid.UUID, tuple[str, str, int]] = {}  # sku, name, price

    async def _add(self, *rows: Any) -> None:
        async with self._factory() as session:
            session.add_all(rows)
            await session.commit()

    async def customer(self, *, user_id: uuid.UUID | None = None) -> uuid.UUID:
        user_id = user_id or uuid.uuid4()
        email = f"buyer-{user_id.hex[:12]}@example.com"
        await self._add(User(id=user_id, email=email, password_hash="not-a-login", full_name="Buyer"))
        self.emails[user_id] = email
        return user_id

    async def product(
        self, *, price_cents: int = 1000, product_id: uuid.UUID | None = None, sku: str = "", name: str = ""
    ) -> uuid.UUID:
        product_id = product_id or uuid.uuid4()
        sku, name = sku or f"SKU-{product_id.hex[:12]}", name or f"Product {product_id.hex[:6]}"
        await self._add(Product(id=product_id, sku=sku, name=name, price_cents=price_cents, stock=100))
        self.products[product_id] = (sku, name, price_cents)
        return product_id

    async def order(
        self,
        user_id: uuid.UUID,
        created_at: datetime,
        *lines: tuple[uuid.UUID, int],
        status: str = "delivered",
        order_id: uuid.UUID | None = None,
    ) -> PlacedOrder:
        """An order with these (product, quantity) lines at catalogue prices; one line of 1 unit by default."""
        if not lines:
            lines = ((next(iter(self.products)), 1),)
        order_id = order_id or uuid.uuid4()
        placed = tuple(Line(pid, qty, self.products[pid][2] * qty) for pid, qty in lines)
        total = sum(line.line_total_cents for line in placed)
        order = Order(
            id=order_id, user_id=user_id, status=status, currency="USD", total_cents=total,
            created_at=created_at, updated_at=created_at,
        )  # fmt: skip
        items = [
            OrderItem(
                order_id=order_id, position=position, product_id=line.product_id, sku=self.products[line.product_id][0],
                name=self.products[line.product_id][1], unit_price_cents=self.products[line.product_id][2],
                quantity=line.quantity, line_total_cents=line.line_total_cents,
            )
            for position, line in enumerate(placed)
        ]  # fmt: skip
        await self._add(order, *items)
        self.orders[order_id] = PlacedOrder(order_id, user_id, status, created_at, total, placed)
        return self.orders[order_id]

    async def set_status(self, order_id: uuid.UUID, status: str) -> None:
        async with self._factory() as session:
            await session.execute(update(Order).where(Order.id == order_id).values(status=status))
            await session.commit()
        self.orders[order_id] = replace(self.orders[order_id], status=status)

    async def delete_order(self, order_id: uuid.UUID) -> None:
        async with self._factory() as session:
            await session.execute(delete(Order).where(Order.id == order_id))
            await session.commit()
        del self.orders[order_id]

    # --- the figures the contract promises, computed from the rows above -----------------------------

    def in_range(self, start: datetime, end: datetime) -> list[PlacedOrder]:
        return [order for order in self.orders.values() if start <= order.created_at < end]

    def summary(self, start: datetime, end: datetime) -> dict[str, Any]:
        orders = self.in_range(start, end)
        revenue = [order for order in orders if order.status in REVENUE]
        revenue_cents = sum(order.total_cents for order in revenue)
        cancelled = sum(1 for order in orders if order.status == "cancelled")
        return {
            "start": iso(start),
            "end": iso(end),
            "order_count": len(orders),
            "revenue_cents": revenue_cents,
            "average_order_value_cents": revenue_cents // len(revenue) if revenue else 0,
            "customer_count": len({order.user_id for order in orders}),
            "cancelled_count": cancelled,
            "cancellation_rate": cancelled / len(orders) if orders else 0,
            "by_status": {status: sum(1 for order in orders if order.status == status) for status in STATUSES},
        }

    def points(self, start: datetime, end: datetime, interval: str) -> list[dict[str, Any]]:
        first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        periods = sorted({_floor(day, interval) for day in days})
        totals: dict[date, list[int]] = {period: [0, 0] for period in periods}
        for order in self.in_range(start, end):
            if order.status in REVENUE:
                period = _floor(order.created_at.astimezone(UTC).date(), interval)
                totals[period][0] += 1
                totals[period][1] += order.total_cents
        return [
            {"period_start": iso(_midnight(period)), "order_count": count, "revenue_cents": cents}
            for period, (count, cents) in totals.items()
        ]

    def top_products(self, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
        sold: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
        for order in self.in_range(start, end):
            if order.status in REVENUE:
                for line in order.lines:
                    sold[line.product_id][0] += line.quantity
                    sold[line.product_id][1] += line.line_total_cents
        ranked = sorted(sold.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
        return [
            {"product_id": str(pid), "sku": self.products[pid][0], "name": self.products[pid][1],
             "units_sold": units, "revenue_cents": cents}
            for pid, (units, cents) in ranked
        ]  # fmt: skip

    def top_customers(self, start: datetime, end: datetime, limit: int) -> list[dict[str, Any]]:
        bought: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
        for order in self.in_range(start, end):
            if order.status in REVENUE:
                bought[order.user_id][0] += 1
                bought[order.user_id][1] += order.total_cents
        ranked = sorted(bought.items(), key=lambda item: (-item[1][1], item[0]))[:limit]
        return [
            {"user_id": str(uid), "email": self.emails[uid], "order_count": count, "revenue_cents": cents}
            for uid, (count, cents) in ranked
        ]


def _floor(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return date(day.year, day.month, 1)
    return day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
