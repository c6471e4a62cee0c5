import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LoginSession, User
from app.repositories.text_search import contains_literal

# Runs on every authenticated request, so the statement is built once, with bound parameters.
_LIVE_BY_SESSION = (
    select(User)
    .join(LoginSession, and_(LoginSession.user_id == User.id, LoginSession.id == bindparam("session_id")))
    .where(
        User.id == bindparam("user_id"),
        User.is_active.is_(True),
        LoginSession.revoked_at.is_(None),
        LoginSession.expires_at > bindparam("now"),
    )
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self._session.get(User, user_id)

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        """The user, row-locked until the transaction ends (PostgreSQL; SQLite's IMMEDIATE
        transactions already run one writer at a time)."""
        return await self._session.scalar(select(User).where(User.id == user_id).with_for_update())

    async def get_by_email(self, *, email: str) -> User | None:
        return await self._session.scalar(select(User).where(User.email == email))

    async def get_live_by_session(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> User | None:
        """The user behind an access token, if its login session and the account are both still live."""
        params = {"user_id": user_id, "session_id": session_id, "now": now}
        return await self._session.scalar(_LIVE_BY_SESSION, params)

    async def list_page(
        self, *, limit: int, after: tuple[datetime, uuid.UUID] | None, email_contains: str | None
    ) -> Sequence[User]:
        """Newest first, keyset on (created_at, id)."""
        query = select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
        if after is not None:
            query = query.where(tuple_(User.created_at, User.id) < tuple_(*after))
        if email_contains:
            query = query.where(contains_literal(User.email, email_contains.lower()))
        return (await self._session.scalars(query)).all()

    async def add(self, user: User) -> User:
        self._session.add(user)
        await self._session.flush()
        return user
