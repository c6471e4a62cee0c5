"""Test wiring: every integration test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

Each run creates its own databases (a temporary SQLite file; a scratch PostgreSQL database created
from TEST_DATABASE_URL and dropped at the end), migrates them with Alembic, and empties every table
after each test, so no test depends on another and concurrent runs never share rows.
"""

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("JWT_SECRET_KEY", "test-only-signing-key-0123456789abcdef")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from app.bootstrap import Container, bootstrap
from app.config import Settings
from app.db.connect import sync_url
from app.main import create_app
from app.models import Base
from tests.integration.outbox_support import MailServer

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")
AMQP_URL = os.environ.get("TEST_AMQP_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


@dataclass
class Database:
    backend: str
    url: str


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    assert PG_URL, "TEST_DATABASE_URL is not set"
    engine = create_sync_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        # Never skip: a run that was asked for PostgreSQL must not pass without it.
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    finally:
        engine.dispose()
    return PG_URL


def _create_pg_database(server_url: str) -> tuple[str, Callable[[], None]]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_sync_engine(sync_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated, empty database of one backend, for the whole run."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}", (lambda: None)
    else:
        url, drop = _create_pg_database(request.getfixturevalue("pg_server_url"))
    command.upgrade(alembic_config(url), "head")
    try:
        yield Database(backend=request.param, url=url)
    finally:
        drop()


def make_settings(database: Database, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database.url, "environment": "test", **overrides}
    return Settings(**values)


@pytest.fixture(scope="session")
def container(database: Database) -> Iterator[Container]:
    """The object graph the app serves with, for the whole run (the pools close with the session's loop)."""
    yield bootstrap(make_settings(database))


@pytest.fixture(scope="session")
def app(container: Container) -> Iterator[FastAPI]:
    yield create_app(container)


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty every table and forget throttling counters after each integration test."""
    container: Container | None = request.getfixturevalue("container") if "database" in request.fixturenames else None
    yield
    if container is None:
        return
    engine = container.engine
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    # DELETE, children first: on the few rows a test leaves it takes about a millisecond, where
    # PostgreSQL's TRUNCATE of every table costs over a hundred per test. The second pass clears
    # rows that triggers (derived tables) wrote while the first one ran.
    async with engine.begin() as connection:
        for table in tables + tables:
            await connection.execute(text(f"DELETE FROM {table}"))
    container.throttle.forget_local()
    container.reset_throttle.forget_local()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


def http_client(application: FastAPI) -> AsyncClient:
    """A client for an app built inside a test; use it as `async with http_client(app) as c:`."""
    return AsyncClient(transport=ASGITransport(app=application), base_url="http://test")


@pytest.fixture
async def app_factory() -> AsyncIterator[Callable[[Settings], FastAPI]]:
    """Build extra apps from custom settings; their database pools are closed after the test."""
    built: list[Container] = []

    def build(settings: Settings) -> FastAPI:
        built.append(bootstrap(settings))
        return create_app(built[-1])

    yield build
    for container in built:
        await container.close()


@pytest.fixture
def response_bodies(client: AsyncClient) -> list[str]:
    """Every response body the `client` fixture receives during the test, for leak checks."""
    bodies: list[str] = []

    async def record(response: Any) -> None:
        await response.aread()
        bodies.append(response.text)

    client.event_hooks["response"].append(record)
    return bodies


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def login(client: AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await client.post("/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def register(client: AsyncClient) -> Callable[..., Awaitable[Account]]:
    """Register and log in a new customer; returns its tokens."""

    async def _register(email: str | None = None, password: str = "correct-horse-battery") -> Account:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = await client.post("/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        tokens = await login(client, email, password)
        return Account(response.json()["id"], email, password, tokens["access_token"], tokens["refresh_token"])

    return _register


@pytest.fixture
async def customer(register: Callable[..., Awaitable[Account]]) -> Account:
    return await register()


@pytest.fixture
async def admin(container: Container, client: AsyncClient) -> Account:
    email, password = f"admin-{uuid.uuid4().hex[:8]}@example.com", "admin-password-123"
    await container.services.users.ensure_admin(email=email, password=password)
    tokens = await login(client, email, password)
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return Account(me.json()["id"], email, password, tokens["access_token"], tokens["refresh_token"])


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server (aiosmtpd) on a loopback port, for the tests of the mail the service sends."""
    server = MailServer().start()
    yield server
    server.stop()


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail", "request_id"):
        assert body.get(key), f"problem body lacks {key}: {body}"
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 422:
        assert isinstance(body.get("errors"), list) and body["errors"]
    return body
