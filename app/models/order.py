import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Timestamps, UUIDPrimaryKey, utcnow


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


_STATUSES = ", ".join(f"'{status.value}'" for status in OrderStatus)


class Order(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        # A customer's own list, newest first (keyset on created_at, id).
        Index("ix_orders_user_id_created_at_id", "user_id", "created_at", "id"),
        # The admin's list and every date-range scan. On PostgreSQL it also carries the columns the
        # analytics aggregate, so their range scans are index-only (migration 0003).
        Index(
            "ix_orders_created_at_id",
            "created_at",
            "id",
            postgresql_include=["status", "total_cents", "user_id"],
        ),
        # The status filter.
        Index("ix_orders_status_created_at_id", "status", "created_at", "id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", order_by="OrderItem.position", lazy="raise", cascade="all, delete-orphan"
    )


class OrderItem(UUIDPrimaryKey, Base):
    """One line of an order, with the product's SKU, name and price copied at the moment of purchase."""

    __tablename__ = "order_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_cents > 0", name="unit_price_positive"),
        Index("ix_order_items_order_id_position", "order_id", "position", unique=True),
        Index("ix_order_items_product_id", "product_id"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    line_total_cents: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")


class OrderStatusChange(UUIDPrimaryKey, Base):
    """The order's history: one row per change, creation included (`from_status` is then null)."""

    __tablename__ = "order_status_changes"
    __table_args__ = (Index("ix_order_status_changes_order_id_changed_at", "order_id", "changed_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
