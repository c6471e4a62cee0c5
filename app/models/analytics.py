import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

ROLLUP_SHARDS = 16
NO_PREVIOUS_DAY = date(1, 1, 1)


class ProductSalesDaily(Base):
    """Units and revenue per product per UTC day, over revenue orders (paid, shipped, delivered) only.

    Derived data: only the database triggers of migration 0003 on `orders` and `order_items` write it,
    in the same transaction as the change they follow, so it always equals the figures computed from
    those tables. The application reads it and never writes it.
    """

    __tablename__ = "product_sales_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    units: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class OrderStatsDaily(Base):
    """Orders and their totals per UTC day of creation, per current status, in `ROLLUP_SHARDS` shards.

    Derived data, written only by the triggers of migration 0008 in the transaction of the change they follow.
    The shard is taken from the order's id on PostgreSQL (always 0 on SQLite, which has one writer), so orders
    placed at once update different rows instead of queueing on one row per day and status; readers sum them.
    """

    __tablename__ = "order_stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    total_cents: Mapped[int] = mapped_column(BigInteger)


class CustomerSalesDaily(Base):
    """Per UTC day and buyer: their orders (any status), revenue orders and revenue. A row exists only while
    the buyer has an order that day. Derived data, written only by the triggers of migration 0008."""

    __tablename__ = "customer_sales_daily"
    __table_args__ = (Index("ix_customer_sales_daily_user_id_day", "user_id", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    orders: Mapped[int] = mapped_column(BigInteger)
    revenue_orders: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class CustomerSalesMonthly(Base):
    """Per UTC calendar month (its first day) and buyer: revenue orders and revenue. The whole months of a range
    cost one row per buyer each instead of one per buyer per day; top customers reads them and takes only the days
    at the range's ends from `customer_sales_daily`. A row may hold zeros once its orders were cancelled. Derived
    data, written only by the triggers of migration 0009."""

    __tablename__ = "customer_sales_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    revenue_orders: Mapped[int] = mapped_column(BigInteger)
    revenue_cents: Mapped[int] = mapped_column(BigInteger)


class CustomerReturnsDaily(Base):
    """How many buyers ordered on `day` whose previous day with an order was `previous_day` (`NO_PREVIOUS_DAY`
    for a first order), in shards taken from the buyer's id (0 on SQLite).

    Distinct buyers over whole days [first, stop) are then a sum, not a DISTINCT over orders: each buyer
    counts once, on their first day in the range, the one whose previous day is before `first`. Its size
    grows with days times the gaps between orders, not with orders. Written only by the triggers of 0008.
    """

    __tablename__ = "customer_returns_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    previous_day: Mapped[date] = mapped_column(Date, primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    customers: Mapped[int] = mapped_column(BigInteger)
