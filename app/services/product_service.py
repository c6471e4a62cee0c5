"""The catalogue: everyone browses active products; admins see everything and manage it."""

import uuid
from datetime import UTC, datetime

from app.core.errors import ConflictError, NotFoundError
from app.core.pagination import CursorCodec
from app.models import Product
from app.schemas.common import Page
from app.schemas.product import ProductCreate, ProductRead, ProductUpdate
from app.services import paging
from app.services.caller import Caller
from app.services.ports import ReadSide, UnitOfWorkFactory

SKU_TAKEN = "A product with this SKU already exists."
NO_SUCH_PRODUCT = "No such product."
# By name, then id; a cursor holds the last product's id only (names can be longer than a cursor may be).
BY_NAME = paging.after_row("products")


def _sees_inactive(viewer: Caller | None) -> bool:
    return viewer is not None and viewer.is_admin


class ProductService:
    def __init__(self, uow: UnitOfWorkFactory, reads: ReadSide, *, currency: str, cursors: CursorCodec) -> None:
        self._uow = uow
        self._reads = reads
        self._currency = currency
        self._cursors = cursors

    def _read(self, product: Product) -> ProductRead:
        return ProductRead(
            id=product.id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price_cents=product.price_cents,
            currency=self._currency,
            stock=product.stock,
            is_active=product.is_active,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )

    async def create_product(self, data: ProductCreate) -> ProductRead:
        now = datetime.now(UTC)
        product = Product(
            id=uuid.uuid4(),
            sku=data.sku,
            name=data.name,
            description=data.description,
            price_cents=data.price_cents,
            stock=data.stock,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            # False also when a concurrent create of the same SKU won.
            if not await uow.products.add(product):
                raise ConflictError(SKU_TAKEN)
            await uow.commit()
        return self._read(product)

    async def update_product(self, product_id: uuid.UUID, data: ProductUpdate) -> ProductRead:
        """Change the fields sent. `stock` sets the count (a stock-take), it does not add to it."""
        changes = data.model_dump(exclude_unset=True)
        async with self._uow() as uow:
            product = await uow.products.update(product_id, changes, now=datetime.now(UTC))
            if product is None:
                raise NotFoundError(NO_SUCH_PRODUCT)
            await uow.commit()
        return self._read(product)

    async def get_product(self, viewer: Caller | None, product_id: uuid.UUID) -> ProductRead:
        """One product; an inactive one exists only for admins."""
        product = await self._reads.products.get(product_id)
        if product is None or (not product.is_active and not _sees_inactive(viewer)):
            raise NotFoundError(NO_SUCH_PRODUCT)
        return product

    async def list_products(
        self, viewer: Caller | None, *, limit: int, cursor: str | None, q: str | None
    ) -> Page[ProductRead]:
        """By name; `q` is a case-insensitive substring of it. Inactive products are listed for admins only."""
        include_inactive = _sees_inactive(viewer)

        async def fetch(after: uuid.UUID | None, count: int) -> list[ProductRead]:
            return await self._reads.products.list_page(
                name_contains=q, after_id=after, include_inactive=include_inactive, limit=count
            )

        viewer_scope = str(viewer.id) if viewer else "anyone"
        return await paging.page(self._cursors, BY_NAME, viewer=viewer_scope, cursor=cursor, limit=limit, fetch=fetch)
