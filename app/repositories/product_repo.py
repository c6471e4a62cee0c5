import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Product
from app.repositories.inserts import insert_unless_taken


class ProductRepository:
    """The catalogue, and the guarded stock movements orders make."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return await self._session.get(Product, product_id)

    async def add(self, product: Product) -> bool:
        """Insert the product unless its SKU is taken (by a concurrent create too); True when inserted."""
        values = {column.key: getattr(product, column.key) for column in Product.__table__.columns}
        return await insert_unless_taken(self._session, Product, values, unique=[Product.sku])

    async def update(self, product_id: uuid.UUID, changes: Mapping[str, Any], *, now: datetime) -> Product | None:
        """Set these columns and `updated_at`; the product as it then is, or None when there is no such product."""
        statement = (
            update(Product)
            .where(Product.id == product_id)
            .values({**changes, "updated_at": now})
            .returning(Product)
            .execution_options(synchronize_session=False)
        )
        return (await self._session.scalars(statement)).one_or_none()

    async def put_back_stock(self, quantities: Mapping[uuid.UUID, int], *, now: datetime) -> None:
        """Add each quantity back to its product's stock, locking the products in id order (as placing an order
        does, so the two never deadlock)."""
        for product_id in sorted(quantities):
            await self._session.execute(
                update(Product)
                .where(Product.id == product_id)
                .values(stock=Product.stock + quantities[product_id], updated_at=now)
                .execution_options(synchronize_session=False)
            )
