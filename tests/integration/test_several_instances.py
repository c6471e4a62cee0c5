"""Two server processes (each with two uvicorn workers) sharing one PostgreSQL and one Redis."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from alembic import command

from tests.conftest import PG_URL, REDIS_URL, _create_pg_database, alembic_config
from tests.servers import ServiceProcess, create_first_admin

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs TEST_DATABASE_URL and TEST_REDIS_URL"),
]
PASSWORD = "instances-password-123"


@pytest.fixture(scope="module")
def instances() -> Iterator[tuple[httpx.Client, httpx.Client]]:
    assert PG_URL and REDIS_URL
    url, drop = _create_pg_database(PG_URL)
    command.upgrade(alembic_config(url), "head")
    env = {
        "ENVIRONMENT": "production",
        "JWT_SECRET_KEY": "instances-test-key-0123456789abcdefghijklmnop",
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "LOGIN_MAX_FAILED_ATTEMPTS": "4",
        "FIRST_ADMIN_EMAIL": "admin@example.com",
        "FIRST_ADMIN_PASSWORD": "admin-password-123",
    }
    create_first_admin(env)
    first, second = ServiceProcess(env, workers=2), ServiceProcess(env, workers=2)
    try:
        first.start()
        second.start()
        with httpx.Client(base_url=first.base_url, timeout=30) as a, httpx.Client(base_url=second.base_url) as b:
            yield a, b
    finally:
        first.stop()
        second.stop()
        drop()


def _account(http: httpx.Client) -> str:
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    return email


def _login(http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return http.post("/auth/login", data={"username": email, "password": password})


def test_logout_through_one_instance_is_refused_by_the_other_at_once(instances) -> None:
    a, b = instances
    email = _account(a)
    tokens = _login(a, email).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert b.get("/users/me", headers=headers).status_code == 200

    assert a.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers).status_code == 204

    assert b.get("/users/me", headers=headers).status_code == 401
    assert b.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_failed_logins_through_both_instances_add_up_to_one_throttle(instances) -> None:
    a, b = instances
    email = _account(a)
    for http in (a, b, a, b):
        assert _login(http, email, "wrong-password").status_code == 401
    for http in (a, b):
        locked = _login(http, email)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) >= 1


def test_orders_placed_concurrently_through_both_instances_never_oversell(instances) -> None:
    a, b = instances
    admin = _login(a, "admin@example.com", "admin-password-123").json()
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    product = a.post(
        "/products",
        json={"sku": f"LAST-{uuid.uuid4().hex[:8]}", "name": "Last units", "price_cents": 500, "stock": 10},
        headers=admin_headers,
    ).json()
    buyers = []
    for _ in range(4):
        email = _account(a)
        buyers.append({"Authorization": f"Bearer {_login(a, email).json()['access_token']}"})

    def buy(index: int) -> int:
        http = (a, b)[index % 2]
        body = {"items": [{"product_id": product["id"], "quantity": 1}]}
        return http.post("/orders", json=body, headers=buyers[index % len(buyers)], timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(buy, range(30)))

    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 20, statuses
    assert b.get(f"/products/{product['id']}").json()["stock"] == 0
    placed = a.get("/orders", params={"limit": 100}, headers=admin_headers).json()["items"]
    assert len([order for order in placed if order["items"][0]["product_id"] == product["id"]]) == 10
