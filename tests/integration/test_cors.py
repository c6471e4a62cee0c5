"""CORS: listed origins get preflights answered and responses labelled; others never get Allow-Origin."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import ValidationError

from app.config import Settings
from tests.conftest import Account, Database, assert_problem, http_client, make_settings

LISTED = "https://shop.example.com"
OTHER_LISTED = "http://localhost:5173"
UNLISTED = "https://evil.example.net"
REQUESTED_HEADERS = "authorization, content-type, idempotency-key, x-request-id"


@pytest.fixture
def cors_app(app_factory: Callable[[Settings], FastAPI], database: Database) -> FastAPI:
    return app_factory(make_settings(database, cors_origins=f"{LISTED}, {OTHER_LISTED}"))


def preflight(origin: str, method: str = "POST", headers: str | None = REQUESTED_HEADERS) -> dict[str, str]:
    request = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request["Access-Control-Request-Headers"] = headers
    return request


def listed(header_value: str) -> set[str]:
    return {part.strip().lower() for part in header_value.split(",")}


@pytest.mark.parametrize("origin", [LISTED, OTHER_LISTED])
@pytest.mark.parametrize("path", ["/orders", "/products/7f1b5c9e-2f0a-4c55-9a43-1f6f3b0e9d11", "/auth/login"])
async def test_a_preflight_from_a_listed_origin_is_answered(cors_app: FastAPI, origin: str, path: str) -> None:
    async with http_client(cors_app) as client:
        response = await client.options(path, headers={**preflight(origin), "X-Request-ID": "preflight-1"})
    assert response.status_code in {200, 204}
    assert response.headers["access-control-allow-origin"] == origin
    assert {"get", "post", "patch", "delete"} <= listed(response.headers["access-control-allow-methods"])
    assert listed(REQUESTED_HEADERS) <= listed(response.headers["access-control-allow-headers"])
    assert int(response.headers["access-control-max-age"]) > 0
    assert "origin" in listed(response.headers["vary"])
    assert "access-control-allow-credentials" not in response.headers
    # The preflight is still a response of this service: request id and hardening headers.
    assert response.headers["x-request-id"] == "preflight-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"]


async def test_a_preflight_from_an_unlisted_origin_gets_no_allow_origin(cors_app: FastAPI) -> None:
    async with http_client(cors_app) as client:
        for origin in (UNLISTED, "null", LISTED + ".evil.example", LISTED + ":8443", "http://shop.example.com"):
            response = await client.options("/orders", headers=preflight(origin))
            assert "access-control-allow-origin" not in response.headers, origin
            assert "access-control-allow-credentials" not in response.headers
            body = assert_problem(response, 400)
            assert "origin" in body["detail"]


async def test_a_preflight_for_a_header_or_method_not_allowed_is_refused(cors_app: FastAPI) -> None:
    async with http_client(cors_app) as client:
        for request in (preflight(LISTED, headers="x-custom-header"), preflight(LISTED, method="PUT", headers=None)):
            response = await client.options("/orders", headers=request)
            assert_problem(response, 400)


@pytest.mark.parametrize("origin", [LISTED, OTHER_LISTED])
async def test_responses_to_a_listed_origin_carry_allow_origin_and_expose_headers(
    cors_app: FastAPI, customer: Account, origin: str
) -> None:
    async with http_client(cors_app) as client:
        responses = [
            await client.get("/products", headers={"Origin": origin}),
            await client.get("/users/me", headers={"Origin": origin, **customer.headers}),
            # Errors too, so a browser client can read the problem body.
            await client.get("/users/me", headers={"Origin": origin}),
            await client.get("/no-such-route", headers={"Origin": origin}),
        ]
    assert [response.status_code for response in responses] == [200, 200, 401, 404]
    for response in responses:
        assert response.headers["access-control-allow-origin"] == origin
        exposed = listed(response.headers["access-control-expose-headers"])
        assert {"x-request-id", "retry-after", "idempotent-replayed"} <= exposed
        assert "origin" in listed(response.headers["vary"])
        assert "access-control-allow-credentials" not in response.headers


async def test_responses_to_an_unlisted_origin_carry_no_allow_origin(cors_app: FastAPI) -> None:
    async with http_client(cors_app) as client:
        response = await client.get("/products", headers={"Origin": UNLISTED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in listed(response.headers["vary"])


async def test_an_options_request_that_is_not_a_preflight_is_still_405(cors_app: FastAPI) -> None:
    async with http_client(cors_app) as client:
        plain = await client.options("/users/me")
        with_origin = await client.options("/users/me", headers={"Origin": LISTED})
    for response in (plain, with_origin):
        assert_problem(response, 405)
        assert response.headers["allow"] == "GET, PATCH, DELETE"
    assert with_origin.headers["access-control-allow-origin"] == LISTED


async def test_without_cors_origins_a_preflight_is_an_ordinary_405(client: AsyncClient) -> None:
    response = await client.options("/orders", headers=preflight(LISTED))
    assert_problem(response, 405)
    assert not any(name.startswith("access-control-") for name in response.headers)
    response = await client.get("/products", headers={"Origin": LISTED})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_are_read_comma_separated_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", " https://Shop.Example.com:443 ,http://localhost:5173,, http://a.example:80")
    assert Settings().cors_origins == ("https://shop.example.com", "http://localhost:5173", "http://a.example")
    monkeypatch.setenv("CORS_ORIGINS", "")
    assert Settings().cors_origins == ()


@pytest.mark.parametrize("value", ["*", "https://shop.example.com/", "shop.example.com", "https://a.example/path"])
def test_a_value_that_is_not_an_origin_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CORS_ORIGINS", value)
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings()
