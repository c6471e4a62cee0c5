"""Registration, login, refresh-token rotation, logout, and the per-request token check."""

import uuid
from datetime import UTC, datetime

from app.core.emails import canonical_email
from app.core.errors import AuthenticationError, ConflictError, RateLimitedError
from app.core.security import TokenCodec
from app.models import LoginSession, RefreshToken, Role, User
from app.schemas.auth import TokenPairRead
from app.schemas.user import UserCreate, UserRead
from app.services.caller import Caller
from app.services.outbox import SILENT, Outbox
from app.services.ports import Hasher, ReadSide, Throttle, UnitOfWork, UnitOfWorkFactory

# One message for an unknown email, a wrong password and an inactive account.
LOGIN_FAILED = "Incorrect email or password."
REFRESH_FAILED = "The refresh token is not valid."
EMAIL_TAKEN = "An account with this email already exists."


class AuthService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        reads: ReadSide,
        *,
        hasher: Hasher,
        tokens: TokenCodec,
        throttle: Throttle,
        outbox: Outbox = SILENT,
    ) -> None:
        self._uow = uow
        self._outbox = outbox
        self._reads = reads
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle

    async def register(self, data: UserCreate) -> UserRead:
        """A new active customer. The email is stored in its canonical spelling (app/core/emails.py)."""
        email = canonical_email(data.email) or data.email.strip().lower()
        # Hashed before the transaction opens: argon2 never holds a connection or SQLite's write lock.
        password_hash = await self._hasher.hash(data.password)
        now = datetime.now(UTC)
        user = User(
            id=uuid.uuid4(),
            email=email,
            full_name=data.full_name,
            password_hash=password_hash,
            role=Role.CUSTOMER,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            # False also when a concurrent registration of the same email won.
            if not await uow.users.add(user):
                raise ConflictError(EMAIL_TAKEN)
            registered = UserRead.model_validate(user)
            await uow.outbox.add(self._outbox.user_registered(registered))
            await uow.commit()
        return registered

    async def login(self, *, username: str, password: str) -> TokenPairRead:
        """Count the attempt, check the password outside any transaction, then open a session in one short one."""
        email = canonical_email(username)
        # Attempts are counted under the canonical email, or what was typed when it is no address at all.
        counted_as = email or username.strip().lower()
        retry_after = await self._throttle.acquire(counted_as)
        if retry_after is not None:
            raise RateLimitedError("Too many failed logins for this account; try again later.", retry_after=retry_after)
        user = await self._find(email)
        valid, new_hash = await self._check_password(user, password)
        if user is None or not valid or not user.is_active:
            raise AuthenticationError(LOGIN_FAILED)  # the attempt stays counted against the email

        now = datetime.now(UTC)
        async with self._uow() as uow:
            # Locked: a password change or deactivation committing now would otherwise miss the new session.
            current = await uow.users.get_for_update(user.id)
            # Deactivated, or its password changed, while the password was being checked.
            if current is None or not current.is_active or current.password_hash != user.password_hash:
                raise AuthenticationError(LOGIN_FAILED)
            if new_hash is not None:
                current.password_hash = new_hash
            login_session = await uow.login_sessions.add(
                LoginSession(
                    id=uuid.uuid4(), user_id=current.id, created_at=now, expires_at=now + self._tokens.refresh_ttl
                )
            )
            pair = await self._issue_pair(uow, user_id=current.id, login_session=login_session, now=now)
            await uow.commit()
        await self._throttle.reset(counted_as)
        return pair

    async def _find(self, email: str | None) -> User | None:
        # Not every username is an address: such a login is simply unknown, and still pays for a password check.
        if email is None:
            return None
        async with self._uow() as uow:
            return await uow.users.get_by_email(email=email)

    async def _check_password(self, user: User | None, password: str) -> tuple[bool, str | None]:
        if user is None or user.password_hash is None:
            # The same argon2 work as for a real account, so timing does not tell whether the email exists.
            await self._hasher.verify_dummy(password)
            return False, None
        return await self._hasher.verify(password, user.password_hash)

    async def refresh_tokens(self, *, refresh_token: str) -> TokenPairRead:
        """Rotate: spend the presented token and issue a new pair in the same login session.

        A token that was already spent is taken as stolen: the whole session (its family) is revoked.
        """
        now = datetime.now(UTC)
        tokens = self._tokens
        async with self._uow() as uow:
            stored = await uow.login_sessions.get_refresh_token(token_hash=tokens.hash_refresh_token(refresh_token))
            if stored is None:
                raise AuthenticationError(REFRESH_FAILED)
            login_session = await uow.login_sessions.get(stored.session_id)
            if login_session is None or login_session.revoked_at is not None or login_session.expires_at <= now:
                raise AuthenticationError(REFRESH_FAILED)

            spent = stored.used_at is not None or not await uow.login_sessions.spend_refresh_token(
                token_id=stored.id, now=now
            )
            if spent:
                await uow.login_sessions.revoke(session_id=login_session.id, now=now, reason="refresh-reuse")
                await uow.commit()
                raise AuthenticationError(REFRESH_FAILED)
            if stored.expires_at <= now:
                raise AuthenticationError(REFRESH_FAILED)

            user = await uow.users.get(login_session.user_id)
            if user is None or not user.is_active:
                raise AuthenticationError(REFRESH_FAILED)
            pair = await self._issue_pair(uow, user_id=user.id, login_session=login_session, now=now)
            await uow.commit()
            return pair

    async def logout(self, caller: Caller, *, refresh_token: str) -> None:
        """End the caller's login session, and the presented refresh token's session if it is the caller's."""
        now = datetime.now(UTC)
        async with self._uow() as uow:
            await uow.login_sessions.revoke(session_id=caller.session_id, now=now, reason="logout")
            token_hash = self._tokens.hash_refresh_token(refresh_token)
            stored = await uow.login_sessions.get_refresh_token(token_hash=token_hash)
            if stored is not None and stored.session_id != caller.session_id:
                other = await uow.login_sessions.get(stored.session_id)
                if other is not None and other.user_id == caller.id:
                    await uow.login_sessions.revoke(session_id=other.id, now=now, reason="logout")
            await uow.commit()

    async def authenticate(self, *, access_token: str) -> Caller:
        """Check an access token and, in one query, that its session and its user are still live."""
        claims = self._tokens.decode_access(access_token)
        role = await self._reads.users.live_role(
            user_id=claims.user_id, session_id=claims.session_id, now=datetime.now(UTC)
        )
        if role is None:
            raise AuthenticationError()
        return Caller(id=claims.user_id, role=Role(role), session_id=claims.session_id)

    async def authenticate_profile(self, *, access_token: str) -> tuple[Caller, UserRead]:
        """`authenticate`, and the caller's own account read by the same query."""
        claims = self._tokens.decode_access(access_token)
        found = await self._reads.users.live_profile(
            user_id=claims.user_id, session_id=claims.session_id, now=datetime.now(UTC)
        )
        if found is None:
            raise AuthenticationError()
        role, profile = found
        return Caller(id=claims.user_id, role=Role(role), session_id=claims.session_id), profile

    async def _issue_pair(
        self, uow: UnitOfWork, *, user_id: uuid.UUID, login_session: LoginSession, now: datetime
    ) -> TokenPairRead:
        tokens = self._tokens
        raw_refresh = tokens.new_refresh_token()
        await uow.login_sessions.add_refresh_token(
            RefreshToken(
                id=uuid.uuid4(),
                session_id=login_session.id,
                token_hash=tokens.hash_refresh_token(raw_refresh),
                created_at=now,
                expires_at=login_session.expires_at,
            )
        )
        access = tokens.issue_access(user_id=user_id, session_id=login_session.id, now=now)
        return TokenPairRead(
            access_token=access, refresh_token=raw_refresh, expires_in=int(tokens.access_ttl.total_seconds())
        )
