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
from app.queries import orders as order_queries
from app.queries import products as product_queries
from app.queries import users as user_queries
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
_IN_RANGE = "orders.created_at >= %(start)s AND orders.created_at < %(end)s"
_REVENUE = "anon_3.status IN ('paid', 'shipped', 'delivered')"
# AnalyticsRepository.order_totals, as SQLAlchemy renders it (its literal 0s travel there as parameters).
SUMMARY = (
    "SELECT anon_1.customer_count, anon_1.order_count, anon_1.revenue_order_count, anon_1.revenue_cents, "
    "anon_1.pending, anon_1.paid, anon_1.shipped, anon_1.delivered, anon_1.cancelled, "
    "coalesce(anon_1.revenue_cents / nullif(anon_1.revenue_order_count, 0), 0) AS aov, "
    "coalesce(CAST(anon_1.cancelled AS FLOAT) / nullif(anon_1.order_count, 0), 0.0) AS cancellation_rate "
    "FROM (SELECT (SELECT count(*) FROM (SELECT DISTINCT orders.user_id AS user_id FROM orders "
    f"WHERE {_IN_RANGE}) AS anon_2) AS customer_count, "
    "CAST(coalesce(sum(anon_3.orders), 0) AS BIGINT) AS order_count, "
    f"CAST(coalesce(sum(anon_3.orders) FILTER (WHERE {_REVENUE}), 0) AS BIGINT) AS revenue_order_count, "
    f"CAST(coalesce(sum(anon_3.cents) FILTER (WHERE {_REVENUE}), 0) AS BIGINT) AS revenue_cents, "
    + ", ".join(
        f"CAST(coalesce(sum(anon_3.orders) FILTER (WHERE anon_3.status = '{status}'), 0) AS BIGINT) AS {status}"
        for status in STATUSES
    )
    + " FROM (SELECT orders.status AS status, count(*) AS orders, sum(orders.total_cents) AS cents FROM orders "
    f"WHERE {_IN_RANGE} GROUP BY orders.status) AS anon_3) AS anon_1"
)


def summary_body(start: datetime, end: datetime, row: tuple[Any, ...]) -> dict[str, Any]:
    customers, count, _revenue_orders, revenue, *by_status, aov, rate = row
    return {
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
