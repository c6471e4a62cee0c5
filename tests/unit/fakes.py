"""In-memory stand-ins for the unit of work, its repositories, the password hasher and the throttle.

They keep the storage contracts the services rely on (unique emails, a refresh token spent once,
revocation by session or user) and record what happened: commits, hashing, failed logins.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.models import LoginSession, RefreshToken, Role, User


class FakeUserRepository:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow
        self.rows: dict[uuid.UUID, User] = {}
        self.lose_race_on_add = False
        self.locked: list[uuid.UUID] = []

    async def get(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        self.locked.append(user_id)
        return self.rows.get(user_id)

    async def get_by_email(self, *, email: str) -> User | None:
        return next((user for user in self.rows.values() if user.email == email), None)

    async def get_live_by_session(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> User | None:
        user = self.rows.get(user_id)
        login_session = self._uow.sessions.rows.get(session_id)
        if user is None or login_session is None or not user.is_active:
            return None
        if login_session.user_id != user_id or login_session.revoked_at is not None or login_session.expires_at <= now:
            return None
        return user

    async def list_page(
        self, *, limit: int, after: tuple[datetime, uuid.UUID] | None, email_contains: str | None
    ) -> Sequence[User]:
        users = sorted(self.rows.values(), key=lambda user: (user.created_at, user.id), reverse=True)
        if after is not None:
            users = [user for user in users if (user.created_at, user.id) < after]
        if email_contains:
            users = [user for user in users if email_contains.lower() in user.email]
        return users[:limit]

    async def add(self, user: User) -> User:
        if self.lose_race_on_add or any(other.email == user.email for other in self.rows.values()):
            raise IntegrityError("INSERT INTO users", {}, Exception("unique constraint uq_users_email"))
        user.id = user.id or uuid.uuid4()
        now = datetime.now(UTC)
        user.created_at = user.created_at or now
        user.updated_at = user.updated_at or now
        user.role = user.role or Role.CUSTOMER
        user.is_active = True if user.is_active is None else user.is_active
        self.rows[user.id] = user
        return user


class FakeSessionRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, LoginSession] = {}
        self.tokens: dict[uuid.UUID, RefreshToken] = {}

    async def get(self, session_id: uuid.UUID) -> LoginSession | None:
        return self.rows.get(session_id)

    async def add(self, login_session: LoginSession) -> LoginSession:
        login_session.id = login_session.id or uuid.uuid4()
        self.rows[login_session.id] = login_session
        return login_session

    async def add_refresh_token(self, token: RefreshToken) -> RefreshToken:
        token.id = token.id or uuid.uuid4()
        self.tokens[token.id] = token
        return token

    async def get_refresh_token(self, *, token_hash: str) -> RefreshToken | None:
        return next((token for token in self.tokens.values() if token.token_hash == token_hash), None)

    async def spend_refresh_token(self, *, token_id: uuid.UUID, now: datetime) -> bool:
        token = self.tokens[token_id]
        if token.used_at is not None:
            return False
        token.used_at = now
        return True

    async def revoke(self, *, session_id: uuid.UUID, now: datetime, reason: str) -> None:
        login_session = self.rows.get(session_id)
        if login_session is not None and login_session.revoked_at is None:
            login_session.revoked_at, login_session.revoked_reason = now, reason

    async def revoke_all_for_user(self, *, user_id: uuid.UUID, now: datetime, reason: str) -> None:
        for login_session in self.rows.values():
            if login_session.user_id == user_id and login_session.revoked_at is None:
                login_session.revoked_at, login_session.revoked_reason = now, reason

    def of_user(self, user_id: uuid.UUID) -> list[LoginSession]:
        return [login_session for login_session in self.rows.values() if login_session.user_id == user_id]


class FakeUnitOfWork:
    """Records `committed`/`commits`, and whether a block is open (`active`), for the services' rules."""

    def __init__(self) -> None:
        self.users = FakeUserRepository(self)
        self.sessions = FakeSessionRepository()
        self.committed = False
        self.commits = 0
        self.active = False

    async def __aenter__(self) -> "FakeUnitOfWork":
        self.active = True
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.active = False

    async def commit(self) -> None:
        assert self.active, "commit outside the unit of work"
        self.commits += 1
        self.committed = True


class FakeHasher:
    """`hashed:<password>` is current; `old:<password>` verifies but asks for a rehash.

    Records, for every call, whether a unit of work was open at that moment.
    """

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.calls: list[tuple[str, bool]] = []

    async def hash(self, password: str) -> str:
        self.calls.append(("hash", self._uow.active))
        return f"hashed:{password}"

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        self.calls.append(("verify", self._uow.active))
        if password_hash == f"hashed:{password}":
            return True, None
        if password_hash == f"old:{password}":
            return True, f"hashed:{password}"
        return False, None

    async def verify_dummy(self, password: str) -> None:
        self.calls.append(("verify_dummy", self._uow.active))

    @property
    def inside_transaction(self) -> list[str]:
        return [name for name, active in self.calls if active]


class FakeThrottle:
    """Counts attempts per email as LoginThrottle does; `locked_for` simulates a lockout."""

    def __init__(self, locked_for: int | None = None) -> None:
        self.locked_for = locked_for
        self.attempts: list[str] = []
        self.resets: list[str] = []

    async def acquire(self, email: str) -> int | None:
        if self.locked_for is not None:
            return self.locked_for
        self.attempts.append(email)
        return None

    async def reset(self, email: str) -> None:
        self.resets.append(email)

    @property
    def failures(self) -> list[str]:
        """Counted attempts that no good login cleared."""
        return [email for email in self.attempts if email not in self.resets]


def make_user(uow: FakeUnitOfWork, *, email: str, password: str = "right-password", **values: Any) -> User:
    """A stored user, as registration would leave it."""
    now = datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        email=email,
        full_name=values.pop("full_name", None),
        password_hash=values.pop("password_hash", f"hashed:{password}"),
        role=values.pop("role", Role.CUSTOMER),
        is_active=values.pop("is_active", True),
        created_at=values.pop("created_at", now),
        updated_at=now,
    )
    uow.users.rows[user.id] = user
    return user
