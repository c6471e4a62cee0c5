"""The outbox: messages written with the change they tell of, claimed and marked by the relay."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OutboxKind, OutboxMessage, User
from app.repositories.committing import alone
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
    address: str | None  # a mail's recipient as the claim read it; None for an event, or a mail to an erased account


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
    address: str | None


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    oldest: datetime | None


# PostgreSQL: the whole claim in one statement, sent outside any transaction (one statement is atomic by itself).
# It locks up to :limit due rows of these kinds, oldest first, skipping the rows another relay is claiming; keeps
# an event only if no pending event of its subject before it was left out (a subject's first event, sequence 1,
# has none before it); leases what it kept; and reads each mail's address with it (null for an erased account).
CLAIM_IN_ONE_STATEMENT = text(f"""
WITH candidate AS (
    SELECT position, kind, subject, sequence FROM outbox
    WHERE kind = ANY(:kinds) AND sent_at IS NULL AND next_attempt_at <= :now
    ORDER BY position
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
),
kept AS (
    SELECT c.position FROM candidate AS c
    WHERE c.kind <> '{OutboxKind.EVENT.value}' OR c.sequence = 1 OR NOT EXISTS (
        SELECT 1 FROM outbox AS o
        WHERE o.subject = c.subject AND o.position < c.position AND o.kind = '{OutboxKind.EVENT.value}'
          AND o.sent_at IS NULL AND o.position NOT IN (SELECT position FROM candidate)
    )
),
leased AS (
    UPDATE outbox AS m SET next_attempt_at = :until, attempts = m.attempts + 1
    FROM kept WHERE m.position = kept.position
    RETURNING m.position, m.kind, m.id, m.type, m.subject, m.sequence, m.payload, m.created_at, m.attempts
)
SELECT l.position, l.kind, l.id, l.type, l.subject, l.sequence, l.payload, l.created_at, l.attempts, u.email
FROM leased AS l LEFT JOIN users AS u ON l.kind = '{OutboxKind.MAIL.value}' AND u.id = l.subject
ORDER BY l.position
""").bindparams(bindparam("kinds", type_=postgresql.ARRAY(String)))  # noqa: S608 - the constants are the model's


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        return self._session.get_bind().dialect.name == "postgresql"

    def _among(self, positions: Sequence[int]) -> ColumnElement[bool]:
        """`position IN (...)`. On PostgreSQL as one array parameter (`= ANY(...)`): the statement's text is the
        same whatever the count, so the driver converts it once, not on every pass (500 placeholders cost the
        relay about 15 µs per message). SQLite has no arrays."""
        if self._postgres:
            return OutboxMessage.position == any_(literal(list(positions), postgresql.ARRAY(BigInteger)))
        return OutboxMessage.position.in_(positions)

    async def add(self, messages: Iterable[NewMessage]) -> None:
        rows = [message.row() for message in messages]
        if rows:
            await self._session.execute(insert(OutboxMessage), rows)

    async def claim(
        self, *, kinds: Sequence[OutboxKind], now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedMessage]:
        """Lease up to `limit` due messages of these `kinds`, oldest first, to this caller until `now + lease`; a
        mail comes with its recipient's address as it is now.

        Concurrent relays take different rows: PostgreSQL skips the rows another one is claiming (SKIP LOCKED),
        SQLite has one writer at a time. An event is taken only when every pending event of its subject before it
        is taken too, so a subject's events go out in their order whichever relay holds which. On PostgreSQL this
        is one statement outside any transaction, and must be the unit of work's first.
        """
        if self._postgres:
            return await self._claim_in_one_statement(kinds=kinds, now=now, lease=lease, limit=limit)
        columns = [getattr(OutboxMessage, name) for name in _Candidate._fields if name != "address"]
        due = (
            select(*columns, User.email)
            .outerjoin(User, and_(OutboxMessage.kind == OutboxKind.MAIL.value, User.id == OutboxMessage.subject))
            .where(OutboxMessage.kind.in_([kind.value for kind in kinds]), OutboxMessage.sent_at.is_(None))
            .where(OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.position)
            .limit(limit)
        )
        candidates = [_Candidate._make(row) for row in (await self._session.execute(due)).all()]
        events = [row for row in candidates if row.kind == OutboxKind.EVENT.value]
        # A subject's first event (sequence 1: an order placed, a user registered) has nothing to wait for.
        if any(row.sequence != 1 for row in events):
            kept = {row.position for row in await self._in_order(events)}
            candidates = [row for row in candidates if row.kind != OutboxKind.EVENT.value or row.position in kept]
        if not candidates:
            return []
        await self._session.execute(
            update(OutboxMessage)
            .where(self._among([row.position for row in candidates]))
            .values(next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return [_claimed(row, attempts=row.attempts + 1) for row in candidates]

    async def _claim_in_one_statement(
        self, *, kinds: Sequence[OutboxKind], now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedMessage]:
        params = {"kinds": [kind.value for kind in kinds], "now": now, "until": now + lease, "limit": limit}
        async with alone(self._session) as connection:  # the lease is taken as the statement ends
            rows = (await connection.execute(CLAIM_IN_ONE_STATEMENT, params)).all()
        return [_claimed(_Candidate._make(row), attempts=row.attempts) for row in rows]

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
        """Sent; a mail's payload goes too (its body and link are needed no longer). On PostgreSQL one statement
        outside any transaction, like the claim: it must be the unit of work's first."""
        if not positions:
            return
        scrubbed = case((OutboxMessage.kind == OutboxKind.MAIL.value, SCRUBBED), else_=OutboxMessage.payload)
        values: dict[str, Any] = {"sent_at": now, "payload": scrubbed}
        statement = update(OutboxMessage).where(self._among(positions)).values(values)
        if self._postgres:
            async with alone(self._session) as connection:
                await connection.execute(statement)
            return
        await self._session.execute(statement.execution_options(synchronize_session=False))

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


def _claimed(row: _Candidate, *, attempts: int) -> ClaimedMessage:
    return ClaimedMessage(
        position=row.position,
        kind=OutboxKind(row.kind),
        id=row.id,
        type=row.type,
        subject=row.subject,
        payload=row.payload,
        created_at=row.created_at,
        attempts=attempts,
        address=row.address if row.kind == OutboxKind.MAIL.value else None,
    )
