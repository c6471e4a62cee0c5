"""The catalogue: everyone browses active products; admins see everything and manage it."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from app.core.errors import ConflictError, NotFoundError
from app.core.pagination import decode_cursor, encode_cursor
from app.models import Product
from app.schemas.common import Page
from app.schemas.product import ProductCreate, ProductRead, ProductUpdate
from app.services.caller import Caller
from app.services.read_side import ReadSide
from app.services.unit_of_work import UnitOfWork

SKU_TAKEN = "A product with this SKU already exists."


def _sees_inactive(viewer: Caller | None) -> bool:
    return viewer is not None and viewer.is_admin


def _read(product: Product, currency: str) -> ProductRead:
    return ProductRead(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price_cents=product.price_cents,
        currency=currency,
        stock=product.stock,
        is_active=product.is_active,
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


async def create_product(uow: UnitOfWork, data: ProductCreate, *, currency: str) -> ProductRead:
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
    async with uow:
        try:
            await uow.products.add(product)
            await uow.commit()
        except IntegrityError as exc:  # the unique SKU, also when a concurrent create won the race
            raise ConflictError(SKU_TAKEN) from exc
    return _read(product, currency)


async def update_product(uow: UnitOfWork, product_id: uuid.UUID, data: ProductUpdate, *, currency: str) -> ProductRead:
    """Change the fields sent. `stock` sets the count (a stock-take), it does not add to it."""
    changes = data.model_dump(exclude_unset=True)
    async with uow:
        product = await uow.products.get(product_id)
        if product is None:
            raise NotFoundError("No such product.")
        for field, value in changes.items():
            setattr(product, field, value)
        await uow.products.flush()
        await uow.commit()
    return _read(product, currency)


async def get_product(reads: ReadSide, viewer: Caller | None, product_id: uuid.UUID) -> ProductRead:
    """One product; an inactive one exists only for admins."""
    product = await reads.products.get(product_id)
    if product is None or (not product.is_active and not _sees_inactive(viewer)):
        raise NotFoundError("No such product.")
    return product


async def list_products(
    reads: ReadSide, viewer: Caller | None, *, limit: int, cursor: str | None, q: str | None
) -> Page[ProductRead]:
    """By name; `q` is a case-insensitive substring of it. Inactive products are listed for admins only."""
    after = decode_cursor(cursor, uuid.UUID)[0] if cursor else None
    rows = await reads.products.list_page(
        name_contains=q,
        after_id=after,  # type: ignore[arg-type]
        include_inactive=_sees_inactive(viewer),
        limit=limit + 1,
    )
    items, more = rows[:limit], len(rows) > limit
    # The last product's id only: names can be longer than a cursor may be.
    next_cursor = encode_cursor(items[-1].id) if more else None
    return Page[ProductRead](items=items, next_cursor=next_cursor)
