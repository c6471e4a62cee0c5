from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey


class Product(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        Index("ix_products_name_id", "name", "id"),
    )

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    # The database refuses a negative stock even if a guarded update were ever wrong. 64 bits: a cancelled order
    # puts its units back even onto a stock set to MAX_STOCK meanwhile (SQLite's INTEGER is 8 bytes already).
    stock: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
