"""Every error is an RFC 9457 problem: unknown routes, wrong methods, validation, crashes, outages."""

import time
import uuid

import pytest

from app.config import Settings
from tests.conftest import assert_problem, http_client, make_settings

SECRET = "Sup3r-S3cret-Passw0rd-" + "z" * 120  # 142 characters: too long to register


async def test_unknown_route_is_404_problem(client):
    body = assert_problem(await client.get(f"/no-such-route/{uuid.uuid4()}"), 404)
    assert body["type"].startswith("urn:problem-type:")
    assert body["title"] == "Not found"


async def test_wrong_method_is_405_problem_with_allow(client):
    response = await client.put("/users/me")
    assert_problem(response, 405)
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "DELETE"}
    assert (await client.put("/auth/login")).headers["allow"] == "POST"
    assert set((await client.delete("/users")).headers["allow"].split(", ")) == {"GET"}


async def test_validation_errors_list_loc_msg_and_type_only(client):
    response = await client.post("/auth/register", json={"email": "nope", "password": 5, "role": "admin"})
    body = assert_problem(response, 422)
    assert body["title"] == "Validation failed"
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}
    assert {tuple(error["loc"]) for error in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "role"),
    }


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/auth/register", {"json": {"email": "a@example.com", "password": SECRET}}),
        ("/auth/register", {"json": {"email": SECRET, "password": SECRET}}),
        ("/auth/register", {"json": {"email": "a@example.com", "password": {"nested": SECRET}}}),
        ("/auth/register", {"json": {"email": "a@example.com", "password": [SECRET]}}),
        ("/auth/register", {"json": [SECRET]}),
        ("/auth/register", {"content": '{"email": "a@example.com", "password": "' + SECRET, "ct": "json"}),
        ("/auth/refresh", {"json": {"refresh_token": SECRET * 3}}),
        ("/auth/login", {"data": {"password": SECRET}}),
        ("/auth/login", {"json": {"username": "a@example.com", "password": SECRET}}),
    ],
    ids=["too-long", "as-email", "object", "list", "top-level-list", "broken-json", "refresh", "login", "json"],
)
async def test_a_submitted_secret_is_never_echoed(client, path, payload):
    kwargs = dict(payload)
    if kwargs.pop("ct", None):
        kwargs["headers"] = {"Content-Type": "application/json"}
    response = await client.post(path, **kwargs)
    assert_problem(response, 422)
    assert SECRET[:12] not in response.text
    assert "input" not in response.json()["errors"][0]


async def test_business_rule_422_has_errors_too(client, admin):
    body = assert_problem(await client.get("/users", params={"cursor": "not-a-cursor"}, headers=admin.headers), 422)
    assert body["errors"] == [{"loc": ["query", "cursor"], "msg": body["detail"], "type": "cursor_invalid"}]


@pytest.fixture
def crashing_app(app_factory, database):
    application = app_factory(make_settings(database))

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret-internal-detail: password=hunter2 at /srv/app.py line 42")

    return application


async def test_crash_is_a_bland_500_problem(crashing_app):
    async with http_client(crashing_app) as http:
        response = await http.get("/boom", headers={"X-Request-ID": "crash-probe-1"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "crash-probe-1"
    for leak in ("secret-internal-detail", "hunter2", "RuntimeError", "Traceback", "line 42", ".py"):
        assert leak not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers


async def test_crash_is_logged_with_its_traceback(crashing_app, caplog):
    with caplog.at_level("ERROR", logger="app.access"):
        async with http_client(crashing_app) as http:
            await http.get("/boom")
    crash = [record for record in caplog.records if record.exc_info]
    assert crash and isinstance(crash[0].exc_info[1], RuntimeError)


async def test_unreachable_database_is_a_prompt_503(app_factory):
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/unreachable",
        environment="test",
        database_connect_timeout_seconds=2,
    )
    application = app_factory(settings)
    started = time.monotonic()
    async with http_client(application) as http:
        register = await http.post("/auth/register", json={"email": "a@example.com", "password": "long-enough"})
        login = await http.post("/auth/login", data={"username": "a@example.com", "password": "long-enough"})
        ready = await http.get("/health/ready")
    assert time.monotonic() - started < 8
    for response in (register, login):
        body = assert_problem(response, 503)
        assert int(response.headers["retry-after"]) >= 1
        assert "127.0.0.1" not in response.text and "postgres" not in response.text.lower()
        assert body["title"] == "Service unavailable"
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": "unavailable"}}
