"""The catalogue as the API shows it."""

import uuid
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, String, bindparam, cast, select, tuple_

from app.db.reader import AnySelect, Reader, ReadQuery
from app.models import Product
from app.queries.shape import as_text, ids_value, in_ids, json_array, json_object
from app.queries.text_search import contains_literal, substring_pattern
from app.schemas.product import ProductRead

_PRODUCTS = TypeAdapter(list[ProductRead])


def _product(dialect: str) -> ColumnElement[Any]:
    return json_object(
        dialect,
        {
            "id": Product.id,
            "sku": Product.sku,
            "name": Product.name,
            "description": Product.description,
            "price_cents": Product.price_cents,
            # The store's one currency, from the settings.
            "currency": cast(bindparam("currency", type_=String), String),
            "stock": Product.stock,
            "is_active": Product.is_active,
            "created_at": Product.created_at,
            "updated_at": Product.updated_at,
        },
    )


PRODUCT_BY_ID = ReadQuery(
    lambda dialect: select(as_text(dialect, _product(dialect))).where(Product.id == bindparam("product_id"))
)


PRODUCTS_BY_IDS = ReadQuery(
    lambda dialect: select(
        as_text(
            dialect,
            json_array(dialect, select(_product(dialect).label("doc")).where(in_ids(dialect, Product.id, "ids"))),
        )
    )
)


@cache
def page_query(by_name: bool, after: bool, active_only: bool) -> ReadQuery:
    def build(dialect: str) -> AnySelect:
        rows = select(_product(dialect).label("doc"), Product.name, Product.id)
        if after:
            # The cursor holds the last product's id only; its position is looked up inside the statement.
            anchor = bindparam("after_id", type_=Product.id.type)
            anchor_name = select(Product.name).where(Product.id == anchor).scalar_subquery()
            rows = rows.where(tuple_(Product.name, Product.id) > tuple_(anchor_name, anchor))
        if by_name:
            rows = rows.where(contains_literal(Product.name, bindparam("name_pattern")))
        if active_only:
            rows = rows.where(Product.is_active.is_(True))
        rows = rows.order_by(Product.name, Product.id).limit(bindparam("limit"))
        return select(as_text(dialect, json_array(dialect, rows, order=(("name", False), ("id", False)))))

    return ReadQuery(build)


class ProductQueries:
    def __init__(self, reader: Reader, *, currency: str) -> None:
        self._reader = reader
        self._currency = currency

    async def get(self, product_id: uuid.UUID) -> ProductRead | None:
        row = await self._reader.one(PRODUCT_BY_ID, {"product_id": product_id, "currency": self._currency})
        return ProductRead.model_validate_json(row[0]) if row else None

    async def get_many(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductRead]:
        """These products, active or not, by id; unknown ids are absent."""
        params = {"ids": ids_value(self._reader.dialect, product_ids), "currency": self._currency}
        row = await self._reader.one(PRODUCTS_BY_IDS, params)
        return {product.id: product for product in _PRODUCTS.validate_json(row[0])} if row else {}

    async def list_page(
        self, *, name_contains: str | None, after_id: uuid.UUID | None, include_inactive: bool, limit: int
    ) -> list[ProductRead]:
        """By name, then id, resuming after the product `after_id`; a forged id that matches none gives []."""
        params: dict[str, Any] = {"limit": limit, "currency": self._currency}
        if name_contains:
            params["name_pattern"] = substring_pattern(name_contains)
        if after_id is not None:
            params["after_id"] = after_id
        query = page_query(bool(name_contains), after_id is not None, not include_inactive)
        row = await self._reader.one(query, params)
        return _PRODUCTS.validate_json(row[0]) if row else []
