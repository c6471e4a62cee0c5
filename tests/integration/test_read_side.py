"""The read side cannot write: its statements are SELECTs by type, and its connections refuse writes by setting."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text

from app.core.errors import DatabaseUnavailableError
from app.db.reader import ReadQuery
from app.models import Product
from tests.integration.shop import make_product, stock_of


def _product_row() -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "id": uuid.uuid4(), "sku": f"RO-{uuid.uuid4().hex[:8]}", "name": "Sneaked in", "price_cents": 1,
        "stock": 1, "is_active": True, "created_at": now, "updated_at": now,
    }  # fmt: skip


async def test_a_write_sent_through_the_read_side_is_refused(app, client, admin):
    product = await make_product(client, admin, stock=5)
    # Bypassing the types: the database's own setting refuses it (default_transaction_read_only, query_only).
    writes = [
        text("UPDATE products SET stock = 0"),
        text("DELETE FROM products"),
        insert(Product).values(_product_row()),
    ]
    for statement in writes:
        with pytest.raises(Exception, match=r"read-only|readonly") as raised:
            await app.state.container.reader.all(ReadQuery(lambda _dialect, s=statement: s))  # type: ignore[misc]
        assert not isinstance(raised.value, DatabaseUnavailableError)
    assert await stock_of(client, admin, product["id"]) == 5
    assert (await client.get("/products", params={"q": "Sneaked"})).json()["items"] == []


async def test_a_data_modifying_select_is_refused_by_postgresql(app, client, admin, database):
    if database.backend != "postgresql":
        pytest.skip("SQLite has no data-modifying WITH")
    product = await make_product(client, admin, stock=5)
    sneaky = insert(Product).values(_product_row()).returning(Product.id).cte("sneaky")
    # A SELECT by type, which the type check lets through; the read-only connection does not.
    with pytest.raises(Exception, match="read-only"):
        await app.state.container.reader.all(ReadQuery(lambda _dialect: select(sneaky.c.id)))
    assert await stock_of(client, admin, product["id"]) == 5
    assert (await client.get("/products", params={"q": "Sneaked"})).json()["items"] == []


async def test_reads_plan_without_jit_and_with_index_reads_priced_for_memory(app, database):
    if database.backend != "postgresql":
        pytest.skip("planner settings of PostgreSQL")
    settings = await app.state.container.reader.all(
        ReadQuery(
            lambda _dialect: select(
                text("current_setting('jit') AS jit, current_setting('random_page_cost') AS page_cost")
            )
        )
    )
    assert [tuple(row) for row in settings] == [("off", "1.1")]
