"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout, through the public API."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import extract_parameters

from tests.conftest import assert_problem, http_client, login

USER_FIELDS = {"id", "email", "full_name", "role", "is_active", "created_at"}
TOKEN_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}


@pytest.fixture(autouse=True)
def _never_a_password_hash(response_bodies):
    yield
    assert response_bodies, "the test made no request through `client`"
    assert not [body for body in response_bodies if "$argon2" in body]


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client, token: str):
    return await client.post("/auth/refresh", json={"refresh_token": token})


# --- register -------------------------------------------------------------------------------------


async def test_register_returns_the_user(client):
    email = new_email("new.person")
    response = await client.post(
        "/auth/register", json={"email": email.upper(), "password": "long-enough", "full_name": "Ada Lovelace"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == email.lower()
    assert body["full_name"] == "Ada Lovelace"
    assert body["role"] == "customer"
    assert body["is_active"] is True
    uuid.UUID(body["id"])
    assert body["created_at"].endswith(("Z", "+00:00"))


async def test_register_accepts_password_lengths_8_and_128(client):
    for password in ("p" * 8, "p" * 128):
        email = new_email()
        response = await client.post("/auth/register", json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        assert (await client.post("/auth/login", data={"username": email, "password": password})).status_code == 200


async def test_register_duplicate_email_differing_in_case_is_409(client):
    email = new_email()
    assert (await client.post("/auth/register", json={"email": email, "password": "password-1"})).status_code == 201
    response = await client.post("/auth/register", json={"email": email.upper(), "password": "password-2"})
    body = assert_problem(response, 409)
    assert "email" in body["detail"].lower()
    # The first account keeps its password.
    await login(client, email, "password-1")


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"password": "p" * 7}, ["body", "password"]),
        ({"password": "p" * 129}, ["body", "password"]),
        ({"email": "not-an-email"}, ["body", "email"]),
        ({"email": "a@b"}, ["body", "email"]),
        ({"role": "admin"}, ["body", "role"]),
        ({"is_active": False}, ["body", "is_active"]),
        ({"full_name": "bell\x07"}, ["body", "full_name"]),
        ({"full_name": "evil\u202etxt.exe"}, ["body", "full_name"]),
        ({"full_name": "two\u2028lines"}, ["body", "full_name"]),
        ({"full_name": "next\x85line"}, ["body", "full_name"]),
        ({"full_name": "\ufeffbom"}, ["body", "full_name"]),
        ({"full_name": "private\ue000use"}, ["body", "full_name"]),
        ({"full_name": "unassigned\U000e0080"}, ["body", "full_name"]),
    ],
    ids=[
        "password-7",
        "password-129",
        "bad-email",
        "no-tld",
        "role",
        "is_active",
        "control-char-name",
        "bidi-override-name",
        "line-separator-name",
        "c1-name",
        "bom-name",
        "private-use-name",
        "unassigned-name",
    ],
)
async def test_register_rejects_invalid_bodies(client, changes, loc):
    body = {"email": new_email(), "password": "long-enough-pass", **changes}
    problem = assert_problem(await client.post("/auth/register", json=body), 422)
    assert loc in [error["loc"] for error in problem["errors"]]
    # Nothing was created: the same email can still register.
    if "email" not in changes:
        retry = await client.post("/auth/register", json={"email": body["email"], "password": "long-enough-pass"})
        assert retry.status_code == 201


async def test_register_missing_fields_is_422(client):
    problem = assert_problem(await client.post("/auth/register", json={}), 422)
    assert {tuple(e["loc"]) for e in problem["errors"]} == {("body", "email"), ("body", "password")}


# --- login ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "registered_as",
    ["x-{tag}@xn--exmple-cua.com", "X-{tag}@EXÄMPLE.COM", " x-{tag}@exa\u0308mple.com ", "x-{tag}@exämple.com"],
    ids=["idna", "upper-case", "decomposed-with-spaces", "canonical"],
)
async def test_an_email_logs_in_with_the_spelling_it_registered_with_and_every_other(client, registered_as):
    tag = uuid.uuid4().hex[:8]
    spelling = registered_as.format(tag=tag)
    response = await client.post("/auth/register", json={"email": spelling, "password": "long-enough-pass"})
    assert response.status_code == 201, response.text
    assert response.json()["email"] == f"x-{tag}@exämple.com"
    for other in ["x-{tag}@xn--exmple-cua.com", "X-{tag}@EXÄMPLE.COM", "x-{tag}@exa\u0308mple.com", registered_as]:
        login = await client.post(
            "/auth/login", data={"username": other.format(tag=tag), "password": "long-enough-pass"}
        )
        assert login.status_code == 200, (other, login.text)
    again = await client.post("/auth/register", json={"email": f"X-{tag}@xn--exmple-cua.com", "password": "x" * 8})
    assert_problem(again, 409)


async def test_login_returns_a_bearer_pair(client, customer):
    response = await client.post("/auth/login", data={"username": customer.email, "password": customer.password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == TOKEN_FIELDS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_token"] != customer.refresh_token
    me = await client.get("/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == customer.id


async def test_login_email_is_case_insensitive_and_trimmed(client, customer):
    await login(client, f"  {customer.email.upper()} ", customer.password)


async def test_login_failures_are_indistinguishable(client, admin, register):
    known = await register()
    inactive = await register()
    deactivated = await client.patch(f"/users/{inactive.id}", json={"is_active": False}, headers=admin.headers)
    assert deactivated.status_code == 200

    attempts = {
        "unknown email": (new_email(), known.password),
        "wrong password": (known.email, "wrong-password"),
        "inactive user": (inactive.email, inactive.password),
    }
    bodies = {}
    for case, (username, password) in attempts.items():
        response = await client.post("/auth/login", data={"username": username, "password": password})
        body = assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
        body.pop("request_id")
        bodies[case] = body
    assert bodies["unknown email"] == bodies["wrong password"] == bodies["inactive user"]


@pytest.mark.parametrize(
    "username",
    [
        "user\x00@example.com",
        "x" * 5000 + "@example.com",
        "not an email",
        "user\u202e@example.com",
        "user@exa\u2028mple.com",
        "\ufeffuser@example.com",
        "us\x85er@example.com",
        "user\ue000@example.com",
    ],
    ids=["nul-byte", "huge", "not-an-email", "bidi-override", "line-separator", "bom", "c1", "private-use"],
)
async def test_login_with_unusable_username_is_plain_401(client, username):
    response = await client.post("/auth/login", data={"username": username, "password": "whatever-pass"})
    assert_problem(response, 401)


async def test_login_with_huge_password_is_401_not_500(client, customer):
    response = await client.post("/auth/login", data={"username": customer.email, "password": "p" * 10_000})
    assert_problem(response, 401)


async def test_login_missing_fields_is_422(client):
    problem = assert_problem(await client.post("/auth/login", data={"username": "a@example.com"}), 422)
    assert ["body", "password"] in [error["loc"] for error in problem["errors"]]


async def test_login_wants_a_form_not_json(client, customer):
    response = await client.post("/auth/login", json={"username": customer.email, "password": customer.password})
    assert_problem(response, 422)


async def test_login_upgrades_a_hash_made_with_other_parameters(app, client, customer):
    old_hash = Argon2Hasher(time_cost=3, memory_cost=19456, parallelism=1).hash(customer.password)
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get_by_email(email=customer.email)
        user.password_hash = old_hash
        await uow.commit()

    await login(client, customer.email, customer.password)

    async with app.state.container.unit_of_work() as uow:
        stored = (await uow.users.get_by_email(email=customer.email)).password_hash
    assert stored != old_hash
    settings = app.state.container.settings
    params = extract_parameters(stored)
    assert (params.time_cost, params.memory_cost, params.parallelism) == (
        settings.argon2_time_cost,
        settings.argon2_memory_kib,
        settings.argon2_parallelism,
    )
    assert stored.startswith("$argon2id$")
    assert (await app.state.container.hasher.verify(customer.password, stored))[0]
    await login(client, customer.email, customer.password)


async def test_login_keeps_a_current_hash(app, client, customer):
    async with app.state.container.unit_of_work() as uow:
        before = (await uow.users.get_by_email(email=customer.email)).password_hash
    await login(client, customer.email, customer.password)
    async with app.state.container.unit_of_work() as uow:
        assert (await uow.users.get_by_email(email=customer.email)).password_hash == before


# --- refresh --------------------------------------------------------------------------------------


async def test_refresh_returns_a_new_pair_and_spends_the_old_token(client, customer):
    response = await refresh(client, customer.refresh_token)
    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == TOKEN_FIELDS
    assert pair["token_type"] == "bearer"
    assert pair["refresh_token"] != customer.refresh_token
    assert pair["access_token"] != customer.access_token
    assert (await client.get("/users/me", headers=bearer(pair["access_token"]))).status_code == 200
    # The new refresh token rotates again.
    again = await refresh(client, pair["refresh_token"])
    assert again.status_code == 200
    assert (await client.get("/users/me", headers=bearer(again.json()["access_token"]))).status_code == 200


async def test_replaying_a_spent_refresh_token_revokes_the_family(client, register):
    victim = await register()
    other_session = await login(client, victim.email, victim.password)
    newest = (await refresh(client, victim.refresh_token)).json()

    replay = await refresh(client, victim.refresh_token)
    assert_problem(replay, 401)
    assert replay.headers["www-authenticate"] == "Bearer"

    # Every token of that login session is dead: the newest refresh token and both access tokens.
    assert_problem(await refresh(client, newest["refresh_token"]), 401)
    assert_problem(await client.get("/users/me", headers=bearer(newest["access_token"])), 401)
    assert_problem(await client.get("/users/me", headers=victim.headers), 401)
    # Another login session of the same user is not part of the family.
    assert (await client.get("/users/me", headers=bearer(other_session["access_token"]))).status_code == 200
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200


async def test_concurrent_use_of_one_refresh_token_yields_one_pair_at_most(app, client, customer):
    async with http_client(app) as first, http_client(app) as second:
        responses = await asyncio.gather(
            refresh(first, customer.refresh_token), refresh(second, customer.refresh_token)
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 401]
    # The loser looked like a replay, so the winner's new tokens were revoked with the family.
    winner = next(response for response in responses if response.status_code == 200).json()
    async with http_client(app) as http:
        assert_problem(await refresh(http, winner["refresh_token"]), 401)


@pytest.mark.parametrize("token", ["not-a-token", "x" * 256], ids=["garbage", "max-length"])
async def test_refresh_with_an_unknown_token_is_401(client, token):
    assert_problem(await refresh(client, token), 401)


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 257}, {"refresh_token": "t", "extra": 1}]
)
async def test_refresh_with_a_malformed_body_is_422(client, body):
    assert_problem(await client.post("/auth/refresh", json=body), 422)


async def test_refresh_for_a_deactivated_user_is_401(client, admin, customer):
    assert (await client.patch(f"/users/{customer.id}", json={"is_active": False}, headers=admin.headers)).is_success
    assert_problem(await refresh(client, customer.refresh_token), 401)


# --- logout ---------------------------------------------------------------------------------------


async def test_logout_ends_only_that_session(client, customer):
    second = await login(client, customer.email, customer.password)

    response = await client.post(
        "/auth/logout", json={"refresh_token": customer.refresh_token}, headers=customer.headers
    )
    assert response.status_code == 204
    assert response.content == b""

    assert_problem(await client.get("/users/me", headers=customer.headers), 401)
    assert_problem(await refresh(client, customer.refresh_token), 401)
    assert (await client.get("/users/me", headers=bearer(second["access_token"]))).status_code == 200
    assert (await refresh(client, second["refresh_token"])).status_code == 200


async def test_logout_needs_a_bearer_token(client, customer):
    response = await client.post("/auth/logout", json={"refresh_token": customer.refresh_token})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await refresh(client, customer.refresh_token)).status_code == 200


async def test_logout_with_someone_elses_refresh_token_leaves_their_session_alone(client, register):
    alice, bob = await register(), await register()
    response = await client.post("/auth/logout", json={"refresh_token": bob.refresh_token}, headers=alice.headers)
    assert response.status_code == 204
    assert_problem(await client.get("/users/me", headers=alice.headers), 401)
    assert (await client.get("/users/me", headers=bob.headers)).status_code == 200
    assert (await refresh(client, bob.refresh_token)).status_code == 200


async def test_logout_with_a_refresh_token_of_another_own_session_ends_both(client, customer):
    other = await login(client, customer.email, customer.password)
    response = await client.post(
        "/auth/logout", json={"refresh_token": other["refresh_token"]}, headers=customer.headers
    )
    assert response.status_code == 204
    assert_problem(await client.get("/users/me", headers=customer.headers), 401)
    assert_problem(await client.get("/users/me", headers=bearer(other["access_token"])), 401)
    assert_problem(await refresh(client, other["refresh_token"]), 401)


async def test_logout_rejects_unknown_fields(client, customer):
    body = {"refresh_token": customer.refresh_token, "everywhere": True}
    assert_problem(await client.post("/auth/logout", json=body, headers=customer.headers), 422)
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200


async def test_concurrent_registrations_of_one_email_create_one_account(app, client):
    email = new_email("race")
    bodies = [{"email": email, "password": "password-one"}, {"email": email.upper(), "password": "password-two"}]
    async with http_client(app) as first, http_client(app) as second:
        responses = await asyncio.gather(
            first.post("/auth/register", json=bodies[0]), second.post("/auth/register", json=bodies[1])
        )
    assert sorted(response.status_code for response in responses) == [201, 409]
    assert_problem(next(response for response in responses if response.status_code == 409), 409)
    winner = bodies[[response.status_code for response in responses].index(201)]
    await login(client, email, winner["password"])


@pytest.mark.parametrize("change", ["password", "deactivation"])
async def test_a_login_racing_a_revoking_change_gets_no_surviving_session(app, customer, change):
    """A change that revokes every session commits while a login with the old state is in flight.

    The login must not end up with a session the change missed: it waits for the change and fails.
    """
    async with app.state.container.unit_of_work() as uow:
        user = await uow.users.get_for_update(uuid.UUID(customer.id))
        async with http_client(app) as http:
            pending = asyncio.create_task(
                http.post("/auth/login", data={"username": customer.email, "password": customer.password})
            )
            await asyncio.sleep(0.3)  # the login has read the user and is waiting for the row
            if change == "password":
                user.password_hash = await app.state.container.hasher.hash("a-new-password-123")
            else:
                user.is_active = False
            await uow.login_sessions.revoke_all_for_user(user_id=user.id, now=datetime.now(UTC), reason=change)
            await uow.commit()
            response = await pending
    assert_problem(response, 401)
