import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import LoginSession, RefreshToken
from app.repositories.rowcount import rowcount


class LoginSessionRepository:
    """Login sessions and the refresh tokens issued within them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, session_id: uuid.UUID) -> LoginSession | None:
        return await self._session.get(LoginSession, session_id)

    async def add(self, login_session: LoginSession) -> LoginSession:
        self._session.add(login_session)
        await self._session.flush()
        return login_session

    async def add_refresh_token(self, token: RefreshToken) -> RefreshToken:
        self._session.add(token)
        await self._session.flush()
        return token

    async def get_refresh_token(self, *, token_hash: str) -> RefreshToken | None:
        return await self._session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash))

    async def spend_refresh_token(self, *, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark a refresh token used; False when it was already spent (a concurrent or replayed use)."""
        result = await self._session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))

    async def revoke(self, *, session_id: uuid.UUID, now: datetime, reason: str) -> None:
        await self._session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def revoke_all_for_user(self, *, user_id: uuid.UUID, now: datetime, reason: str) -> None:
        await self._session.execute(
            update(LoginSession)
            .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )

    async def delete_all_for_user(self, *, user_id: uuid.UUID) -> None:
        """Delete every login session of the user with its refresh tokens: their tokens answer 401 from now on."""
        await self._session.execute(
            delete(LoginSession).where(LoginSession.user_id == user_id).execution_options(synchronize_session=False)
        )

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        """Delete up to `limit` login sessions past their end, with their refresh tokens; returns how many sessions.

        Such a session can no longer be refreshed, and its access tokens outlived none of it. SKIP LOCKED
        (PostgreSQL) lets concurrent cleaners take different sessions; SQLite has a single writer and ignores it.
        """
        batch = list(
            await self._session.scalars(
                select(LoginSession.id)
                .where(LoginSession.expires_at <= now)
                .order_by(LoginSession.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not batch:
            return 0
        await self._session.execute(
            delete(RefreshToken).where(RefreshToken.session_id.in_(batch)).execution_options(synchronize_session=False)
        )
        result = await self._session.execute(
            delete(LoginSession).where(LoginSession.id.in_(batch)).execution_options(synchronize_session=False)
        )
        return rowcount(result)
