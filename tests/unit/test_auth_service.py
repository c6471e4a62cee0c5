"""auth_service rules, driven through in-memory fakes: results, errors raised, and what was committed."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.config import Settings
from app.core.errors import AuthenticationError, ConflictError, RateLimitedError
from app.core.security import TokenCodec
from app.models import Role, User
from app.schemas.user import UserCreate
from app.services.auth_service import LOGIN_FAILED, AuthService
from app.services.caller import Caller
from tests.unit.fakes import FakeHasher, FakeReadSide, FakeThrottle, FakeUnitOfWork, make_user

KEY = "unit-test-signing-key-0123456789abcdef"
TOKENS = TokenCodec(Settings(_env_file=None, environment="test", jwt_secret_key=KEY), KEY)


@pytest.fixture
def tokens() -> TokenCodec:
    return TOKENS


def _auth(uow: FakeUnitOfWork, hasher: FakeHasher | None = None, throttle: FakeThrottle | None = None) -> AuthService:
    """The service over these fakes; the same unit of work is entered for every transaction."""
    return AuthService(
        lambda: uow,
        FakeReadSide(uow.store),
        hasher=hasher or FakeHasher(uow),
        tokens=TOKENS,
        throttle=throttle or FakeThrottle(),
    )


@pytest.fixture
def throttle() -> FakeThrottle:
    return FakeThrottle()


# --- register -------------------------------------------------------------------------------------


async def test_register_creates_an_active_customer_with_a_normalised_email(uow, hasher):
    user = await _auth(uow, hasher).register(
        UserCreate(email="New.Person@Example.COM", password="long-enough", full_name="New")
    )
    assert (user.email, user.role, user.is_active) == ("new.person@example.com", Role.CUSTOMER, True)
    assert user.full_name == "New"
    assert uow.users.rows[user.id].password_hash == "hashed:long-enough"
    assert uow.commits == 1
    assert hasher.inside_transaction == []


async def test_register_duplicate_email_is_a_conflict_without_commit(uow, hasher):
    make_user(uow, email="taken@example.com")
    with pytest.raises(ConflictError):
        await _auth(uow, hasher).register(UserCreate(email="TAKEN@example.com", password="long-enough"))
    assert not uow.committed
    assert len(uow.users.rows) == 1


async def test_register_losing_a_race_on_the_unique_email_is_a_conflict(uow, hasher):
    uow.users.lose_race_on_add = True
    with pytest.raises(ConflictError):
        await _auth(uow, hasher).register(UserCreate(email="race@example.com", password="long-enough"))
    assert not uow.committed


# --- login ----------------------------------------------------------------------------------------


async def login(uow, hasher, tokens, throttle, email: str, password: str):
    return await _auth(uow, hasher, throttle).login(username=email, password=password)


@pytest.mark.parametrize("spelling", ["x@xn--exmple-cua.com", "X@EXÄMPLE.COM", " x@exämple.com "])
async def test_every_spelling_of_a_registered_email_logs_in(uow, hasher, tokens, throttle, spelling):
    await _auth(uow, hasher).register(UserCreate(email="x@xn--exmple-cua.com", password="long-enough"))
    pair = await login(uow, hasher, tokens, throttle, spelling, "long-enough")
    assert pair.access_token
    assert throttle.failures == []


async def test_login_opens_a_session_and_stores_only_the_refresh_token_hash(uow, hasher, tokens, throttle):
    user = make_user(uow, email="ann@example.com")
    pair = await login(uow, hasher, tokens, throttle, " Ann@Example.com ", "right-password")

    assert pair.token_type == "bearer"
    assert pair.expires_in == 15 * 60
    claims = tokens.decode_access(pair.access_token)
    assert claims.user_id == user.id
    (login_session,) = uow.login_sessions.of_user(user.id)
    assert claims.session_id == login_session.id
    (stored,) = uow.login_sessions.tokens.values()
    assert stored.token_hash == tokens.hash_refresh_token(pair.refresh_token) != pair.refresh_token
    assert stored.expires_at == login_session.expires_at
    assert uow.commits == 1
    assert throttle.failures == [] and throttle.resets == ["ann@example.com"]
    assert hasher.inside_transaction == []
    # The user row is locked while the session is opened, as password changes and deactivation lock it.
    assert uow.users.locked == [user.id]


@pytest.mark.parametrize(
    ("stored", "password"),
    [
        (None, "right-password"),
        ({"email": "ann@example.com"}, "wrong-password"),
        ({"email": "ann@example.com", "is_active": False}, "right-password"),
    ],
    ids=["unknown-email", "wrong-password", "inactive-user"],
)
async def test_login_failures_look_alike_record_a_failure_and_commit_nothing(
    uow, hasher, tokens, throttle, stored, password
):
    if stored:
        make_user(uow, **stored)
    with pytest.raises(AuthenticationError) as caught:
        await login(uow, hasher, tokens, throttle, "ann@example.com", password)
    assert caught.value.detail == LOGIN_FAILED
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}
    assert throttle.failures == ["ann@example.com"]
    assert throttle.resets == []
    assert not uow.committed
    assert uow.login_sessions.rows == {}
    # Each path pays for one password check, so timing does not tell them apart.
    assert [name for name, _ in hasher.calls] in (["verify"], ["verify_dummy"])


@pytest.mark.parametrize("email", ["nul\x00@example.com", "x" * 400 + "@example.com"], ids=["nul", "too-long"])
async def test_login_with_an_unusable_email_is_a_plain_failure(uow, hasher, tokens, throttle, email):
    with pytest.raises(AuthenticationError):
        await login(uow, hasher, tokens, throttle, email, "whatever")
    assert [name for name, _ in hasher.calls] == ["verify_dummy"]
    assert len(throttle.failures) == 1


async def test_login_while_locked_out_checks_nothing(uow, hasher, tokens, throttle):
    make_user(uow, email="ann@example.com")
    throttle.locked_for = 42
    with pytest.raises(RateLimitedError) as caught:
        await login(uow, hasher, tokens, throttle, "ann@example.com", "right-password")
    assert caught.value.headers == {"Retry-After": "42"}
    assert hasher.calls == []
    assert throttle.attempts == []
    assert not uow.committed


async def test_login_upgrades_an_outdated_hash(uow, hasher, tokens, throttle):
    user = make_user(uow, email="ann@example.com", password_hash="old:right-password")
    await login(uow, hasher, tokens, throttle, "ann@example.com", "right-password")
    assert user.password_hash == "hashed:right-password"
    assert uow.commits == 1


@pytest.mark.parametrize(
    "change", [{"is_active": False}, {"password_hash": "hashed:changed-meanwhile"}], ids=["deactivated", "new-password"]
)
async def test_login_refuses_an_account_changed_during_the_password_check(uow, tokens, throttle, change):
    user = make_user(uow, email="ann@example.com")

    class InterleavedHasher(FakeHasher):
        async def verify(self, password, password_hash):
            # Another request commits while argon2 runs: the stored row is replaced.
            values = {column: getattr(user, column) for column in ("id", "email", "role", "is_active", "password_hash")}
            uow.users.rows[user.id] = User(**(values | change))
            return await super().verify(password, password_hash)

    with pytest.raises(AuthenticationError):
        await login(uow, InterleavedHasher(uow), tokens, throttle, "ann@example.com", "right-password")
    assert not uow.committed
    assert uow.login_sessions.rows == {}


# --- refresh --------------------------------------------------------------------------------------


@pytest.fixture
async def logged_in(uow, hasher, tokens, throttle):
    user = make_user(uow, email="ann@example.com")
    pair = await login(uow, hasher, tokens, throttle, "ann@example.com", "right-password")
    uow.commits = 0
    return user, pair


async def test_refresh_spends_the_token_and_issues_a_pair_in_the_same_session(uow, tokens, logged_in):
    _, pair = logged_in
    fresh = await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    assert fresh.refresh_token != pair.refresh_token
    assert tokens.decode_access(fresh.access_token).session_id == tokens.decode_access(pair.access_token).session_id
    old = await uow.login_sessions.get_refresh_token(token_hash=tokens.hash_refresh_token(pair.refresh_token))
    assert old.used_at is not None
    assert uow.commits == 1


async def test_refresh_reuse_revokes_the_family_and_commits_the_revocation(uow, tokens, logged_in):
    user, pair = logged_in
    await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    uow.commits = 0
    with pytest.raises(AuthenticationError):
        await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    (login_session,) = uow.login_sessions.of_user(user.id)
    assert login_session.revoked_reason == "refresh-reuse"
    assert uow.commits == 1


async def test_refresh_with_an_unknown_token_commits_nothing(uow, tokens, logged_in):
    with pytest.raises(AuthenticationError):
        await _auth(uow).refresh_tokens(refresh_token="never-issued")
    assert not uow.committed


async def test_refresh_in_a_revoked_session_commits_nothing(uow, tokens, logged_in):
    user, pair = logged_in
    await uow.login_sessions.revoke_all_for_user(user_id=user.id, now=datetime.now(UTC), reason="logout")
    with pytest.raises(AuthenticationError):
        await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    assert not uow.committed


async def test_refresh_after_the_session_expired_is_refused(uow, tokens, logged_in):
    user, pair = logged_in
    (login_session,) = uow.login_sessions.of_user(user.id)
    login_session.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(AuthenticationError):
        await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    assert not uow.committed


async def test_refresh_for_a_deactivated_user_is_refused(uow, tokens, logged_in):
    user, pair = logged_in
    user.is_active = False
    with pytest.raises(AuthenticationError):
        await _auth(uow).refresh_tokens(refresh_token=pair.refresh_token)
    assert not uow.committed


# --- logout and authenticate ----------------------------------------------------------------------


async def test_logout_revokes_the_callers_session(uow, reads, tokens, logged_in):
    _, pair = logged_in
    principal = await _auth(uow).authenticate(access_token=pair.access_token)
    await _auth(uow).logout(principal, refresh_token=pair.refresh_token)
    assert uow.login_sessions.rows[principal.session_id].revoked_reason == "logout"
    assert uow.commits == 1
    with pytest.raises(AuthenticationError):
        await _auth(uow).authenticate(access_token=pair.access_token)


async def test_logout_leaves_another_users_session_alone(uow, reads, hasher, tokens, throttle, logged_in):
    _, pair = logged_in
    make_user(uow, email="bob@example.com")
    bob = await login(uow, hasher, tokens, throttle, "bob@example.com", "right-password")
    principal = await _auth(uow).authenticate(access_token=pair.access_token)
    await _auth(uow).logout(principal, refresh_token=bob.refresh_token)
    assert await _auth(uow).authenticate(access_token=bob.access_token)


async def test_authenticate_returns_the_caller(uow, reads, tokens, logged_in):
    user, pair = logged_in
    principal = await _auth(uow).authenticate(access_token=pair.access_token)
    session_id = tokens.decode_access(pair.access_token).session_id
    assert principal == Caller(id=user.id, role=Role.CUSTOMER, session_id=session_id)
    assert not uow.committed


async def test_authenticate_profile_gives_the_caller_and_their_account(uow, reads, tokens, logged_in):
    user, pair = logged_in
    caller, profile = await _auth(uow).authenticate_profile(access_token=pair.access_token)
    assert caller == await _auth(uow).authenticate(access_token=pair.access_token)
    assert (profile.id, profile.email) == (user.id, user.email)
    await _auth(uow).logout(caller, refresh_token=pair.refresh_token)
    with pytest.raises(AuthenticationError):
        await _auth(uow).authenticate_profile(access_token=pair.access_token)


async def test_authenticate_refuses_a_token_of_an_unknown_session(uow, reads, tokens, logged_in):
    user, _ = logged_in
    forged = tokens.issue_access(user_id=user.id, session_id=uuid.uuid4(), now=datetime.now(UTC))
    with pytest.raises(AuthenticationError):
        await _auth(uow).authenticate(access_token=forged)
