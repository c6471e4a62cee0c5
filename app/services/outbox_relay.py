"""The relay: sends what the outbox holds, after the commit that wrote it, until the broker or mail server took it.

One loop serves both channels (events to the broker, mails to the mail server). A pass claims a batch of both
(a lease: other relays, in this process or another, skip those rows until it runs out; each mail comes with its
recipient's address), sends each channel's share in order, the two channels side by side, with no transaction
open, and records what went. On PostgreSQL the claim and the record of what was sent are one statement each,
outside any transaction (each is atomic by itself; the rare retries and releases follow it): two round trips per
pass whatever the channels, since each round trip costs the worker more CPU than sending a message does.
Events go out in waves: a wave holds at most one event per subject, is published at once and its confirms are
awaited together (one round trip per wave, not per event); a subject's next event is in a later wave. Mails go
in runs on the mail server's session, pipelined (one round trip per mail; app/core/smtp_session.py). A message
that fails is due again after a backoff that doubles up to `max_backoff`; the messages of its channel behind it
in the batch are released untried, so a subject's events keep their order, and that channel sits out the passes
until its own backoff ends, so an outage of one channel never stops the other (a broker that hangs rather than
refuses holds a pass for its timeout, about 5 s, at most once per backoff). A relay killed between sending and
recording leaves its rows leased: they go out again when the lease ends (at least once; consumers deduplicate by
`id`). Relays may take turns (`run(turn=...)`): the service's workers run one relay per host and database.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.core.mail import OutgoingMail
from app.models import OutboxKind
from app.repositories.outbox_repo import Backlog, ClaimedMessage
from app.services.ports import EventPublisher, Mailer, UnitOfWorkFactory

logger = logging.getLogger("app.outbox")
FIRST_BACKOFF_SECONDS = 0.5
MAIL_RUN = 50  # mails handed to the mail server at once; the lease's deadline is checked between runs


class Turn(Protocol):
    """Whose turn it is to relay, among relays that take turns (app/core/host_lock.py: one per host)."""

    def acquire(self) -> bool: ...

    def release(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Pass:
    sent: int = 0
    failed: frozenset[OutboxKind] = frozenset()  # the channels whose send failed in this pass
    full: bool = False  # the batch was as large as allowed: more may be waiting


@dataclass(slots=True)
class _Outcome:
    sent: list[ClaimedMessage] = field(default_factory=list)
    failed: list[ClaimedMessage] = field(default_factory=list)
    untried: list[ClaimedMessage] = field(default_factory=list)


class OutboxRelay:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        publisher: EventPublisher | None,
        mailer: Mailer | None,
        poll_seconds: float,
        max_backoff_seconds: float,
        lease: timedelta = timedelta(seconds=30),
        batch_size: int = 500,
    ) -> None:
        self._uow = uow
        self._publisher = publisher
        self._mailer = mailer
        self._poll = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._lease = lease
        self._batch = batch_size
        self._stopping = asyncio.Event()

    @property
    def channels(self) -> list[OutboxKind]:
        return [
            kind
            for kind, channel in ((OutboxKind.EVENT, self._publisher), (OutboxKind.MAIL, self._mailer))
            if channel is not None
        ]

    async def run(self, *, turn: Turn | None = None) -> None:
        """Relay until `stop()` (the loop ends after its pass in progress; a relay stopped before it ran does
        not start) or cancelled. With a `turn`, only while it is this relay's: each poll it asks again, so a
        relay waiting for its turn takes over within a poll of the one before it stopping or dying."""
        try:
            await self._run(turn)
        finally:
            if turn is not None:
                turn.release()

    async def _run(self, turn: Turn | None) -> None:
        pause = 0.0
        channel_pause = dict.fromkeys(self.channels, 0.0)
        resume_at = dict.fromkeys(self.channels, 0.0)
        while not self._stopping.is_set():
            if turn is not None and not turn.acquire():
                await self._pause(self._poll)
                continue
            due = [kind for kind in self.channels if time.monotonic() >= resume_at[kind]]
            try:
                outcome = await self.relay_once(due) if due else Pass()
            except Exception:  # the database is down, say: try again later, never give up
                logger.warning("outbox relay pass failed", exc_info=True)
                pause = min(max(pause * 2, self._poll), self._max_backoff)
                await self._pause(pause)
                continue
            for kind in due:
                if kind in outcome.failed:
                    channel_pause[kind] = min(max(channel_pause[kind] * 2, self._poll), self._max_backoff)
                    resume_at[kind] = time.monotonic() + channel_pause[kind]
                else:
                    channel_pause[kind] = 0.0
            if outcome.full:
                pause = 0.0
                continue
            pause = self._poll
            await self._pause(pause)

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        """Close the channels' connections (after `run()` has ended)."""
        if self._mailer is not None:
            await self._mailer.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def relay_once(self, kinds: Sequence[OutboxKind] | None = None) -> Pass:
        """One pass over these channels (all by default): claim a batch, send it in order, record what went."""
        kinds = [kind for kind in (self.channels if kinds is None else kinds) if kind in self.channels]
        if not kinds:
            return Pass()
        now = datetime.now(UTC)
        async with self._uow() as uow:
            claimed = await uow.outbox.claim(kinds=kinds, now=now, lease=self._lease, limit=self._batch)
            await uow.commit()
        if not claimed:
            return Pass()
        events = [m for m in claimed if m.kind is OutboxKind.EVENT]
        mails = [m for m in claimed if m.kind is OutboxKind.MAIL]
        sends: list[Awaitable[_Outcome]] = []
        if events and self._publisher is not None:
            sends.append(self._send_events(self._publisher, events))
        if mails and self._mailer is not None:
            sends.append(self._send_mails(self._mailer, mails))
        outcomes = await asyncio.gather(*sends)
        failed = [message for outcome in outcomes for message in outcome.failed]
        now = datetime.now(UTC)
        async with self._uow() as uow:
            await uow.outbox.mark_sent([m.position for outcome in outcomes for m in outcome.sent], now=now)
            for message in failed:
                when = now + timedelta(seconds=self._backoff(message.attempts))
                await uow.outbox.retry_at([message.position], when=when)
            await uow.outbox.release([m.position for outcome in outcomes for m in outcome.untried], now=now)
            await uow.commit()
        return Pass(
            sent=sum(len(outcome.sent) for outcome in outcomes),
            failed=frozenset(message.kind for message in failed),
            full=len(claimed) == self._batch,
        )

    async def _send_events(self, publisher: EventPublisher, events: list[ClaimedMessage]) -> _Outcome:
        """Publish wave after wave (`_waves`; a wave's events at once) until one fails or the deadline passes;
        the waves after a failure are left untried."""
        deadline = self._deadline()
        outcome = _Outcome()
        waves = _waves(events)
        for index, wave in enumerate(waves):
            if time.monotonic() > deadline or outcome.failed:
                outcome.untried = [message for rest in waves[index:] for message in rest]
                return outcome
            if len(wave) == 1:  # a task per message would cost more than sending it
                results: list[Exception | None] = [await _publish(publisher, wave[0])]
            else:
                results = await asyncio.gather(*(_publish(publisher, message) for message in wave))
            for message, error in zip(wave, results, strict=True):
                if error is None:
                    outcome.sent.append(message)
                    continue
                _log_failure(message, error)
                outcome.failed.append(message)
        return outcome

    async def _send_mails(self, mailer: Mailer, mails: list[ClaimedMessage]) -> _Outcome:
        """Each mail to its user's address as read when the batch was claimed (a mail to nobody, its account
        erased since, counts as sent, and its body is emptied), in runs of MAIL_RUN on the mail server's session,
        until one fails or the deadline passes; the mails after a failure are left untried."""
        deadline = self._deadline()
        outcome = _Outcome()
        outgoing: list[tuple[ClaimedMessage, OutgoingMail]] = []
        for message in mails:
            if message.address is None:
                outcome.sent.append(message)
            else:
                outgoing.append((message, _outgoing(message, message.address)))
        for start in range(0, len(outgoing), MAIL_RUN):
            if time.monotonic() > deadline:
                outcome.untried = [message for message, _ in outgoing[start:]]
                break
            run = outgoing[start : start + MAIL_RUN]
            delivery = await mailer.send_all([mail for _, mail in run])
            outcome.sent += [message for message, _ in run[: delivery.accepted]]
            if delivery.error is not None:
                failed = run[delivery.accepted][0]
                _log_failure(failed, delivery.error)
                outcome.failed.append(failed)
                outcome.untried = [message for message, _ in outgoing[start + delivery.accepted + 1 :]]
                break
        return outcome

    def _deadline(self) -> float:
        """When a pass stops starting sends (monotonic clock): half the lease, so what it sent is recorded before
        another relay may claim the same rows."""
        return time.monotonic() + self._lease.total_seconds() / 2

    def _backoff(self, attempts: int) -> float:
        return float(min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), self._max_backoff))

    async def backlog(self) -> Backlog:
        return await read_backlog(self._uow)

    async def drain(self, *, timeout_seconds: float = 30.0) -> None:
        """Relay until nothing is due (tests, the standalone command's `--once`)."""
        deadline = time.monotonic() + timeout_seconds
        kinds = self.channels
        while kinds and time.monotonic() < deadline:
            outcome = await self.relay_once(kinds)
            if not outcome.full:
                break
            kinds = [kind for kind in kinds if kind not in outcome.failed]


async def _publish(publisher: EventPublisher, message: ClaimedMessage) -> Exception | None:
    """Publish one event; the broker's failure is returned, to be recorded and retried."""
    try:
        await publisher.publish(
            message_id=str(message.id), routing_key=message.type, body=message.payload.encode(), time=message.created_at
        )
    except Exception as exc:  # noqa: BLE001 - recorded by the caller, and retried
        return exc
    return None


def _waves(events: list[ClaimedMessage]) -> list[list[ClaimedMessage]]:
    """The events in order, cut into waves that hold at most one event per subject."""
    waves: list[list[ClaimedMessage]] = []
    subjects: set[uuid.UUID] = set()
    for event in events:
        if not waves or event.subject in subjects:
            waves.append([])
            subjects = set()
        waves[-1].append(event)
        subjects.add(event.subject)
    return waves


def _outgoing(message: ClaimedMessage, address: str) -> OutgoingMail:
    content = json.loads(message.payload)
    return OutgoingMail(
        to=address,
        subject=content["subject"],
        text=content["text"],
        message_id=str(message.id),
        recipient_ref=str(message.subject),
    )


def _log_failure(message: ClaimedMessage, error: Exception) -> None:
    logger.warning(
        "outbox message not sent; will retry",
        extra={"message_type": message.type, "attempts": message.attempts, "error": str(error)},
    )


async def read_backlog(uow: UnitOfWorkFactory) -> Backlog:
    """How many messages wait, and since when (the `/metrics` gauges)."""
    async with uow() as unit:
        return await unit.outbox.backlog()
