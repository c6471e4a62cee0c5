"""The relay: sends what the outbox holds, after the commit that wrote it, until the broker or mail server took it.

Each channel (events to the broker, mails to the mail server) runs its own loop, so an outage of one never holds
the other. A pass claims a batch in one short transaction (a lease: other relays, in this process or another,
skip those rows until it runs out), sends it with no transaction open, and records the outcome in a second short
one. A message that fails is due again after a backoff that doubles up to `max_backoff`; the messages behind it
in the batch are released untried, so a subject's events keep their order. A relay killed between sending and
recording leaves its rows leased: they go out again when the lease ends (at least once; consumers deduplicate
by `id`).
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.models import OutboxKind
from app.repositories.outbox_repo import Backlog, ClaimedMessage
from app.services.ports import EventPublisher, Mailer, UnitOfWorkFactory

logger = logging.getLogger("app.outbox")
FIRST_BACKOFF_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Pass:
    sent: int = 0
    failed: bool = False
    full: bool = False  # the batch was as large as allowed: more may be waiting


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
        batch_size: int = 100,
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

    async def run(self) -> None:
        """Relay until `stop()` (each loop ends after its pass in progress; a relay stopped before it ran does
        not start) or cancelled: one loop per channel."""
        await asyncio.gather(*(self._loop(kind) for kind in self.channels))

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        """Close the channels' connections (after `run()` has ended)."""
        if self._mailer is not None:
            await self._mailer.close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _loop(self, kind: OutboxKind) -> None:
        pause = 0.0
        while not self._stopping.is_set():
            try:
                outcome = await self.relay_once(kind)
            except Exception:  # the database is down, say: try again later, never give up
                logger.warning("outbox relay pass failed", extra={"channel": kind.value}, exc_info=True)
                outcome = Pass(failed=True)
            if outcome.failed:
                pause = min(max(pause * 2, self._poll), self._max_backoff)
            elif outcome.full:
                pause = 0.0
                continue
            else:
                pause = self._poll
            await self._pause(pause)

    async def relay_once(self, kind: OutboxKind) -> Pass:
        """One pass over one channel: claim a batch, send it in order, record what went."""
        now = datetime.now(UTC)
        async with self._uow() as uow:
            claimed = await uow.outbox.claim(kind=kind, now=now, lease=self._lease, limit=self._batch)
            addresses = await uow.users.emails_of(m.subject for m in claimed) if kind is OutboxKind.MAIL else {}
            await uow.commit()
        if not claimed:
            return Pass()
        if kind is OutboxKind.MAIL and self._mailer is not None:
            sent, failed, untried = await self._send_all(claimed, _mail_sender(self._mailer, addresses))
        elif kind is OutboxKind.EVENT and self._publisher is not None:
            sent, failed, untried = await self._send_all(claimed, _event_sender(self._publisher))
        else:
            sent, failed, untried = [], None, claimed
        now = datetime.now(UTC)
        async with self._uow() as uow:
            await uow.outbox.mark_sent([m.position for m in sent], now=now, scrub=kind is OutboxKind.MAIL)
            if failed is not None:
                when = now + timedelta(seconds=self._backoff(failed.attempts))
                await uow.outbox.retry_at([failed.position], when=when)
            await uow.outbox.release([m.position for m in untried], now=now)
            await uow.commit()
        return Pass(sent=len(sent), failed=failed is not None, full=len(claimed) == self._batch)

    async def _send_all(
        self, batch: list[ClaimedMessage], send: Callable[[ClaimedMessage], Awaitable[None]]
    ) -> tuple[list[ClaimedMessage], ClaimedMessage | None, list[ClaimedMessage]]:
        """Send in order until one fails or half the lease is spent; returns (sent, failed, untried)."""
        deadline = time.monotonic() + self._lease.total_seconds() / 2
        sent: list[ClaimedMessage] = []
        for index, message in enumerate(batch):
            if time.monotonic() > deadline:
                return sent, None, batch[index:]
            try:
                await send(message)
            except Exception as exc:  # noqa: BLE001 - the channel's failure is recorded, and retried
                logger.warning(
                    "outbox message not sent; will retry",
                    extra={"message_type": message.type, "attempts": message.attempts, "error": str(exc)},
                )
                return sent, message, batch[index + 1 :]
            sent.append(message)
        return sent, None, []

    def _backoff(self, attempts: int) -> float:
        return float(min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), self._max_backoff))

    async def backlog(self) -> Backlog:
        return await read_backlog(self._uow)

    async def drain(self, *, timeout_seconds: float = 30.0) -> None:
        """Relay until nothing is due (tests, the standalone command's `--once`)."""
        deadline = time.monotonic() + timeout_seconds
        for kind in self.channels:
            while time.monotonic() < deadline:
                outcome = await self.relay_once(kind)
                if outcome.failed or not outcome.full:
                    break


def _event_sender(publisher: EventPublisher) -> Callable[[ClaimedMessage], Awaitable[None]]:
    async def send(message: ClaimedMessage) -> None:
        await publisher.publish(
            message_id=str(message.id), routing_key=message.type, body=message.payload.encode(), time=message.created_at
        )

    return send


def _mail_sender(mailer: Mailer, addresses: dict[uuid.UUID, str]) -> Callable[[ClaimedMessage], Awaitable[None]]:
    """Sends each mail to its user's address as read when the batch was claimed."""

    async def send(message: ClaimedMessage) -> None:
        address = addresses.get(message.subject)
        if address is None:
            return  # nobody to send it to any more: counted as done, and its body is emptied
        content = json.loads(message.payload)
        await mailer.send(
            to=address,
            subject=content["subject"],
            text=content["text"],
            message_id=str(message.id),
            recipient_ref=str(message.subject),
        )

    return send


async def read_backlog(uow: UnitOfWorkFactory) -> Backlog:
    """How many messages wait, and since when (the `/metrics` gauges)."""
    async with uow() as unit:
        return await unit.outbox.backlog()
