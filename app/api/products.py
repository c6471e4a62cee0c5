import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminUser, OptionalUser, ProductServiceDep
from app.api.openapi import problem_responses
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText
from app.schemas.product import ProductCreate, ProductPage, ProductRead, ProductUpdate

router = APIRouter(prefix="/products", tags=["products"], route_class=StrictJSONRoute)


@router.get("", response_model=ProductPage, responses=problem_responses(401, 422))
async def list_products(
    viewer: OptionalUser,
    products: ProductServiceDep,
    q: Annotated[PlainText | None, Query(max_length=200, description="Case-insensitive substring of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ProductPage:
    """The catalogue by name; no token needed. Admins also see inactive products."""
    return await products.list_products(viewer, limit=limit, cursor=cursor, q=q)


@router.get("/{product_id}", response_model=ProductRead, responses=problem_responses(401, 404, 422))
async def get_product(product_id: uuid.UUID, viewer: OptionalUser, products: ProductServiceDep) -> ProductRead:
    """One product; no token needed. An inactive product is 404 except for admins."""
    return await products.get_product(viewer, product_id)


@router.post(
    "",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_product(body: ProductCreate, _: AdminUser, products: ProductServiceDep) -> ProductRead:
    """Add a product (admin); the SKU must be unique."""
    return await products.create_product(body)


@router.patch("/{product_id}", response_model=ProductRead, responses=problem_responses(401, 403, 404, 422))
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, _: AdminUser, products: ProductServiceDep
) -> ProductRead:
    """Change a product's name, description, price, stock or availability (admin)."""
    return await products.update_product(product_id, body)
