"""Readiness: the schema must be at the latest migration, and the answer stays prompt on a silent network."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, Database, _create_pg_database, alembic_config, http_client, make_settings
from tests.servers import TcpProxy


@pytest.fixture
def blank_database(database: Database, tmp_path: Path) -> Iterator[Database]:
    """A new, empty database of the run's backend: nothing migrated yet."""
    if database.backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'blank.db'}")
        return
    assert PG_URL
    url, drop = _create_pg_database(PG_URL)
    try:
        yield Database("postgresql", url)
    finally:
        drop()


async def test_a_database_never_migrated_is_not_ready(app_factory, blank_database):
    async with http_client(app_factory(make_settings(blank_database))) as http:
        response = await http.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "schema_outdated"}}


async def test_a_database_behind_the_latest_migration_is_not_ready_until_upgraded(app_factory, blank_database):
    config = alembic_config(blank_database.url)
    # Alembic's environment runs its own event loop: in a thread, beside this test's.
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.downgrade, config, "-1")
    async with http_client(app_factory(make_settings(blank_database))) as http:
        behind = await http.get("/health/ready")
        await asyncio.to_thread(command.upgrade, config, "head")
        upgraded = await http.get("/health/ready")
    assert behind.status_code == 503
    assert behind.json()["checks"]["database"] == "schema_outdated"
    assert upgraded.status_code == 200
    assert upgraded.json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.slow
@pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)")
async def test_readiness_answers_within_its_deadline_when_the_network_goes_silent(app_factory, database):
    if database.backend != "postgresql":
        pytest.skip("a network to the database exists on PostgreSQL only")
    url = make_url(database.url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        async with http_client(app_factory(make_settings(database, database_url=proxied))) as http:
            assert (await http.get("/health/ready")).status_code == 200
            assert (await http.get("/products")).status_code == 200  # the request pool holds a connection too
            await asyncio.sleep(1.2)  # idle long enough that the pool would ping it before reuse
            proxy.blackhole()
            for _ in range(2):
                started = time.monotonic()
                response = await http.get("/health/ready")
                elapsed = time.monotonic() - started
                assert response.status_code == 503
                assert response.json()["checks"]["database"] == "unavailable"
                assert elapsed < 3, f"readiness took {elapsed:.1f} s"
            proxy.restore()
            assert (await http.get("/health/ready")).status_code == 200
    finally:
        proxy.close()
