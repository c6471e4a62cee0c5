import uuid
from datetime import date

from sqlalchemy import BigInteger, Date
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


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
