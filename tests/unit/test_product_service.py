"""product_service rules, driven through in-memory fakes: who sees what, conflicts, and what was committed."""

import uuid

import pytest

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.core.pagination import CursorCodec
from app.models import Role
from app.schemas.product import ProductCreate, ProductUpdate
from app.services.product_service import ProductService
from tests.unit.fakes import FakeReadSide, FakeUnitOfWork, add_product, caller

ADMIN = caller(Role.ADMIN)


def _products(uow: FakeUnitOfWork) -> ProductService:
    return ProductService(lambda: uow, FakeReadSide(uow.store), currency="EUR", cursors=CursorCodec(b"unit"))


async def test_create_gives_an_active_product_in_the_store_currency(uow):
    created = await _products(uow).create_product(
        ProductCreate(sku="MUG-1", name="Mug", price_cents=1250, stock=3, description=None)
    )
    assert (created.sku, created.currency, created.is_active, created.stock) == ("MUG-1", "EUR", True, 3)
    assert uow.products.rows[created.id].price_cents == 1250
    assert uow.commits == 1


async def test_a_taken_sku_is_a_conflict_without_commit(uow):
    add_product(uow, sku="MUG-1")
    with pytest.raises(ConflictError):
        await _products(uow).create_product(ProductCreate(sku="MUG-1", name="Other", price_cents=1, stock=0))
    assert uow.commits == 0 and len(uow.products.rows) == 1


async def test_update_changes_only_what_was_sent_and_stock_is_a_count(uow):
    product = add_product(uow, price_cents=100, stock=10, name="Mug")
    updated = await _products(uow).update_product(product.id, ProductUpdate(stock=4))
    assert (updated.stock, updated.price_cents, updated.name) == (4, 100, "Mug")
    assert updated.updated_at >= product.created_at
    assert uow.commits == 1


async def test_update_of_an_unknown_product_is_not_found(uow):
    with pytest.raises(NotFoundError):
        await _products(uow).update_product(uuid.uuid4(), ProductUpdate(stock=1))
    assert uow.commits == 0


@pytest.mark.parametrize("viewer", [None, caller(Role.CUSTOMER)], ids=["anonymous", "customer"])
async def test_an_inactive_product_exists_for_admins_only(uow, viewer):
    hidden = add_product(uow, is_active=False)
    with pytest.raises(NotFoundError):
        await _products(uow).get_product(viewer, hidden.id)
    assert (await _products(uow).get_product(ADMIN, hidden.id)).id == hidden.id


async def test_the_list_hides_inactive_products_except_from_admins(uow):
    shown, hidden = add_product(uow, name="A shown"), add_product(uow, name="B hidden", is_active=False)
    anonymous = await _products(uow).list_products(None, limit=10, cursor=None, q=None)
    admin = await _products(uow).list_products(ADMIN, limit=10, cursor=None, q=None)
    assert [item.id for item in anonymous.items] == [shown.id]
    assert [item.id for item in admin.items] == [shown.id, hidden.id]


async def test_pages_by_name_with_cursors_that_only_their_viewer_can_use(uow):
    products = [add_product(uow, name=f"Item {number}") for number in range(5)]
    service = _products(uow)
    first = await service.list_products(None, limit=2, cursor=None, q=None)
    second = await service.list_products(None, limit=2, cursor=first.next_cursor, q=None)
    third = await service.list_products(None, limit=2, cursor=second.next_cursor, q=None)
    assert [item.id for page in (first, second, third) for item in page.items] == [p.id for p in products]
    assert third.next_cursor is None
    # An anonymous caller's cursor is not an admin's, nor the other way round.
    with pytest.raises(InvalidInputError):
        await service.list_products(ADMIN, limit=2, cursor=first.next_cursor, q=None)
    admin_page = await service.list_products(ADMIN, limit=2, cursor=None, q=None)
    with pytest.raises(InvalidInputError):
        await service.list_products(None, limit=2, cursor=admin_page.next_cursor, q=None)
