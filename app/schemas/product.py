import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.schemas.common import NonBlankText, NotNull, Page, RequestBody

# Upper bounds keep every order total (50 lines x 1000 units) below 2**53, so JSON clients
# that read numbers as doubles still get exact cents.
MAX_PRICE_CENTS = 10_000_000_000
MAX_STOCK = 2_147_483_647

Sku = Annotated[NonBlankText, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ProductName = Annotated[NonBlankText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Free text may span lines; other control characters are refused.
Description = Annotated[str, StringConstraints(max_length=5000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
PriceCents = Annotated[int, Field(strict=True, ge=1, le=MAX_PRICE_CENTS)]
Stock = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku: str
    name: str
    description: str | None
    price_cents: int
    currency: str
    stock: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProductCreate(RequestBody):
    sku: Sku
    name: ProductName
    description: Description | None = None
    price_cents: PriceCents
    stock: Stock


class ProductUpdate(RequestBody):
    """Only the fields sent change; `description: null` clears it, other fields cannot be null."""

    name: Annotated[ProductName | None, NotNull] = None
    description: Description | None = None
    price_cents: Annotated[PriceCents | None, NotNull] = None
    stock: Annotated[Stock | None, NotNull] = None
    is_active: Annotated[Annotated[bool, Field(strict=True)] | None, NotNull] = None

    @field_validator("name", "price_cents", "stock", "is_active")
    @classmethod
    def _refuse_null(cls, value: object) -> object:
        # Runs only for fields that were sent: an omitted field keeps its value, null is refused.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


ProductPage = Page[ProductRead]
