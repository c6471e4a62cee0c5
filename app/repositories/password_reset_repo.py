import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import PasswordResetToken
from app.repositories.rowcount import rowcount


class PasswordResetRepository:
    """Password-reset tokens, kept only as their SHA-256."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: PasswordResetToken) -> None:
        self._session.add(token)
        await self._session.flush()

    async def get(self, *, token_hash: str) -> PasswordResetToken | None:
        return await self._session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash))

    async def spend(self, *, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark the token used; False when it was already spent (a replay, or a concurrent confirmation)."""
        result = await self._session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.id == token_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1

    async def spend_all_for_user(self, *, user_id: uuid.UUID, now: datetime) -> None:
        """Spend every open token of the user: a changed password kills the links sent before."""
        await self._session.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None:
        await self._session.execute(
            delete(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id)
            .execution_options(synchronize_session=False)
        )

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        """Delete up to `limit` tokens past their lifetime (spent or not); returns how many went."""
        batch = (
            select(PasswordResetToken.id)
            .where(PasswordResetToken.expires_at <= now)
            .order_by(PasswordResetToken.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            delete(PasswordResetToken)
            .where(PasswordResetToken.id.in_(batch))
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)
