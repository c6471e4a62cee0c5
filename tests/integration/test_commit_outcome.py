"""A 503 says "nothing was changed" only when that is known; a connection lost while committing is outcome-unknown.

A deferred constraint trigger that sleeps holds a transaction inside its commit (the COMMIT of a unit of work, or
the end of the order placement's one autocommit statement), long enough for the test to end it there: by killing
the connection (nobody can tell whether it committed) or by the statement timeout (the database rolled it back,
and said so).
"""

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from tests.conftest import assert_problem
from tests.integration.shop import make_product, place

SLOW_COMMIT = """
CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(1); {then} RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON {table} DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""
FAST_COMMIT = "DROP TRIGGER IF EXISTS slow_commit ON {table}; DROP FUNCTION IF EXISTS slow_commit();"


class SlowCommits:
    """A control connection to the test database that slows down the commit of inserts into a table."""

    def __init__(self, control: psycopg.AsyncConnection) -> None:
        self.control = control
        self.tables: list[str] = []

    async def on(self, table: str, *, then: str = "") -> None:
        await self.control.execute(SLOW_COMMIT.format(table=table, then=then))  # type: ignore[arg-type]
        self.tables.append(table)

    async def kill_the_committing_connection(self) -> None:
        await self.control.execute("SELECT pg_terminate_backend(%s)", (await _committing_backend(self.control),))


@pytest.fixture
async def slow_commit(database) -> AsyncIterator[SlowCommits]:
    if database.backend != "postgresql":
        pytest.skip("a connection to break exists on PostgreSQL only (SQLite runs in the process)")
    slow = SlowCommits(await psycopg.AsyncConnection.connect(database.url, autocommit=True))
    try:
        yield slow
    finally:
        for table in slow.tables:
            await slow.control.execute(FAST_COMMIT.format(table=table))  # type: ignore[arg-type]
        await slow.control.close()


async def _committing_backend(control: psycopg.AsyncConnection) -> int:
    for _ in range(200):
        cursor = await control.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
            " AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
        )
        row = await cursor.fetchone()
        if row:
            return int(row[0])
        await asyncio.sleep(0.01)
    raise AssertionError("no transaction reached COMMIT")


async def _order_count(control: psycopg.AsyncConnection) -> int:
    row = await (await control.execute("SELECT count(*) FROM orders")).fetchone()
    assert row
    return int(row[0])


def assert_outcome_unknown(response) -> None:
    body = assert_problem(response, 503)
    assert body["type"].endswith("outcome-unknown")
    assert "Idempotency-Key" in body["detail"]
    assert "nothing was changed" not in body["detail"].lower()
    assert int(response.headers["retry-after"]) >= 1


async def test_a_connection_lost_while_an_order_commits_answers_outcome_unknown(client, admin, customer, slow_commit):
    mug = await make_product(client, admin, stock=5)
    await slow_commit.on("orders")
    placing = asyncio.create_task(place(client, customer, (mug["id"], 1), key="lost-while-committing"))
    await slow_commit.kill_the_committing_connection()
    assert_outcome_unknown(await placing)


async def test_a_connection_lost_during_a_units_commit_answers_outcome_unknown(client, admin, customer, slow_commit):
    mug = await make_product(client, admin, stock=5)
    order = (await place(client, customer, (mug["id"], 1))).json()
    await slow_commit.on("order_status_changes")
    cancelling = asyncio.create_task(client.post(f"/orders/{order['id']}/cancel", headers=customer.headers))
    await slow_commit.kill_the_committing_connection()
    assert_outcome_unknown(await cancelling)


async def test_a_commit_the_database_refused_still_says_nothing_was_changed(client, admin, customer, slow_commit):
    mug = await make_product(client, admin, stock=5)
    await slow_commit.on("orders", then="RAISE EXCEPTION 'refused' USING ERRCODE = 'query_canceled';")
    response = await place(client, customer, (mug["id"], 1))

    body = assert_problem(response, 503)
    assert body["type"].endswith("service-unavailable")
    assert "nothing was changed" in body["detail"]
    assert await _order_count(slow_commit.control) == 0
