"""SIGTERM under load: requests already accepted finish, nothing answers 5xx, the pool is closed."""

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command

from tests.conftest import PG_URL, _create_pg_database, alembic_config
from tests.servers import ServiceProcess

pytestmark = pytest.mark.slow
PASSWORD = "shutdown-password-123"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        url, drop = _create_pg_database(PG_URL)
    else:
        url, drop = f"sqlite:///{tmp_path / 'shutdown.db'}", (lambda: None)
    command.upgrade(alembic_config(url), "head")
    yield url
    drop()


async def test_sigterm_lets_accepted_requests_finish(database_url: str) -> None:
    server = ServiceProcess(
        {"DATABASE_URL": database_url, "JWT_SECRET_KEY": "shutdown-test-key-" + "y" * 32, "PASSWORD_HASH_THREADS": "1"}
    ).start()
    try:
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=no_keepalive) as http:
            emails = [f"shutdown-{i}@example.com" for i in range(12)]
            for email in emails:
                response = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
                assert response.status_code == 201
            tokens = (await http.post("/auth/login", data={"username": emails[0], "password": PASSWORD})).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            stop = asyncio.Event()
            steady_statuses: list[int] = []

            async def steady_load() -> None:
                while not stop.is_set():
                    steady_statuses.append((await http.get("/users/me", headers=headers)).status_code)

            # Password hashing runs one at a time here, so these logins are still in flight at SIGTERM.
            logins = [
                asyncio.create_task(http.post("/auth/login", data={"username": email, "password": PASSWORD}))
                for email in emails
            ]
            steady = [asyncio.create_task(steady_load()) for _ in range(4)]
            await asyncio.sleep(0.3)
            # The steady requests end before the signal: one sent at the very moment of SIGTERM may still sit in
            # the listen backlog, never accepted, and be reset. The logins, hashed one at a time, are in flight.
            stop.set()
            await asyncio.gather(*steady)
            server.terminate()
            signalled_at = time.monotonic()
            login_responses = await asyncio.gather(*logins)

        assert [response.status_code for response in login_responses] == [200] * len(emails)
        assert steady_statuses and set(steady_statuses) == {200}
        # uvicorn re-raises the signal once it has shut down cleanly, so -SIGTERM is a clean exit.
        assert await asyncio.to_thread(server.wait, 30) in (0, -signal.SIGTERM)
        assert time.monotonic() - signalled_at < 25
        output = server.output()
        assert "stopped; database pool closed" in output
        assert '"status": 5' not in output
        assert "Finished server process" in output
    finally:
        server.stop()
