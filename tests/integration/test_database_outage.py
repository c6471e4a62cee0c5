"""The database goes away under a running service (PostgreSQL behind a TCP proxy the test controls)."""

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _create_pg_database, alembic_config
from tests.servers import ServiceProcess, TcpProxy, create_first_admin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PG_URL, reason="needs TEST_DATABASE_URL (PostgreSQL)"),
]
PASSWORD = "outage-password-123"


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[ServiceProcess, TcpProxy]]:
    assert PG_URL
    direct_url, drop = _create_pg_database(PG_URL)
    command.upgrade(alembic_config(direct_url), "head")
    url = make_url(direct_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = {
        "ENVIRONMENT": "production",
        "JWT_SECRET_KEY": "outage-test-key-0123456789abcdefghijklmnopq",
        "DATABASE_URL": proxied,
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
        "FIRST_ADMIN_EMAIL": "admin@example.com",
        "FIRST_ADMIN_PASSWORD": "admin-password-123",
    }
    create_first_admin(env)
    server = ServiceProcess(env).start()
    try:
        yield server, proxy
    finally:
        server.stop()
        proxy.close()
        drop()


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_outage_answers_503_fast_and_recovers_without_restart(service: tuple[ServiceProcess, TcpProxy]) -> None:
    server, proxy = service
    http = httpx.Client(base_url=server.base_url, timeout=15)
    assert http.post("/auth/register", json={"email": "before@example.com", "password": PASSWORD}).status_code == 201
    token = http.post("/auth/login", data={"username": "before@example.com", "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert http.get("/users/me", headers=headers).status_code == 200
    admin = http.post("/auth/login", data={"username": "admin@example.com", "password": "admin-password-123"}).json()
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    product = http.post(
        "/products", json={"sku": "OUTAGE-1", "name": "Lamp", "price_cents": 900, "stock": 5}, headers=admin_headers
    ).json()
    order_body = {"items": [{"product_id": product["id"], "quantity": 2}]}

    proxy.cut()
    try:
        ready, elapsed = _timed(lambda: http.get("/health/ready"))
        assert ready.status_code == 503 and elapsed < 5
        assert ready.json()["checks"]["database"] == "unavailable"

        for call in (
            lambda: http.get("/users/me", headers=headers),
            lambda: http.post("/auth/register", json={"email": "during@example.com", "password": PASSWORD}),
            lambda: http.post("/auth/login", data={"username": "before@example.com", "password": PASSWORD}),
            lambda: http.post("/orders", json=order_body, headers=headers),
        ):
            response, elapsed = _timed(call)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["request_id"] == response.headers["x-request-id"]
            assert elapsed < 5, f"took {elapsed:.1f}s"
        assert http.get("/health/live").status_code == 200
    finally:
        proxy.restore()

    deadline = time.monotonic() + 15
    while http.get("/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "service did not recover after the database came back"
        time.sleep(0.2)
    assert http.get("/users/me", headers=headers).status_code == 200
    # The order refused during the outage left no order and took no stock.
    assert http.get("/orders", headers=headers).json()["items"] == []
    assert http.get(f"/products/{product['id']}").json()["stock"] == 5
    assert http.post("/orders", json=order_body, headers=headers).status_code == 201
    # Nothing from the outage was half-written: the registration that got a 503 does not exist.
    assert http.post("/auth/register", json={"email": "during@example.com", "password": PASSWORD}).status_code == 201
    assert "Traceback" not in server.output()
