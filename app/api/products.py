import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import AdminUser, AppSettings, OptionalUser, Reads, UoW
from app.core.strict_json import StrictJSONRoute
from app.schemas.common import PlainText, problem_responses
from app.schemas.product import ProductCreate, ProductPage, ProductRead, ProductUpdate
from app.services import product_service

router = APIRouter(prefix="/products", tags=["products"], route_class=StrictJSONRoute)


@router.get("", response_model=ProductPage, responses=problem_responses(401, 422))
async def list_products(
    viewer: OptionalUser,
    reads: Reads,
    q: Annotated[PlainText | None, Query(max_length=200, description="Case-insensitive substring of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ProductPage:
    """The catalogue by name; no token needed. Admins also see inactive products."""
    return await product_service.list_products(reads, viewer, limit=limit, cursor=cursor, q=q)


@router.get("/{product_id}", response_model=ProductRead, responses=problem_responses(401, 404, 422))
async def get_product(product_id: uuid.UUID, viewer: OptionalUser, reads: Reads) -> ProductRead:
    """One product; no token needed. An inactive product is 404 except for admins."""
    return await product_service.get_product(reads, viewer, product_id)


@router.post(
    "",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 409, 422),
)
async def create_product(body: ProductCreate, _: AdminUser, uow: UoW, settings: AppSettings) -> ProductRead:
    """Add a product (admin); the SKU must be unique."""
    return await product_service.create_product(uow, body, currency=settings.currency)


@router.patch("/{product_id}", response_model=ProductRead, responses=problem_responses(401, 403, 404, 422))
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, _: AdminUser, uow: UoW, settings: AppSettings
) -> ProductRead:
    """Change a product's name, description, price, stock or availability (admin)."""
    return await product_service.update_product(uow, product_id, body, currency=settings.currency)
