import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyKey, IdempotencyState
from app.repositories.inserts import insert_unless_taken
from app.repositories.rowcount import rowcount


class IdempotencyRepository:
    """Idempotency keys, one row per (user, key).

    An in-flight row's `created_at` is the moment the current attempt claimed it; every later
    write is guarded by it, so an attempt that lost its claim (taken over after a crash) can
    neither complete nor release the row.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_if_absent(self, row: IdempotencyKey) -> bool:
        """Insert the row unless the key exists; True when this call inserted it."""
        values = {
            "user_id": row.user_id,
            "key": row.key,
            "request_hash": row.request_hash,
            "state": row.state,
            "created_at": row.created_at,
            "expires_at": row.expires_at,
        }
        return await insert_unless_taken(
            self._session, IdempotencyKey, values, unique=[IdempotencyKey.user_id, IdempotencyKey.key]
        )

    async def get(self, *, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        query = select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        return await self._session.scalar(query)

    async def delete_if_expired(self, *, user_id: uuid.UUID, key: str, now: datetime) -> None:
        await self._session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now
            )
        )

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        """Delete up to `limit` expired keys of any user; returns how many went.

        SKIP LOCKED (PostgreSQL) lets concurrent cleaners take different rows instead of queueing
        on the same ones; SQLite has a single writer and ignores it.
        """
        batch = (
            select(IdempotencyKey.user_id, IdempotencyKey.key)
            .where(IdempotencyKey.expires_at <= now)
            .order_by(IdempotencyKey.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            delete(IdempotencyKey)
            .where(tuple_(IdempotencyKey.user_id, IdempotencyKey.key).in_(batch))
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None:
        """Forget every key of the user and the answers stored with them."""
        await self._session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id).execution_options(synchronize_session=False)
        )

    async def take_over(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, now: datetime) -> bool:
        """Claim an in-flight row whose claim started at `claimed_at`; False if someone else moved first."""
        result = await self._session.execute(
            update(IdempotencyKey)
            .where(*self._claim(user_id, key, claimed_at))
            .values(created_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))

    async def complete(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, status: int, body: str) -> bool:
        """Store the response on our in-flight row; False when the claim is no longer ours."""
        result = await self._session.execute(
            update(IdempotencyKey)
            .where(*self._claim(user_id, key, claimed_at))
            .values(state=IdempotencyState.COMPLETED, response_status=status, response_body=body)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))

    async def release(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime) -> None:
        await self._session.execute(
            delete(IdempotencyKey)
            .where(*self._claim(user_id, key, claimed_at))
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _claim(user_id: uuid.UUID, key: str, claimed_at: datetime) -> tuple[ColumnElement[bool], ...]:
        return (
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.key == key,
            IdempotencyKey.state == IdempotencyState.IN_FLIGHT,
            IdempotencyKey.created_at == claimed_at,
        )
