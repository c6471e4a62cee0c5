# ruff: noqa: S608 - every statement is a constant; values always travel as parameters.
"""The statements the service's repositories send for the benchmark's routes, written out for the floor app.

Same tables, columns, predicates, ordering and limits as the SQL that SQLAlchemy emits for the service, so
the comparison measures what sits around the database, not a different query plan.
"""

from datetime import datetime
from typing import Any

USER = (
    "users.id, users.email, users.full_name, users.password_hash, users.role, users.is_active, "
    "users.created_at, users.updated_at"
)
PRODUCT = (
    "products.id, products.sku, products.name, products.description, products.price_cents, "
    "products.stock, products.is_active, products.created_at, products.updated_at"
)
ORDER_COLUMNS = (
    "orders.id, orders.user_id, orders.status, orders.currency, orders.total_cents, "
    "orders.created_at, orders.updated_at"
)
ITEM = (
    "order_items.order_id, order_items.product_id, order_items.sku, order_items.name, "
    "order_items.unit_price_cents, order_items.quantity, order_items.line_total_cents, order_items.id, "
    "order_items.position"
)

# UserRepository.get_live_by_session: the token's session and user are both still live.
LIVE_USER = (
    f"SELECT {USER} FROM users JOIN login_sessions ON login_sessions.user_id = users.id "
    "AND login_sessions.id = %s WHERE users.id = %s AND users.is_active IS true "
    "AND login_sessions.revoked_at IS NULL AND login_sessions.expires_at > %s"
)
USER_BY_ID = f"SELECT {USER} FROM users WHERE users.id = %s"
RENAME_USER = "UPDATE users SET full_name = %s, updated_at = %s WHERE users.id = %s"

PRODUCTS_ACTIVE = (
    f"SELECT {PRODUCT} FROM products WHERE products.is_active IS true ORDER BY products.name, products.id LIMIT %s"
)
PRODUCTS_ALL = f"SELECT {PRODUCT} FROM products ORDER BY products.name, products.id LIMIT %s"
TAKE_STOCK = (
    "UPDATE products SET stock=(products.stock - %s), updated_at=%s "
    "WHERE products.id = %s AND products.stock >= %s AND products.is_active IS true "
    f"RETURNING {PRODUCT}"
)

ORDERS_OF_USER = (
    f"SELECT {ORDER_COLUMNS} FROM orders WHERE orders.user_id = %s "
    "ORDER BY orders.created_at DESC, orders.id DESC LIMIT %s"
)
ITEMS_OF_ORDERS = f"SELECT {ITEM} FROM order_items WHERE order_items.order_id = ANY(%s) ORDER BY order_items.position"
ORDER = f"SELECT {ORDER_COLUMNS} FROM orders WHERE orders.id = %s"
ORDER_WITH_ITEMS = (
    f"SELECT {ORDER_COLUMNS}, {ITEM} FROM orders LEFT OUTER JOIN order_items "
    "ON orders.id = order_items.order_id WHERE orders.id = %s ORDER BY order_items.position"
)
HISTORY = (
    "SELECT order_status_changes.id, order_status_changes.order_id, order_status_changes.from_status, "
    "order_status_changes.to_status, order_status_changes.changed_at, order_status_changes.changed_by "
    "FROM order_status_changes WHERE order_status_changes.order_id = %s "
    "ORDER BY order_status_changes.changed_at, order_status_changes.id"
)
INSERT_ORDER = (
    "INSERT INTO orders (id, user_id, status, currency, total_cents, created_at, updated_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
INSERT_CHANGE = (
    "INSERT INTO order_status_changes (id, order_id, from_status, to_status, changed_at, changed_by) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


def insert_items(count: int) -> str:
    """One multi-row INSERT, as SQLAlchemy's insertmanyvalues batches the lines."""
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    return (
        "INSERT INTO order_items (id, order_id, position, product_id, sku, name, unit_price_cents, quantity, "
        f"line_total_cents) VALUES {', '.join([row] * count)}"
    )


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
