"""Registration, login, refresh-token rotation, logout, and the per-request token check."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from app.core.errors import AuthenticationError, ConflictError, RateLimitedError
from app.core.rate_limit import LoginThrottle
from app.core.security import PasswordHasher, TokenCodec
from app.models import LoginSession, RefreshToken, Role, User
from app.schemas.auth import TokenPair
from app.schemas.user import UserCreate, UserRead
from app.services.caller import Caller
from app.services.read_side import ReadSide
from app.services.unit_of_work import UnitOfWork

# One message for an unknown email, a wrong password and an inactive account.
LOGIN_FAILED = "Incorrect email or password."
REFRESH_FAILED = "The refresh token is not valid."
EMAIL_TAKEN = "An account with this email already exists."
MAX_EMAIL_LENGTH = 320


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def register(uow: UnitOfWork, hasher: PasswordHasher, data: UserCreate) -> User:
    email = normalize_email(data.email)
    # Hashed before the transaction opens: argon2 never holds a connection or SQLite's write lock.
    password_hash = await hasher.hash(data.password)
    async with uow:
        if await uow.users.get_by_email(email=email) is not None:
            raise ConflictError(EMAIL_TAKEN)
        user = User(
            email=email, full_name=data.full_name, password_hash=password_hash, role=Role.CUSTOMER, is_active=True
        )
        try:
            await uow.users.add(user)
            await uow.commit()
        except IntegrityError as exc:  # a concurrent registration of the same email won
            raise ConflictError(EMAIL_TAKEN) from exc
        return user


async def login(
    uow: UnitOfWork, hasher: PasswordHasher, tokens: TokenCodec, throttle: LoginThrottle, *, email: str, password: str
) -> TokenPair:
    """Count the attempt, check the password outside any transaction, then open a session in one short one."""
    email = normalize_email(email)
    retry_after = await throttle.acquire(email)
    if retry_after is not None:
        raise RateLimitedError("Too many failed logins for this account; try again later.", retry_after=retry_after)

    user = await _find_by_email(uow, email)
    valid, new_hash = await _check_password(hasher, user, password)
    if user is None or not valid or not user.is_active:
        raise AuthenticationError(LOGIN_FAILED)  # the attempt stays counted against the email

    now = datetime.now(UTC)
    async with uow:
        # Locked: a password change or deactivation committing now would otherwise miss the new session.
        current = await uow.users.get_for_update(user.id)
        # Deactivated, or its password changed, while the password was being checked.
        if current is None or not current.is_active or current.password_hash != user.password_hash:
            raise AuthenticationError(LOGIN_FAILED)
        if new_hash is not None:
            current.password_hash = new_hash
        login_session = await uow.sessions.add(
            LoginSession(user_id=current.id, created_at=now, expires_at=now + tokens.refresh_ttl)
        )
        pair = await _issue_pair(uow, tokens, user_id=current.id, login_session=login_session, now=now)
        await uow.commit()
    await throttle.reset(email)
    return pair


async def _find_by_email(uow: UnitOfWork, email: str) -> User | None:
    # Not every username can be an address (a NUL byte would even fail on PostgreSQL): such a
    # login is simply unknown, and still pays for a password check below.
    if len(email) > MAX_EMAIL_LENGTH or not email.isprintable():
        return None
    async with uow:
        return await uow.users.get_by_email(email=email)


async def _check_password(hasher: PasswordHasher, user: User | None, password: str) -> tuple[bool, str | None]:
    if user is None:
        # The same argon2 work as for a real account, so timing does not tell whether the email exists.
        await hasher.verify_dummy(password)
        return False, None
    return await hasher.verify(password, user.password_hash)


async def refresh(uow: UnitOfWork, tokens: TokenCodec, *, refresh_token: str) -> TokenPair:
    """Rotate: spend the presented token and issue a new pair in the same login session.

    A token that was already spent is taken as stolen: the whole session (its family) is revoked.
    """
    now = datetime.now(UTC)
    async with uow:
        stored = await uow.sessions.get_refresh_token(token_hash=tokens.hash_refresh_token(refresh_token))
        if stored is None:
            raise AuthenticationError(REFRESH_FAILED)
        login_session = await uow.sessions.get(stored.session_id)
        if login_session is None or login_session.revoked_at is not None or login_session.expires_at <= now:
            raise AuthenticationError(REFRESH_FAILED)

        if stored.used_at is not None or not await uow.sessions.spend_refresh_token(token_id=stored.id, now=now):
            await uow.sessions.revoke(session_id=login_session.id, now=now, reason="refresh-reuse")
            await uow.commit()
            raise AuthenticationError(REFRESH_FAILED)
        if stored.expires_at <= now:
            raise AuthenticationError(REFRESH_FAILED)

        user = await uow.users.get(login_session.user_id)
        if user is None or not user.is_active:
            raise AuthenticationError(REFRESH_FAILED)
        pair = await _issue_pair(uow, tokens, user_id=user.id, login_session=login_session, now=now)
        await uow.commit()
        return pair


async def logout(uow: UnitOfWork, tokens: TokenCodec, caller: Caller, *, refresh_token: str) -> None:
    """End the caller's login session, and the presented refresh token's session if it is the caller's."""
    now = datetime.now(UTC)
    async with uow:
        await uow.sessions.revoke(session_id=caller.session_id, now=now, reason="logout")
        stored = await uow.sessions.get_refresh_token(token_hash=tokens.hash_refresh_token(refresh_token))
        if stored is not None and stored.session_id != caller.session_id:
            other = await uow.sessions.get(stored.session_id)
            if other is not None and other.user_id == caller.id:
                await uow.sessions.revoke(session_id=other.id, now=now, reason="logout")
        await uow.commit()


async def authenticate(reads: ReadSide, tokens: TokenCodec, *, access_token: str) -> Caller:
    """Check an access token and, in one query, that its session and its user are still live."""
    claims = tokens.decode_access(access_token)
    role = await reads.users.live_role(user_id=claims.user_id, session_id=claims.session_id, now=datetime.now(UTC))
    if role is None:
        raise AuthenticationError()
    return Caller(id=claims.user_id, role=Role(role), session_id=claims.session_id)


async def authenticate_profile(reads: ReadSide, tokens: TokenCodec, *, access_token: str) -> tuple[Caller, UserRead]:
    """`authenticate`, and the caller's own account read by the same query."""
    claims = tokens.decode_access(access_token)
    found = await reads.users.live_profile(user_id=claims.user_id, session_id=claims.session_id, now=datetime.now(UTC))
    if found is None:
        raise AuthenticationError()
    role, profile = found
    return Caller(id=claims.user_id, role=Role(role), session_id=claims.session_id), profile


async def _issue_pair(
    uow: UnitOfWork, tokens: TokenCodec, *, user_id: uuid.UUID, login_session: LoginSession, now: datetime
) -> TokenPair:
    raw_refresh = tokens.new_refresh_token()
    await uow.sessions.add_refresh_token(
        RefreshToken(
            session_id=login_session.id,
            token_hash=tokens.hash_refresh_token(raw_refresh),
            created_at=now,
            expires_at=login_session.expires_at,
        )
    )
    access = tokens.issue_access(user_id=user_id, session_id=login_session.id, now=now)
    return TokenPair(access_token=access, refresh_token=raw_refresh, expires_in=int(tokens.access_ttl.total_seconds()))
