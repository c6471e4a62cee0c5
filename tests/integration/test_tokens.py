"""Access-token checks: every forged, confused, expired or revoked token is a 401 problem."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.conftest import assert_problem

REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "type", "sid"]


@pytest.fixture(autouse=True)
def _never_a_password_hash(response_bodies):
    yield
    assert not [body for body in response_bodies if "$argon2" in body]


@pytest.fixture
def signing_key(app) -> str:
    return app.state.container.settings.jwt_secret_key.get_secret_value()


def claims_of(account) -> dict[str, Any]:
    """The claims of a real access token, as a template for forged ones."""
    return jwt.decode(account.access_token, options={"verify_signature": False})


def sign(claims: dict[str, Any], key: str, *, algorithm: str = "HS256", headers: dict[str, Any] | None = None) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def assert_rejected(client, token: str) -> None:
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_well_forged_copy_is_accepted(client, customer, signing_key):
    """The control case: the forging helpers make valid tokens, so each rejection below is meaningful."""
    claims = claims_of(customer) | {"jti": uuid.uuid4().hex}
    response = await client.get("/users/me", headers={"Authorization": f"Bearer {sign(claims, signing_key)}"})
    assert response.status_code == 200
    assert response.json()["id"] == customer.id


async def test_issued_tokens_carry_the_required_claims(app, customer):
    header = jwt.get_unverified_header(customer.access_token)
    claims = claims_of(customer)
    assert header["alg"] == "HS256"
    assert set(REQUIRED_CLAIMS) <= set(claims)
    assert claims["type"] == "access"
    assert claims["sub"] == customer.id
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["iss"] == app.state.container.settings.jwt_issuer
    assert claims["aud"] == app.state.container.settings.jwt_audience


async def test_alg_none_is_refused(client, customer):
    await assert_rejected(client, unsigned(claims_of(customer)))


async def test_wrong_key_is_refused(client, customer):
    await assert_rejected(client, sign(claims_of(customer), "another-key-that-is-long-enough-0123456789"))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_other_algorithm_with_the_right_key_is_refused(client, customer, signing_key):
    await assert_rejected(client, sign(claims_of(customer), signing_key, algorithm="HS512"))


async def test_expired_token_is_refused(client, customer, signing_key):
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = claims_of(customer) | {"iat": past, "exp": past + timedelta(minutes=15)}
    await assert_rejected(client, sign(claims, signing_key))


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": 10**20},
        {"exp": 1e300},
        {"exp": 2**63},
        {"iat": -(10**20)},
        {"nbf": -(10**20)},
        {"exp": 10**20, "iat": 0},
    ],
    ids=["exp-1e20", "exp-float", "exp-2-63", "iat-far-past", "nbf-far-past", "exp-and-iat"],
)
async def test_out_of_range_claims_signed_with_the_real_key_are_refused(client, customer, signing_key, changes):
    await assert_rejected(client, sign(claims_of(customer) | changes, signing_key))


@pytest.mark.parametrize(
    "header",
    [{"kid": "1"}, {"jku": "https://evil.example/keys.json"}, {"x5u": "https://evil.example/cert.pem"}],
    ids=["kid", "jku", "x5u"],
)
async def test_key_pointing_headers_are_refused(client, customer, signing_key, header):
    await assert_rejected(client, sign(claims_of(customer), signing_key, headers=header))


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
async def test_each_required_claim_is_required(client, customer, signing_key, claim):
    claims = claims_of(customer)
    del claims[claim]
    await assert_rejected(client, sign(claims, signing_key))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"type": "refresh"},
        {"sid": str(uuid.uuid4())},
        {"sub": str(uuid.uuid4())},
        {"sub": "not-a-uuid"},
        {"sid": "not-a-uuid"},
        {"sub": 12345},
    ],
    ids=["wrong-iss", "wrong-aud", "type-refresh", "unknown-session", "other-sub", "bad-sub", "bad-sid", "int-sub"],
)
async def test_wrong_claim_values_are_refused(client, customer, signing_key, changes):
    await assert_rejected(client, sign(claims_of(customer) | changes, signing_key))


async def test_a_session_of_another_user_is_refused(client, register, signing_key):
    alice, bob = await register(), await register()
    # Alice's id with Bob's live session id.
    claims = claims_of(bob) | {"sub": alice.id}
    await assert_rejected(client, sign(claims, signing_key))


async def test_refresh_token_is_not_an_access_token(client, customer):
    await assert_rejected(client, customer.refresh_token)


async def test_access_token_is_not_a_refresh_token(client, customer):
    response = await client.post("/auth/refresh", json={"refresh_token": customer.access_token[:256]})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer a.b", "Bearer \u00e9t\u00e9"],
    ids=["empty", "scheme-only", "scheme-space", "basic", "garbage", "two-parts", "non-ascii"],
)
async def test_malformed_authorization_headers_are_401(client, authorization):
    response = await client.get("/users/me", headers={"Authorization": authorization.encode()})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_no_token_is_401(client):
    response = await client.get("/users/me")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
