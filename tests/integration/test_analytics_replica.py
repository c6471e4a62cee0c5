"""Reports read from the streaming replica named by ANALYTICS_DATABASE_URL, and from the primary while it is
unreachable."""

import time
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy.engine import make_url

from scripts.processes import free_port
from tests.conftest import PG_URL, Database, _create_pg_database, alembic_config, http_client, login, make_settings
from tests.integration.analytics_data import AnalyticsData, iso, utc

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]
START, END = utc(2026, 3, 1), utc(2026, 4, 1)
ADMIN_PASSWORD = "replica-admin-password-1"


@pytest.fixture
def primary_database() -> Iterator[Database]:
    assert PG_URL
    url, drop = _create_pg_database(PG_URL)
    command.upgrade(alembic_config(url), "head")
    try:
        yield Database(backend="postgresql", url=url)
    finally:
        drop()


async def _summary(client, headers) -> dict:
    response = await client.get("/analytics/summary", params={"start": iso(START), "end": iso(END)}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_reports_fall_back_to_the_primary_when_the_replica_is_unreachable(primary_database, app_factory):
    unreachable = make_url(primary_database.url).set(host="127.0.0.1", port=free_port())
    settings = make_settings(
        primary_database,
        analytics_database_url=unreachable.render_as_string(hide_password=False),
        database_connect_timeout_seconds=1,
    )
    app = app_factory(settings)
    data = AnalyticsData(app)
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await app.state.container.services.users.ensure_admin(email=email, password=ADMIN_PASSWORD)
    await data.customer()
    await data.product(price_cents=700)
    await data.order(next(iter(data.emails)), utc(2026, 3, 12), status="shipped")

    async with http_client(app) as client:
        tokens = await login(client, email, ADMIN_PASSWORD)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        started = time.monotonic()
        first = await _summary(client, headers)
        second = await _summary(client, headers)
        elapsed = time.monotonic() - started

    assert first["order_count"] == second["order_count"] == 1 and first["revenue_cents"] == 700
    # The first report waits for the replica once (the connect timeout); the next goes to the primary at once.
    assert elapsed < 2 * settings.database_connect_timeout_seconds + 1
