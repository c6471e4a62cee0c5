"""Deleting what has expired, in small transactions, so that it can run at any time, from cron, several at once.

Each kind of expired row is one `Purge` in `expiring()`: a name and the repository call that deletes one batch.
A batch is its own transaction (short locks; an interrupted run keeps what it did), and concurrent runs take
different rows (SKIP LOCKED on PostgreSQL; SQLite's single writer queues them).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.services.ports import UnitOfWork, UnitOfWorkFactory

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Purge:
    name: str
    delete_batch: Callable[[UnitOfWork, datetime, int], Awaitable[int]]


async def _idempotency_keys(uow: UnitOfWork, now: datetime, limit: int) -> int:
    return await uow.idempotency.delete_expired(now=now, limit=limit)


async def _login_sessions(uow: UnitOfWork, now: datetime, limit: int) -> int:
    return await uow.login_sessions.delete_expired(now=now, limit=limit)


async def _password_reset_tokens(uow: UnitOfWork, now: datetime, limit: int) -> int:
    return await uow.password_resets.delete_expired(now=now, limit=limit)


def expiring(*, outbox_retention: timedelta) -> tuple[Purge, ...]:
    """What expires, one line each."""

    async def outbox_sent(uow: UnitOfWork, now: datetime, limit: int) -> int:
        return await uow.outbox.delete_sent_before(before=now - outbox_retention, limit=limit)

    return (
        Purge("idempotency_keys", _idempotency_keys),
        Purge("login_sessions", _login_sessions),
        Purge("password_reset_tokens", _password_reset_tokens),
        Purge("outbox_sent", outbox_sent),
    )


class MaintenanceService:
    def __init__(self, uow: UnitOfWorkFactory, *, purges: tuple[Purge, ...]) -> None:
        self._uow = uow
        self._purges = purges

    async def purge_expired(
        self, *, now: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> dict[str, int]:
        """Delete everything expired at `now`, batch by batch; returns how many rows of each kind went."""
        now = now or datetime.now(UTC)
        deleted: dict[str, int] = {}
        for purge in self._purges:
            total = 0
            while True:
                async with self._uow() as uow:
                    count = await purge.delete_batch(uow, now, batch_size)
                    await uow.commit()
                total += count
                if count < batch_size:
                    break
            deleted[purge.name] = total
        return deleted
