"""Example payloads for the OpenAPI document, one set that tells one story: Ada buys two mugs and a teapot.

`REQUESTS` and `RESPONSES` give the example of each body and answer model; `install_openapi` (app/api/openapi.py)
puts it on every operation that reads or answers that model, so Swagger UI and generated clients show them and
the contract fuzzing sends the request examples. (They are not in the models' `json_schema_extra`: FastAPI drops
the nulls from schema examples, and subclasses would inherit examples that do not fit them.) Ids, times and amounts
agree across examples: the order's lines are the products shown, its total their sum. Every account is at
example.com; passwords and tokens are placeholders, never working values.
"""

from typing import Any

from pydantic import BaseModel

from app.schemas.analytics import RevenueRead, SummaryRead, TopCustomersRead, TopProductsRead
from app.schemas.auth import (
    PasswordResetAccepted,
    PasswordResetConfirm,
    PasswordResetCreate,
    TokenPairCreate,
    TokenPairDelete,
    TokenPairRead,
)
from app.schemas.ops import Liveness, Readiness
from app.schemas.order import OrderCreate, OrderHistoryRead, OrderPage, OrderRead, OrderStatusUpdate
from app.schemas.product import ProductCreate, ProductPage, ProductRead, ProductUpdate
from app.schemas.user import (
    PasswordUpdate,
    ProfileUpdate,
    UserCreate,
    UserDelete,
    UserExportRead,
    UserPage,
    UserRead,
    UserUpdate,
)

ADA_ID = "f579e7bd-dc79-4c6a-b037-64921f468449"
ADMIN_ID = "0b5c8e2a-61d4-4f3b-9a7e-2c8d1f6b4e90"
MUG_ID = "dbebb0df-ef98-47bd-8d3d-484e6802297f"
TEAPOT_ID = "2939eeaa-5c1b-4d0e-8f3a-7b6c5d4e3f21"
ORDER_ID = "710246d6-127b-4d4b-afda-f88b51e1c67c"
REGISTERED_AT = "2026-11-20T09:12:44.003809Z"
LISTED_AT = "2026-11-02T08:00:00Z"
PLACED_AT = "2026-11-26T10:00:00Z"
PAID_AT = "2026-11-26T10:05:31Z"
CURSOR = (  # opaque: signed by the service for one list and one caller
    "WyJvcmRlcnMiLCIyMDI2LTExLTI2VDEwOjAwOjAwKzAwOjAwIiwiNzEwMjQ2ZDYxMjdiNGQ0YmFmZGFmODhiNTFlMWM2N2MiXXtTJDF_oY_TJm7XUZgW-JE"
)

# --- requests ------------------------------------------------------------------------------------------------

USER_CREATE: dict[str, Any] = {"email": "ada@example.com", "password": "example-passphrase", "full_name": "Ada Quill"}
LOGIN_FORM: dict[str, Any] = {"username": "ada@example.com", "password": "example-passphrase"}
REFRESH: dict[str, Any] = {"refresh_token": "EXAMPLE-REFRESH-TOKEN-from-login"}
PROFILE_UPDATE: dict[str, Any] = {"full_name": "Ada Quill"}
PASSWORD_UPDATE: dict[str, Any] = {"current_password": "example-passphrase", "new_password": "another-example-phrase"}
USER_UPDATE: dict[str, Any] = {"role": "admin"}
USER_DELETE: dict[str, Any] = {"password": "example-passphrase"}
PASSWORD_RESET_CREATE: dict[str, Any] = {"email": "ada@example.com"}
PASSWORD_RESET_CONFIRM: dict[str, Any] = {
    "token": "EXAMPLE-RESET-TOKEN-from-the-mail",
    "new_password": "a-new-example-phrase",
}
PRODUCT_CREATE: dict[str, Any] = {
    "sku": "MUG-1",
    "name": "Ceramic mug",
    "description": "350 ml, dishwasher safe.",
    "price_cents": 1350,
    "stock": 120,
}
PRODUCT_UPDATE: dict[str, Any] = {"price_cents": 1450, "stock": 80}
ORDER_CREATE: dict[str, Any] = {
    "items": [{"product_id": MUG_ID, "quantity": 2}, {"product_id": TEAPOT_ID, "quantity": 1}]
}
ORDER_STATUS_UPDATE: dict[str, Any] = {"status": "paid"}

# --- responses -----------------------------------------------------------------------------------------------

USER: dict[str, Any] = {
    "id": ADA_ID,
    "email": "ada@example.com",
    "full_name": "Ada Quill",
    "role": "customer",
    "is_active": True,
    "created_at": REGISTERED_AT,
}
PASSWORD_RESET_ACCEPTED: dict[str, Any] = {
    "detail": "If an active account has this email, a link to reset its password is on its way. It works once."
}
TOKEN_PAIR: dict[str, Any] = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.EXAMPLE-PAYLOAD.EXAMPLE-SIGNATURE",
    "refresh_token": "EXAMPLE-REFRESH-TOKEN-issued-once",
    "token_type": "bearer",
    "expires_in": 900,
}
PRODUCT: dict[str, Any] = {
    "id": MUG_ID,
    "sku": "MUG-1",
    "name": "Ceramic mug",
    "description": "350 ml, dishwasher safe.",
    "price_cents": 1350,
    "currency": "USD",
    "stock": 118,
    "is_active": True,
    "created_at": LISTED_AT,
    "updated_at": PLACED_AT,
}
MUG_LINE: dict[str, Any] = {
    "product_id": MUG_ID,
    "sku": "MUG-1",
    "name": "Ceramic mug",
    "unit_price_cents": 1350,
    "quantity": 2,
    "line_total_cents": 2700,
}
TEAPOT_LINE: dict[str, Any] = {
    "product_id": TEAPOT_ID,
    "sku": "TEAPOT-1",
    "name": "Cast-iron teapot",
    "unit_price_cents": 3900,
    "quantity": 1,
    "line_total_cents": 3900,
}
ORDER: dict[str, Any] = {
    "id": ORDER_ID,
    "user_id": ADA_ID,
    "status": "pending",
    "currency": "USD",
    "total_cents": 6600,
    "items": [MUG_LINE, TEAPOT_LINE],
    "created_at": PLACED_AT,
    "updated_at": PLACED_AT,
}
PLACED: dict[str, Any] = {"from_status": None, "to_status": "pending", "changed_at": PLACED_AT, "changed_by": ADA_ID}
PAID: dict[str, Any] = {"from_status": "pending", "to_status": "paid", "changed_at": PAID_AT, "changed_by": ADMIN_ID}
ORDER_HISTORY: dict[str, Any] = {"items": [PLACED, PAID]}
USER_EXPORT: dict[str, Any] = {
    "exported_at": "2026-11-30T18:00:00Z",
    "profile": USER,
    "orders": [{**ORDER, "status": "paid", "updated_at": PAID_AT, "history": [PLACED, PAID]}],
    "login_sessions": [
        {
            "id": "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            "created_at": "2026-11-26T09:58:02Z",
            "last_used_at": "2026-11-26T10:11:40Z",
            "expires_at": "2026-12-03T09:58:02Z",
            "revoked_at": "2026-11-26T17:30:00Z",
            "revoked_reason": "logout",
        }
    ],
}

PROBLEM_ERROR: dict[str, Any] = {
    "loc": ["body", "items", 0, "quantity"],
    "msg": "Only 1 of MUG-1 in stock.",
    "type": "insufficient_stock",
}
PROBLEM: dict[str, Any] = {
    "type": "urn:problem-type:conflict",
    "title": "Conflict",
    "status": 409,
    "detail": f"Insufficient stock for product MUG-1 ({MUG_ID}).",
    "request_id": "3f2a9c1e7b5d4e6f8a0b1c2d3e4f5a6b",
    "errors": [PROBLEM_ERROR],
}

DATA_AS_OF = "2026-12-01T09:14:03Z"

SUMMARY: dict[str, Any] = {
    "data_as_of": DATA_AS_OF,
    "start": "2026-11-01T00:00:00Z",
    "end": "2026-12-01T00:00:00Z",
    "order_count": 120,
    "revenue_cents": 1234500,
    "average_order_value_cents": 12345,
    "customer_count": 87,
    "cancelled_count": 10,
    "cancellation_rate": 10 / 120,
    "by_status": {"pending": 10, "paid": 30, "shipped": 25, "delivered": 45, "cancelled": 10},
}
REVENUE: dict[str, Any] = {
    "data_as_of": DATA_AS_OF,
    "interval": "week",
    "points": [
        {"period_start": "2026-10-26T00:00:00Z", "order_count": 12, "revenue_cents": 148200},
        {"period_start": "2026-11-02T00:00:00Z", "order_count": 31, "revenue_cents": 402900},
        {"period_start": "2026-11-09T00:00:00Z", "order_count": 0, "revenue_cents": 0},
    ],
}
TOP_PRODUCTS: dict[str, Any] = {
    "data_as_of": DATA_AS_OF,
    "items": [
        {"product_id": MUG_ID, "sku": "MUG-1", "name": "Ceramic mug", "units_sold": 260, "revenue_cents": 351000},
        {
            "product_id": TEAPOT_ID,
            "sku": "TEAPOT-1",
            "name": "Cast-iron teapot",
            "units_sold": 41,
            "revenue_cents": 159900,
        },
    ],
}
TOP_CUSTOMERS: dict[str, Any] = {
    "data_as_of": DATA_AS_OF,
    "items": [{"user_id": ADA_ID, "email": "ada@example.com", "order_count": 9, "revenue_cents": 79200}],
}

SUMMARY_CSV = (
    "start,end,order_count,revenue_cents,average_order_value_cents,customer_count,cancelled_count,"
    "cancellation_rate,pending,paid,shipped,delivered,cancelled\r\n"
    "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,120,1234500,12345,87,10,0.08333333333333333,10,30,25,45,10\r\n"
)
REVENUE_CSV = (
    "period_start,order_count,revenue_cents\r\n2026-10-26T00:00:00Z,12,148200\r\n2026-11-02T00:00:00Z,31,402900\r\n"
)
TOP_PRODUCTS_CSV = f"product_id,sku,name,units_sold,revenue_cents\r\n{MUG_ID},MUG-1,Ceramic mug,260,351000\r\n"
TOP_CUSTOMERS_CSV = f"user_id,email,order_count,revenue_cents\r\n{ADA_ID},ada@example.com,9,79200\r\n"

LIVENESS: dict[str, Any] = {"status": "ok"}
READINESS: dict[str, Any] = {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
METRICS = (
    "# HELP http_requests_total HTTP requests by method, route template and status.\n"
    "# TYPE http_requests_total counter\n"
    'http_requests_total{method="GET",route="/products/{product_id}",status="200"} 1024.0\n'
)


def page(*items: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(items), "next_cursor": CURSOR}


REQUESTS: dict[type[BaseModel], dict[str, Any]] = {
    UserCreate: USER_CREATE,
    TokenPairCreate: REFRESH,
    TokenPairDelete: REFRESH,
    ProfileUpdate: PROFILE_UPDATE,
    PasswordUpdate: PASSWORD_UPDATE,
    UserUpdate: USER_UPDATE,
    UserDelete: USER_DELETE,
    PasswordResetCreate: PASSWORD_RESET_CREATE,
    PasswordResetConfirm: PASSWORD_RESET_CONFIRM,
    ProductCreate: PRODUCT_CREATE,
    ProductUpdate: PRODUCT_UPDATE,
    OrderCreate: ORDER_CREATE,
    OrderStatusUpdate: ORDER_STATUS_UPDATE,
}
RESPONSES: dict[type[BaseModel], dict[str, Any]] = {
    UserRead: USER,
    UserPage: page(USER),
    UserExportRead: USER_EXPORT,
    TokenPairRead: TOKEN_PAIR,
    PasswordResetAccepted: PASSWORD_RESET_ACCEPTED,
    ProductRead: PRODUCT,
    ProductPage: page(PRODUCT),
    OrderRead: ORDER,
    OrderPage: page(ORDER),
    OrderHistoryRead: ORDER_HISTORY,
    SummaryRead: SUMMARY,
    RevenueRead: REVENUE,
    TopProductsRead: TOP_PRODUCTS,
    TopCustomersRead: TOP_CUSTOMERS,
    Liveness: LIVENESS,
    Readiness: READINESS,
}
