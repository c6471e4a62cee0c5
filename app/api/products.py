import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from app.api.deps import AdminUser, OptionalUser, ProductServiceDep
from app.api.openapi import problem_responses
from app.api.params import PageCursor, PageLimit
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText
from app.schemas.product import ProductCreate, ProductPage, ProductRead, ProductUpdate

router = APIRouter(prefix="/products", tags=["products"], route_class=StrictJSONRoute)
ProductId = Annotated[uuid.UUID, Path(description="The product's id.")]


@router.get("", summary="List the catalogue.", response_model=ProductPage, responses=problem_responses(401, 422))
async def list_products(
    viewer: OptionalUser,
    products: ProductServiceDep,
    q: Annotated[PlainText | None, Query(max_length=200, description="Case-insensitive substring of the name")] = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> ProductPage:
    """The catalogue by name; no token needed. Admins also see inactive products."""
    return await products.list_products(viewer, limit=limit, cursor=cursor, q=q)


@router.get(
    "/{product_id}", summary="Read a product.", response_model=ProductRead, responses=problem_responses(401, 404, 422)
)
async def get_product(product_id: ProductId, viewer: OptionalUser, products: ProductServiceDep) -> ProductRead:
    """One product; no token needed. An inactive product is 404 except for admins."""
    return await products.get_product(viewer, product_id)


@router.post(
    "",
    summary="Add a product (admin).",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_product(body: ProductCreate, _: AdminUser, products: ProductServiceDep) -> ProductRead:
    """A new product, for sale at once; 409 when its SKU is taken."""
    return await products.create_product(body)


@router.patch(
    "/{product_id}",
    summary="Change a product (admin).",
    response_model=ProductRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def update_product(
    product_id: ProductId, body: ProductUpdate, _: AdminUser, products: ProductServiceDep
) -> ProductRead:
    """Change its name, description, price, stock or availability; omitted fields keep their value."""
    return await products.update_product(product_id, body)
