import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.schemas.common import MultilineText, NonBlankText, NotNull, Page, RequestBody

# Upper bounds keep every order total (50 lines x 1000 units) below 2**53, so JSON clients
# that read numbers as doubles still get exact cents.
MAX_PRICE_CENTS = 10_000_000_000
MAX_STOCK = 2_147_483_647

Sku = Annotated[NonBlankText, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ProductName = Annotated[NonBlankText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# Free text may span lines; other control characters are refused.
Description = Annotated[MultilineText, StringConstraints(max_length=5000)]
PriceCents = Annotated[int, Field(strict=True, ge=1, le=MAX_PRICE_CENTS)]
Stock = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The product's id.")
    sku: str = Field(description="The stock-keeping unit, unique in the catalogue.")
    name: str = Field(description="The name shown to customers.")
    description: str | None = Field(description="Free text, line breaks allowed; null when there is none.")
    price_cents: int = Field(description="The unit price now, in cents of `currency`; orders keep the price they paid.")
    currency: str = Field(description="The store currency (ISO 4217), the same on every product and order.")
    stock: int = Field(
        description="Units available to order now; above 2,147,483,647 only when cancelled orders gave units back."
    )
    is_active: bool = Field(description="False hides the product from customers and refuses new orders for it.")
    created_at: datetime = Field(description="When the product was added (UTC).")
    updated_at: datetime = Field(description="When the product last changed, stock moved by orders included (UTC).")


class ProductCreate(RequestBody):
    sku: Sku = Field(description="Unique in the catalogue, as written once trimmed (`abc` and `ABC` are two SKUs).")
    name: ProductName = Field(description="The name shown to customers; trimmed.")
    description: Description | None = Field(default=None, description="Optional free text; line breaks allowed.")
    price_cents: PriceCents = Field(description="The unit price in cents of the store currency.")
    stock: Stock = Field(description="Units available to order.")


class ProductUpdate(RequestBody):
    """Only the fields sent change; `description: null` clears it, other fields cannot be null."""

    name: Annotated[ProductName | None, NotNull] = Field(default=None, description="The new name; trimmed.")
    description: Description | None = Field(default=None, description="The new description; null removes it.")
    price_cents: Annotated[PriceCents | None, NotNull] = Field(
        default=None, description="The new unit price, for orders placed from now on."
    )
    stock: Annotated[Stock | None, NotNull] = Field(
        default=None, description="The units on hand as counted (a stock-take), not an amount to add."
    )
    is_active: Annotated[Annotated[bool, Field(strict=True)] | None, NotNull] = Field(
        default=None, description="False withdraws the product from sale; true puts it back."
    )

    @field_validator("name", "price_cents", "stock", "is_active")
    @classmethod
    def _refuse_null(cls, value: object) -> object:
        # Runs only for fields that were sent: an omitted field keeps its value, null is refused.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value


ProductPage = Page[ProductRead]
