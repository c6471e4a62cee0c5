"""Every route of the app is classified: public, any signed-in user, or admin only.

A route that is in none of the lists fails the inventory, so a new route cannot ship unclassified.
Every route that is not public answers 401 with `WWW-Authenticate: Bearer` to no token and to garbage
tokens (before it validates the body), every admin route answers 403 to a customer, and the OpenAPI
document declares the same security as the code enforces.
"""

import re
import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import AsyncClient
from starlette.routing import Mount

from tests.conftest import Account, assert_problem

PUBLIC = {
    "POST /auth/register",
    "POST /auth/login",
    "POST /auth/refresh",
    "POST /auth/password-reset",
    "POST /auth/password-reset/confirm",
    "GET /products",
    "GET /products/{product_id}",
    "GET /health/live",
    "GET /health/ready",
    "GET /metrics",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "MOUNT /docs-static",
    "GET /openapi.json",
    # The dashboard's page and assets are public; everything it shows comes from the API with a token.
    "GET /admin",
    "MOUNT /admin/static",
}
# Public, but a token that is sent must be valid (an admin's token shows inactive products).
OPTIONAL_TOKEN = {"GET /products", "GET /products/{product_id}"}
SIGNED_IN = {
    "POST /auth/logout",
    "GET /users/me",
    "PATCH /users/me",
    "POST /users/me/password",
    "DELETE /users/me",
    "GET /users/me/export",
    "POST /orders",
    "GET /orders",
    "GET /orders/{order_id}",
    "GET /orders/{order_id}/history",
    "POST /orders/{order_id}/cancel",
}
ADMIN_ONLY = {
    "GET /users",
    "GET /users/{user_id}",
    "PATCH /users/{user_id}",
    "DELETE /users/{user_id}",
    "POST /products",
    "PATCH /products/{product_id}",
    "PATCH /orders/{order_id}/status",
    "GET /analytics/summary",
    "GET /analytics/revenue",
    "GET /analytics/top-products",
    "GET /analytics/top-customers",
}
PROTECTED = sorted(SIGNED_IN | ADMIN_ONLY)


def app_routes(app: FastAPI) -> set[str]:
    found: set[str] = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            found.add(f"MOUNT {context.original_route.path}")
        else:
            # Starlette answers HEAD wherever it answers GET; it is the same route.
            found.update(f"{method} {context.path_format}" for method in context.methods or () if method != "HEAD")
    return found


def garbage_tokens() -> list[str]:
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "sid": str(uuid.uuid4()), "jti": "x", "iat": now, "exp": now + 600}
    claims |= {"iss": "order-service", "aud": "order-service-api", "type": "access"}
    return [
        "not-a-token",
        jwt.encode(claims, "some-other-key-of-at-least-32-bytes!!", algorithm="HS256"),
        jwt.encode(claims, key="", algorithm="none"),
    ]


async def call(client: AsyncClient, route: str, headers: dict[str, str] | None = None) -> Any:
    method, template = route.split(" ", 1)
    path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
    # A body the route would refuse: authentication must be decided before the body is looked at.
    body = {"json": {}} if method in {"POST", "PATCH"} else {}
    return await client.request(method, path, headers=headers or {}, **body)


def test_every_route_is_classified_exactly_once(app: FastAPI) -> None:
    lists = [PUBLIC, SIGNED_IN, ADMIN_ONLY]
    assert not any(a & b for i, a in enumerate(lists) for b in lists[i + 1 :]), "a route is in two lists"
    routes = app_routes(app)
    assert routes - (PUBLIC | SIGNED_IN | ADMIN_ONLY) == set(), "new routes: add each to one of the lists"
    assert (PUBLIC | SIGNED_IN | ADMIN_ONLY) - routes == set(), "listed routes that no longer exist"


def test_the_openapi_document_declares_the_same_security(app: FastAPI) -> None:
    declared: dict[str, list[dict[str, Any]]] = {
        f"{method.upper()} {path}": operation.get("security", [])
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }
    for route, security in declared.items():
        required = bool(security) and {} not in security
        assert required == (route in SIGNED_IN | ADMIN_ONLY), (route, security)
        assert (route in OPTIONAL_TOKEN) == ({} in security), (route, security)


@pytest.mark.parametrize("route", PROTECTED)
async def test_a_protected_route_refuses_a_missing_or_garbage_token(client: AsyncClient, route: str) -> None:
    attempts: list[dict[str, str]] = [{}, {"Authorization": "Basic dXNlcjpwYXNz"}]
    attempts += [{"Authorization": f"Bearer {token}"} for token in garbage_tokens()]
    for headers in attempts:
        response = await call(client, route, headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", (route, headers)


@pytest.mark.parametrize("route", sorted(ADMIN_ONLY))
async def test_an_admin_route_refuses_a_customer(
    client: AsyncClient, customer: Account, admin: Account, route: str
) -> None:
    assert_problem(await call(client, route, customer.headers), 403)
    assert (await call(client, route, admin.headers)).status_code not in {401, 403}


@pytest.mark.parametrize("route", sorted(SIGNED_IN - {"POST /auth/logout", "POST /users/me/password"}))
async def test_a_signed_in_route_serves_a_customer(client: AsyncClient, customer: Account, route: str) -> None:
    assert (await call(client, route, customer.headers)).status_code not in {401, 403}


@pytest.mark.parametrize("route", sorted(PUBLIC - {"MOUNT /docs-static", "MOUNT /admin/static"}))
async def test_a_public_route_needs_no_token(client: AsyncClient, route: str) -> None:
    assert (await call(client, route)).status_code not in {401, 403}


async def test_the_docs_and_dashboard_assets_need_no_token(client: AsyncClient) -> None:
    assert (await client.get("/docs-static/swagger-ui.css")).status_code == 200
    assert (await client.get("/admin/static/dashboard.js")).status_code == 200


@pytest.mark.parametrize("route", sorted(OPTIONAL_TOKEN))
async def test_an_optional_token_that_is_sent_must_be_valid(client: AsyncClient, route: str) -> None:
    for token in garbage_tokens():
        response = await call(client, route, {"Authorization": f"Bearer {token}"})
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", sorted(PUBLIC | SIGNED_IN | ADMIN_ONLY))
async def test_no_redirect_is_built_from_the_host_header(client: AsyncClient, customer: Account, route: str) -> None:
    """A path with a slash too many (or a mount's path without its slash) is a 404, never a 307 to the `Host`."""
    method, template = route.split(" ", 1)
    path = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)
    path = path if method == "MOUNT" else f"{path}/"
    headers = {"Host": "evil.example", "Authorization": f"Bearer {customer.access_token}"}
    response = await client.request("GET" if method == "MOUNT" else method, path, headers=headers)
    assert "location" not in response.headers
    assert_problem(response, 404)
