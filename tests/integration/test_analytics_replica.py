"""Reports read from the streaming replica named by ANALYTICS_DATABASE_URL, and from the primary while it is
unreachable.

The replica is real: `pg_basebackup -R` of the test server into a temporary directory, started as a second
PostgreSQL server on a free port from the binaries in TEST_PG_BINDIR (as the `postgres` user when the tests run
as root), stopped and removed at the end. Pausing its replay proves where a report read from: orders committed
on the primary meanwhile are missing from it, and its `data_as_of` is earlier than their commit.
"""

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from scripts.processes import free_port
from tests.conftest import PG_URL, Database, _create_pg_database, alembic_config, http_client, login, make_settings
from tests.integration.analytics_data import AnalyticsData, iso, utc

PG_BINDIR = os.environ.get("TEST_PG_BINDIR")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]
START, END = utc(2026, 3, 1), utc(2026, 4, 1)
ADMIN_PASSWORD = "replica-admin-password-1"


@dataclass(frozen=True)
class Replica:
    port: int
    data: Path

    def url(self, primary_url: str) -> str:
        return make_url(primary_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)


def _as_postgres(*command_line: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command_line] if os.geteuid() == 0 else list(command_line)


def _run(*command_line: str) -> None:
    command = _as_postgres(*command_line)
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603 - ours
    assert result.returncode == 0, f"{command_line[0]} failed: {result.stderr[-2000:]}"


@pytest.fixture(scope="module")
def replica() -> Iterator[Replica]:
    if not PG_BINDIR:
        pytest.skip("needs TEST_PG_BINDIR (the PostgreSQL server binaries, e.g. /usr/lib/postgresql/15/bin)")
    assert PG_URL
    bindir, primary = Path(PG_BINDIR), make_url(PG_URL)
    base = Path(tempfile.mkdtemp(prefix="analytics-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    try:
        _run(str(bindir / "pg_basebackup"), "-h", primary.host or "127.0.0.1", "-p", str(primary.port or 5432),
             "-U", primary.username or "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        # Debian keeps the primary's configuration outside its data directory: the replica gets its own.
        (data / "postgresql.conf").write_text(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
            "hot_standby = on\nmax_connections = 40\nshared_buffers = 32MB\nfsync = off\n"
        )
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if os.geteuid() == 0:
            for path in (data / "postgresql.conf", data / "pg_hba.conf"):
                shutil.chown(path, "postgres", "postgres")
        _run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "120", "start")
        yield Replica(port, data)
    finally:
        if (data / "postmaster.pid").exists():
            _run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def primary_database() -> Iterator[Database]:
    assert PG_URL
    url, drop = _create_pg_database(PG_URL)
    command.upgrade(alembic_config(url), "head")
    try:
        yield Database(backend="postgresql", url=url)
    finally:
        drop()


def _lsn(url: str, function: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(f"SELECT {function} - '0/0'::pg_lsn").fetchone()
    return int(row[0]) if row and row[0] is not None else -1


def _wait_for(replica_url: str, primary_url: str, function: str) -> None:
    """Until the replica's `function` (received or replayed WAL) reaches the primary's current WAL position."""
    target = _lsn(primary_url, "pg_current_wal_lsn()")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if _lsn(replica_url, function) >= target:
                return
        except psycopg.OperationalError:  # the scratch database is not there yet
            pass
        time.sleep(0.1)
    raise AssertionError(f"the replica's {function} did not reach the primary's position in 120 s")


async def _summary(client, headers) -> dict:
    response = await client.get("/analytics/summary", params={"start": iso(START), "end": iso(END)}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_reports_read_from_the_replica(replica, primary_database, app_factory):
    primary_url = primary_database.url
    replica_url = replica.url(primary_url)
    settings = make_settings(primary_database, analytics_database_url=replica_url)
    app = app_factory(settings)
    data = AnalyticsData(app)
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await app.state.container.services.users.ensure_admin(email=email, password=ADMIN_PASSWORD)
    buyer = await data.customer()
    await data.product(price_cents=1500)
    await data.order(buyer, utc(2026, 3, 10), status="delivered")
    _wait_for(replica_url, primary_url, "pg_last_wal_replay_lsn()")

    async with http_client(app) as client:
        tokens = await login(client, email, ADMIN_PASSWORD)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        caught_up = await _summary(client, headers)
        assert caught_up["order_count"] == 1

        with psycopg.connect(replica_url, autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_pause()")
        before_new_order = datetime.now(UTC)
        await data.order(buyer, utc(2026, 3, 11), status="paid")
        _wait_for(replica_url, primary_url, "pg_last_wal_receive_lsn()")

        paused = await _summary(client, headers)
        assert paused["order_count"] == 1, "the report did not read from the paused replica"
        assert datetime.fromisoformat(paused["data_as_of"]) < before_new_order

        with psycopg.connect(replica_url, autocommit=True) as connection:
            connection.execute("SELECT pg_wal_replay_resume()")
        _wait_for(replica_url, primary_url, "pg_last_wal_replay_lsn()")
        resumed = await _summary(client, headers)
        assert resumed["order_count"] == 2 and resumed["revenue_cents"] == 3000
        assert datetime.fromisoformat(resumed["data_as_of"]) > before_new_order
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["replica"] == "ok", ready.text


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
        ready = await client.get("/health/ready")

    # An optional dependency: the instance stays in rotation, and says what is missing.
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded" and ready.json()["checks"]["replica"] == "degraded"

    assert first["order_count"] == second["order_count"] == 1 and first["revenue_cents"] == 700
    # The first report waits for the replica once (the connect timeout); the next goes to the primary at once.
    assert elapsed < 2 * settings.database_connect_timeout_seconds + 1
