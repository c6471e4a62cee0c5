import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Product
from app.repositories.text_search import contains_literal


class ProductRepository:
    """The catalogue, and the guarded stock movements orders make."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return await self._session.get(Product, product_id)

    async def get_many(self, *, product_ids: Iterable[uuid.UUID]) -> Sequence[Product]:
        return (await self._session.scalars(select(Product).where(Product.id.in_(list(product_ids))))).all()

    async def list_page(
        self, *, limit: int, after_id: uuid.UUID | None, name_contains: str | None, include_inactive: bool
    ) -> Sequence[Product]:
        """By name, then id, resuming after the product `after_id` (keyset on both columns).

        The position is looked up from the id inside the same statement, so a cursor stays a few
        bytes whatever the name; a forged id that matches no product yields an empty page.
        """
        query = select(Product).order_by(Product.name, Product.id).limit(limit)
        if after_id is not None:
            anchor_name = select(Product.name).where(Product.id == after_id).scalar_subquery()
            query = query.where(tuple_(Product.name, Product.id) > tuple_(anchor_name, literal(after_id)))
        if name_contains:
            query = query.where(contains_literal(Product.name, name_contains))
        if not include_inactive:
            query = query.where(Product.is_active.is_(True))
        return (await self._session.scalars(query)).all()

    async def add(self, product: Product) -> Product:
        """Insert now, so a duplicate SKU surfaces here as an IntegrityError."""
        self._session.add(product)
        await self._session.flush()
        return product

    async def flush(self) -> None:
        await self._session.flush()

    async def take_stock(self, *, product_id: uuid.UUID, quantity: int, now: datetime) -> Product | None:
        """Decrement an active product's stock if enough is left, returning it as of that moment; else None.

        One guarded statement: the row lock it takes (PostgreSQL) or the database write lock
        (SQLite) makes check and decrement atomic, so two buyers can never both get the last unit.
        """
        statement = (
            update(Product)
            .where(Product.id == product_id, Product.stock >= quantity, Product.is_active.is_(True))
            .values(stock=Product.stock - quantity, updated_at=now)
            .returning(Product)
            .execution_options(synchronize_session=False)
        )
        return (await self._session.scalars(statement)).one_or_none()

    async def put_back_stock(self, *, product_id: uuid.UUID, quantity: int, now: datetime) -> None:
        await self._session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
