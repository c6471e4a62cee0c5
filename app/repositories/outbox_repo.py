"""The outbox: messages written with the change they tell of, claimed and marked by the relay."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, ColumnElement, any_, case, delete, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OutboxKind, OutboxMessage
from app.repositories.rowcount import rowcount

SCRUBBED = "{}"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to write; `payload` is the CloudEvent (events) or the mail (mails) as JSON."""

    id: uuid.UUID
    kind: OutboxKind
    type: str
    subject: uuid.UUID
    sequence: int | None
    payload: str
    created_at: datetime

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "type": self.type,
            "subject": self.subject,
            "sequence": self.sequence,
            "payload": self.payload,
            "created_at": self.created_at,
            "attempts": 0,
            "next_attempt_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    position: int
    kind: OutboxKind
    id: uuid.UUID
    type: str
    subject: uuid.UUID
    payload: str
    created_at: datetime
    attempts: int  # this attempt included


class _Candidate(NamedTuple):
    position: int
    kind: str
    id: uuid.UUID
    type: str
    subject: uuid.UUID
    sequence: int | None
    payload: str
    created_at: datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest: datetime | None


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _among(self, positions: Sequence[int]) -> ColumnElement[bool]:
        """`position IN (...)`. On PostgreSQL as one array parameter (`= ANY(...)`): the statement's text is the
        same whatever the count, so the driver converts it once, not on every pass (500 placeholders cost the
        relay about 15 µs per message). SQLite has no arrays."""
        if self._session.get_bind().dialect.name == "postgresql":
            return OutboxMessage.position == any_(literal(list(positions), postgresql.ARRAY(BigInteger)))
        return OutboxMessage.position.in_(positions)

    async def add(self, messages: Iterable[NewMessage]) -> None:
        rows = [message.row() for message in messages]
        if rows:
            await self._session.execute(insert(OutboxMessage), rows)

    async def claim(
        self, *, kinds: Sequence[OutboxKind], now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedMessage]:
        """Lease up to `limit` due messages of these `kinds`, oldest first, to this caller until `now + lease`.

        Concurrent relays take different rows: PostgreSQL skips the rows another one is claiming (SKIP LOCKED),
        SQLite has one writer at a time. An event is taken only when every pending event of its subject before it
        is taken too, so a subject's events go out in their order whichever relay holds which.
        """
        columns = _Candidate._fields
        due = (
            select(*(getattr(OutboxMessage, name) for name in columns))
            .where(OutboxMessage.kind.in_([kind.value for kind in kinds]), OutboxMessage.sent_at.is_(None))
            .where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.position)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        candidates = [_Candidate(*row) for row in (await self._session.execute(due)).all()]
        events = [row for row in candidates if row.kind == OutboxKind.EVENT.value]
        # A subject's first event (sequence 1: an order placed, a user registered) has nothing to wait for.
        if any(row.sequence != 1 for row in events):
            kept = {row.position for row in await self._in_order(events)}
            candidates = [row for row in candidates if row.kind != OutboxKind.EVENT.value or row.position in kept]
        if not candidates:
            return []
        positions = [row.position for row in candidates]
        await self._session.execute(
            update(OutboxMessage)
            .where(self._among(positions))
            .values(next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return [
            ClaimedMessage(
                position=row.position,
                kind=OutboxKind(row.kind),
                id=row.id,
                type=row.type,
                subject=row.subject,
                payload=row.payload,
                created_at=row.created_at,
                attempts=row.attempts + 1,
            )
            for row in candidates
        ]

    async def _in_order(self, candidates: list["_Candidate"]) -> list["_Candidate"]:
        """The candidates not preceded by a pending event of their subject that is not a candidate."""
        taken = {row.position for row in candidates}
        last = max(taken)
        earlier = await self._session.execute(
            select(OutboxMessage.subject, func.min(OutboxMessage.position))
            .where(OutboxMessage.kind == OutboxKind.EVENT.value, OutboxMessage.sent_at.is_(None))
            .where(OutboxMessage.subject.in_({row.subject for row in candidates}))
            .where(OutboxMessage.position < last, OutboxMessage.position.not_in(taken))
            .group_by(OutboxMessage.subject)
        )
        blocked_from: dict[uuid.UUID, int] = defaultdict(lambda: last + 1)
        blocked_from.update({subject: position for subject, position in earlier.all()})
        return [row for row in candidates if row.position < blocked_from[row.subject]]

    async def mark_sent(self, positions: Sequence[int], *, now: datetime) -> None:
        """Sent; a mail's payload goes too (its body and link are needed no longer)."""
        if not positions:
            return
        scrubbed = case((OutboxMessage.kind == OutboxKind.MAIL.value, SCRUBBED), else_=OutboxMessage.payload)
        values: dict[str, Any] = {"sent_at": now, "payload": scrubbed}
        await self._session.execute(
            update(OutboxMessage)
            .where(self._among(positions))
            .values(values)
            .execution_options(synchronize_session=False)
        )

    async def retry_at(self, positions: Sequence[int], *, when: datetime) -> None:
        """Not sent this time: due again at `when`."""
        if not positions:
            return
        await self._session.execute(
            update(OutboxMessage)
            .where(self._among(positions), OutboxMessage.sent_at.is_(None))
            .values(next_attempt_at=when)
            .execution_options(synchronize_session=False)
        )

    async def release(self, positions: Sequence[int], *, now: datetime) -> None:
        """Claimed but not tried: due again now, and the claim's attempt does not count."""
        if not positions:
            return
        await self._session.execute(
            update(OutboxMessage)
            .where(self._among(positions), OutboxMessage.sent_at.is_(None))
            .values(next_attempt_at=now, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False)
        )

    async def forget_mail_to(self, *, user_id: uuid.UUID) -> int:
        """Delete the user's unsent mails and empty the bodies of the sent ones; returns how many were unsent."""
        mails = (OutboxMessage.kind == OutboxKind.MAIL.value, OutboxMessage.subject == user_id)
        unsent = await self._session.execute(
            delete(OutboxMessage)
            .where(*mails, OutboxMessage.sent_at.is_(None))
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(
            update(OutboxMessage)
            .where(*mails, OutboxMessage.payload != SCRUBBED)
            .values(payload=SCRUBBED)
            .execution_options(synchronize_session=False)
        )
        return rowcount(unsent)

    async def backlog(self) -> Backlog:
        pending, oldest = (
            await self._session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(OutboxMessage.sent_at.is_(None))
            )
        ).one()
        return Backlog(pending=pending, oldest=oldest)

    async def delete_sent_before(self, *, before: datetime, limit: int) -> int:
        """Delete up to `limit` messages sent before `before`; concurrent purges take different rows."""
        batch = (
            select(OutboxMessage.position)
            .where(OutboxMessage.sent_at < before)
            .order_by(OutboxMessage.sent_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            delete(OutboxMessage).where(OutboxMessage.position.in_(batch)).execution_options(synchronize_session=False)
        )
        return rowcount(result)
