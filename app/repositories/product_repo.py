import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Product


class ProductRepository:
    """The catalogue, and the guarded stock movements orders make."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return await self._session.get(Product, product_id)

    async def get_many(self, *, product_ids: Iterable[uuid.UUID]) -> Sequence[Product]:
        return (await self._session.scalars(select(Product).where(Product.id.in_(list(product_ids))))).all()

    async def add(self, product: Product) -> Product:
        """Insert now, so a duplicate SKU surfaces here as an IntegrityError."""
        self._session.add(product)
        await self._session.flush()
        return product

    async def flush(self) -> None:
        await self._session.flush()

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
