"""Models: the tables, columns and indexes the rows live in.
Sit at the bottom, under the repositories; they import nothing from the app above them.
Map Python objects to rows, and declare what the migrations must create.
"""

from app.models.analytics import (
    NO_PREVIOUS_DAY,
    ROLLUP_SHARDS,
    CustomerReturnsDaily,
    CustomerSalesDaily,
    CustomerSalesMonthly,
    OrderStatsDaily,
    ProductSalesDaily,
)
from app.models.base import Base
from app.models.idempotency import IdempotencyKey, IdempotencyState
from app.models.login_session import LoginSession, RefreshToken
from app.models.order import Order, OrderItem, OrderStatus, OrderStatusChange
from app.models.outbox import OutboxKind, OutboxMessage
from app.models.password_reset import PasswordResetToken
from app.models.product import Product
from app.models.user import Role, User

__all__ = [
    "NO_PREVIOUS_DAY",
    "ROLLUP_SHARDS",
    "Base",
    "CustomerReturnsDaily",
    "CustomerSalesDaily",
    "CustomerSalesMonthly",
    "IdempotencyKey",
    "IdempotencyState",
    "LoginSession",
    "Order",
    "OrderItem",
    "OrderStatsDaily",
    "OrderStatus",
    "OrderStatusChange",
    "OutboxKind",
    "OutboxMessage",
    "PasswordResetToken",
    "Product",
    "ProductSalesDaily",
    "RefreshToken",
    "Role",
    "User",
]
