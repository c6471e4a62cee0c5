"""Failed-login throttling, in process memory and in Redis, and when Redis is down; the password-hashing queue.

Each test builds its own app with a small limit (3 failures in a 2-second window) and uses fresh
emails, so counters never collide across tests, runs or workers sharing one Redis.
"""

import asyncio
import time
import uuid
from collections import Counter

import pytest

from app.core.errors import OverloadedError
from app.core.security import PasswordHasher
from tests.conftest import REDIS_URL, assert_problem, http_client, make_settings

MAX_FAILURES = 3
WINDOW_SECONDS = 2
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"

STORAGES = [
    "memory",
    pytest.param("redis", marks=pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")),
]


def email() -> str:
    return f"throttle-{uuid.uuid4().hex}@example.com"


@pytest.fixture
def build(app_factory, database):
    def _build(redis_url: str | None):
        return app_factory(
            make_settings(
                database,
                redis_url=redis_url,
                login_max_failed_attempts=MAX_FAILURES,
                login_lockout_seconds=WINDOW_SECONDS,
            )
        )

    return _build


@pytest.fixture(params=STORAGES)
async def http(request, build):
    redis_url = REDIS_URL if request.param == "redis" else None
    started = time.monotonic()
    async with http_client(build(redis_url)) as client:
        yield client
    # The whole scenario, window waits included, stays short.
    assert time.monotonic() - started < WINDOW_SECONDS + 6


async def attempt(http, username: str, password: str):
    return await http.post("/auth/login", data={"username": username, "password": password})


async def registered(http, password: str = "the-right-password") -> str:
    address = email()
    response = await http.post("/auth/register", json={"email": address, "password": password})
    assert response.status_code == 201
    return address


def assert_locked(response) -> int:
    body = assert_problem(response, 429)
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= WINDOW_SECONDS
    assert "try again" in body["detail"]
    return int(retry_after)


async def test_lockout_after_failures_even_with_the_right_password_then_release(http):
    address = await registered(http)
    for _ in range(MAX_FAILURES):
        assert_problem(await attempt(http, address, "wrong-password"), 401)

    retry_after = assert_locked(await attempt(http, address, "the-right-password"))
    # Other spellings of the same address share the counter; attempts while locked out are
    # refused without counting, so they do not push the release further away.
    assert_locked(await attempt(http, f" {address.upper()}", "wrong-password"))

    await asyncio.sleep(retry_after)
    response = await attempt(http, address, "the-right-password")
    assert response.status_code == 200, response.text


async def test_a_success_resets_the_counter(http):
    address = await registered(http)
    for _ in range(2):
        for _ in range(MAX_FAILURES - 1):
            assert_problem(await attempt(http, address, "wrong-password"), 401)
        assert (await attempt(http, address, "the-right-password")).status_code == 200
    # Four failures inside the window, but never three in a row without a success between.
    assert (await attempt(http, address, "the-right-password")).status_code == 200


async def test_unknown_emails_are_throttled_the_same_way(http):
    address = email()
    for _ in range(MAX_FAILURES):
        assert_problem(await attempt(http, address, "any-password"), 401)
    assert_locked(await attempt(http, address, "any-password"))


async def test_the_lockout_is_per_email(http):
    locked, other = await registered(http), await registered(http)
    for _ in range(MAX_FAILURES):
        await attempt(http, locked, "wrong-password")
    assert_locked(await attempt(http, locked, "the-right-password"))
    assert (await attempt(http, other, "the-right-password")).status_code == 200


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_redis_counters_are_shared_between_processes(build):
    first_app, second_app = build(REDIS_URL), build(REDIS_URL)
    async with http_client(first_app) as first, http_client(second_app) as second:
        address = await registered(first)
        for client in (first, second, first):
            assert_problem(await attempt(client, address, "wrong-password"), 401)
        assert_locked(await attempt(second, address, "the-right-password"))
        assert_locked(await attempt(first, address, "the-right-password"))


async def test_memory_counters_belong_to_one_process(build):
    first_app, second_app = build(None), build(None)
    async with http_client(first_app) as first, http_client(second_app) as second:
        address = await registered(first)
        for _ in range(MAX_FAILURES):
            await attempt(first, address, "wrong-password")
        assert_locked(await attempt(first, address, "the-right-password"))
        assert (await attempt(second, address, "the-right-password")).status_code == 200


async def test_with_redis_down_logins_work_and_throttle_per_process(build):
    started = time.monotonic()
    async with http_client(build(CLOSED_PORT_REDIS)) as http:
        address = await registered(http)
        assert (await attempt(http, address, "the-right-password")).status_code == 200
        for _ in range(MAX_FAILURES):
            assert_problem(await attempt(http, address, "wrong-password"), 401)
        assert_locked(await attempt(http, address, "the-right-password"))

        ready = await http.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "degraded", "checks": {"database": "ok", "redis": "degraded"}}
        assert (await http.get("/health/live")).status_code == 200
    assert time.monotonic() - started < 5


async def test_parallel_guesses_cannot_outrun_the_limit(http):
    address = await registered(http)
    guesses = await asyncio.gather(*(attempt(http, address, f"guess-{n}") for n in range(10)))
    statuses = sorted(response.status_code for response in guesses)
    assert statuses == [401] * MAX_FAILURES + [429] * (10 - MAX_FAILURES)


async def test_a_wrong_current_password_counts_like_a_failed_login(http):
    address = await registered(http)
    session = await attempt(http, address, "the-right-password")
    headers = {"Authorization": f"Bearer {session.json()['access_token']}"}

    async def change(current: str):
        body = {"current_password": current, "new_password": "a-new-password"}
        return await http.post("/users/me/password", json=body, headers=headers)

    for _ in range(MAX_FAILURES):
        assert_problem(await change("wrong-password"), 400)
    # Past the limit, even the right password is refused, here and at login, until the window passes.
    retry_after = assert_locked(await change("the-right-password"))
    assert_locked(await attempt(http, address, "the-right-password"))

    await asyncio.sleep(retry_after)
    assert (await change("the-right-password")).status_code == 204
    assert (await attempt(http, address, "a-new-password")).status_code == 200


# --- the password-hashing queue -------------------------------------------------------------------


async def test_password_hashing_takes_at_most_its_queue_and_refuses_the_rest_at_once(database):
    hasher = PasswordHasher(make_settings(database, password_hash_queue=2, password_hash_threads=1))
    try:
        results = await asyncio.gather(*(hasher.hash("a-password-123") for _ in range(6)), return_exceptions=True)
        assert [isinstance(result, str) for result in results] == [True, True, False, False, False, False]
        refused = [result for result in results if not isinstance(result, str)]
        assert all(isinstance(e, OverloadedError) and e.headers == {"Retry-After": "1"} for e in refused), refused
        # The queue drains: once those two are done, hashing goes on.
        assert (await hasher.verify("a-password-123", results[0]))[0]
    finally:
        hasher.close()


async def test_logins_beyond_the_hashing_queue_are_503_with_retry_after(app_factory, database):
    app = app_factory(make_settings(database, password_hash_queue=1, password_hash_threads=1))
    async with http_client(app) as http:
        address = await registered(http)
        responses = await asyncio.gather(*(attempt(http, email(), "any-password") for _ in range(20)))
        statuses = Counter(response.status_code for response in responses)
        assert set(statuses) == {401, 503}, statuses
        for response in responses:
            if response.status_code == 503:
                assert_problem(response, 503)
                assert response.headers["retry-after"] == "1"
        # The queue drains: the account's own login goes through afterwards.
        assert (await attempt(http, address, "the-right-password")).status_code == 200
