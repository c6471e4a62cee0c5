"""What wraps every request: request id, hardening headers, the 1 MiB body limit, the access log."""

import json
import logging
import re
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.logging import JsonFormatter
from app.core.middleware import MAX_BODY_BYTES
from tests.conftest import assert_problem, login

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
HARDENING = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
}


# --- request id -----------------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc-123", "A.b_c:d-9", "r" * 128, str(uuid.uuid4())])
async def test_a_sane_request_id_is_echoed_in_header_and_error_body(client, request_id):
    response = await client.get("/no-such-route", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id
    assert assert_problem(response, 404)["request_id"] == request_id
    ok = await client.get("/health/live", headers={"X-Request-ID": request_id})
    assert ok.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["r" * 129, "r" * 200, "has spaces", "semi;colon", "new\tline", "", "<script>", "caf\u00e9"],
    ids=["129-chars", "200-chars", "spaces", "semicolon", "tab", "empty", "markup", "non-ascii"],
)
async def test_an_insane_request_id_is_replaced(client, request_id):
    response = await client.get("/no-such-route", headers={"X-Request-ID": request_id.encode()})
    generated = response.headers["x-request-id"]
    assert generated != request_id
    assert GENERATED_ID.match(generated)
    assert assert_problem(response, 404)["request_id"] == generated


async def test_each_request_gets_its_own_id(client):
    ids = {(await client.get("/health/live")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


# --- hardening headers ----------------------------------------------------------------------------


async def test_every_response_carries_the_hardening_headers(client, customer):
    responses = [
        await client.get("/health/live"),
        await client.get("/users/me", headers=customer.headers),
        await client.get("/users/me"),
        await client.get("/nowhere"),
        await client.delete("/users/me", headers=customer.headers),
        await client.post("/auth/register", json={}),
        await client.post("/auth/register", content=b"x", headers={"Content-Length": str(MAX_BODY_BYTES + 1)}),
        await client.get("/metrics"),
        await client.get("/openapi.json"),
        await client.get("/docs"),
    ]
    for response in responses:
        for header, value in HARDENING.items():
            assert response.headers.get(header) == value, (response.url, header)
        assert response.headers.get("content-security-policy"), response.url
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers.get("x-request-id")


async def test_api_responses_have_a_locked_down_csp_and_are_not_cached(client, customer):
    response = await client.get("/users/me", headers=customer.headers)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


async def test_a_handler_cannot_duplicate_hardening_headers(client):
    response = await client.get("/health/live")
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert len(response.headers.get_list("content-security-policy")) == 1


# --- body limit -----------------------------------------------------------------------------------


async def test_declared_length_over_1_mib_is_413_before_parsing(client):
    body = json.dumps({"email": "a@example.com", "password": "x" * MAX_BODY_BYTES}).encode()
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 413)
    assert "1048576" in problem["detail"]


async def test_declared_length_alone_is_enough_for_413(client):
    # The limit is decided on Content-Length before a byte of the body is read.
    response = await client.post("/auth/register", content=b"{}", headers={"Content-Length": str(MAX_BODY_BYTES + 1)})
    assert_problem(response, 413)


async def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/auth/register", "application/json"),
        ("/auth/login", "application/x-www-form-urlencoded"),
        ("/auth/refresh", "application/json"),
    ],
)
async def test_streamed_body_over_1_mib_is_413(client, path, content_type):
    response = await client.post(path, content=_chunks(MAX_BODY_BYTES + 1), headers={"Content-Type": content_type})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


async def test_streamed_body_of_exactly_1_mib_is_parsed(client):
    response = await client.post(
        "/auth/register", content=_chunks(MAX_BODY_BYTES), headers={"Content-Type": "application/json"}
    )
    # Whitespace only: parsed, and refused as invalid JSON, not as too large.
    assert_problem(response, 422)


async def test_a_body_of_exactly_1_mib_is_parsed(client):
    body = b" " * MAX_BODY_BYTES
    response = await client.post("/auth/register", content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 422)


async def test_lying_content_length_cannot_sneak_past_the_limit(client):
    response = await client.post(
        "/auth/register",
        content=_chunks(MAX_BODY_BYTES + 10),
        headers={"Content-Type": "application/json", "Content-Length": "10"},
    )
    assert_problem(response, 413)


# --- access log -----------------------------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def app_log_lines():
    """The JSON lines the app's loggers write, at INFO, exactly as they would be shipped."""
    handler, logger = _Lines(), logging.getLogger("app")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_logs_carry_request_lines_and_no_secrets(client, app_log_lines):
    email, password, new_password = f"Log.Probe-{uuid.uuid4().hex[:8]}@example.com", "first-pass-123", "second-pass-456"
    responses = [await client.post("/auth/register", json={"email": email, "password": password})]
    tokens = await login(client, email, password)
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "log-probe-1"}
    responses.append(await client.post("/auth/login", data={"username": email, "password": "wrong-password"}))
    responses.append(
        await client.post(
            "/users/me/password", json={"current_password": password, "new_password": new_password}, headers=headers
        )
    )
    refreshed = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    responses.append(refreshed)
    assert [r.status_code for r in responses] == [201, 401, 204, 401]

    text = "\n".join(app_log_lines)
    for secret in (password, new_password, "wrong-password", tokens["access_token"], tokens["refresh_token"]):
        assert secret not in text
    assert email.lower() not in text.lower()
    assert email.split("@")[0].lower() not in text.lower()

    requests = [json.loads(line) for line in app_log_lines if json.loads(line)["logger"] == "app.access"]
    assert len(requests) == 5
    for entry in requests:
        assert {"request_id", "method", "route", "status", "duration_ms"} <= set(entry)
        assert entry["method"] == "POST"
        assert isinstance(entry["duration_ms"], int | float) and entry["duration_ms"] >= 0
    assert [entry["route"] for entry in requests] == [
        "/auth/register",
        "/auth/login",
        "/auth/login",
        "/users/me/password",
        "/auth/refresh",
    ]
    assert [entry["status"] for entry in requests] == [201, 200, 401, 204, 401]
    change = requests[3]
    assert change["request_id"] == "log-probe-1"
    assert change["user_id"] == responses[0].json()["id"]


async def test_database_errors_never_carry_statement_parameters(app):
    # Unexpected database errors are logged with their message; the values bound to the statement
    # (emails, password hashes) must not be part of it.
    async with app.state.container.engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(text("SELECT * FROM no_such_table WHERE email = :email"), {"email": "p@x.io"})
    assert "p@x.io" not in str(caught.value)
    assert "no_such_table" in str(caught.value)
