# ruff: noqa: S608 - every statement is a constant; values always travel as parameters.
"""The statements the service sends for the benchmark's routes, for the floor app.

The read side's statements are compiled from the service's own query objects (at import, once), and the
placement is the service's own statement, so both apps give PostgreSQL exactly the same work and the comparison
measures what sits around the database. The rest are written out as SQLAlchemy renders them.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.engine import make_url

from app.db.reader import ReadQuery
from app.queries import analytics as analytics_queries
from app.queries import orders as order_queries
from app.queries import products as product_queries
from app.queries import users as user_queries
from app.queries.analytics_parts import cut
from app.repositories.order_repo import PLACE_IN_ONE_STATEMENT

USER = (
    "users.id, users.email, users.full_name, users.password_hash, users.role, users.is_active, "
    "users.created_at, users.updated_at"
)
PRODUCT = (
    "products.id, products.sku, products.name, products.description, products.price_cents, "
    "products.stock, products.is_active, products.created_at, products.updated_at"
)


def _compiled(query: ReadQuery) -> str:
    return query.compiled("postgresql")[0]


# The service's read side, compiled as the service compiles it: the floor sends the very same text.
LIVE_ROLE = _compiled(user_queries.LIVE_CALLER)
LIVE_PROFILE = _compiled(user_queries.LIVE_PROFILE)
PRODUCTS_ACTIVE = _compiled(product_queries.page_query(False, False, True))
PRODUCTS_ALL = _compiled(product_queries.page_query(False, False, False))
ORDERS_OF_USER = _compiled(order_queries.page_query(True, False, False, False, False))
ORDER = _compiled(order_queries.ORDER_BY_ID)
HISTORY = _compiled(order_queries.ORDER_HISTORY)
# The service's placement: the unlocked read of the lines' products, then the one guarded statement.
PRODUCTS_FOR_ORDER = _compiled(product_queries.PRODUCTS_BY_IDS)
PLACE = str(PLACE_IN_ONE_STATEMENT.compile(dialect=make_url("postgresql+psycopg://").get_dialect()()))
USER_BY_ID = f"SELECT {USER} FROM users WHERE users.id = %s"
RENAME_USER = "UPDATE users SET full_name = %s, updated_at = %s WHERE users.id = %s"


STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
DATA_AS_OF = _compiled(analytics_queries.DATA_AS_OF)


def summary(start: datetime, end: datetime) -> tuple[str, dict[str, Any]]:
    """The service's summary statement for this range's shape (whole days or not, partial days at either end or
    not), compiled once per shape as the service compiles it, with the range's bounds as parameters."""
    range_cut = cut(start, end)
    sql, constants = analytics_queries.summary_query(range_cut.shape).compiled("postgresql")
    return sql, {**constants, **range_cut.params}


def summary_body(start: datetime, end: datetime, data_as_of: datetime, row: tuple[Any, ...]) -> dict[str, Any]:
    customers, count, _revenue_orders, revenue, *by_status, aov, rate = row
    return {
        "data_as_of": data_as_of.isoformat(),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "order_count": count,
        "revenue_cents": revenue,
        "average_order_value_cents": aov,
        "customer_count": customers,
        "cancelled_count": by_status[-1],
        "cancellation_rate": rate,
        "by_status": dict(zip(STATUSES, by_status, strict=True)),
    }
