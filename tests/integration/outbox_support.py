"""Real parts for the outbox tests: an SMTP server run in-process (aiosmtpd), a consumer bound to the
broker's exchange, and the relay of an app running as it does in the service."""

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import aio_pika
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from scripts.processes import free_port


@dataclass
class ReceivedMail:
    recipients: list[str]
    message: Message
    peer: object = None  # the client's address and port: one per connection
    tls: bool = False  # came over TLS (STARTTLS)

    @property
    def text(self) -> str:
        payload = self.message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()


class MailServer:
    """An SMTP server on a loopback port that keeps what it accepted; `stop()` and `start()` make an outage."""

    def __init__(
        self, *, pipelining: bool = True, smtputf8: bool = False, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self.refuse_recipients = False  # answer RCPT with 550, as for an unknown mailbox
        self.unknown_mailboxes: set[str] = set()  # these recipients alone get that 550
        self.pipelining = pipelining  # offered in EHLO, as Postfix, Exim and the hosted services do
        self.smtputf8 = smtputf8
        self.tls_context = tls_context  # offers STARTTLS and requires it before MAIL
        self._controller: Controller | None = None

    def start(self) -> "MailServer":
        tls = {"tls_context": self.tls_context, "require_starttls": True} if self.tls_context else {}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8, **tls)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_recipients or address in self.unknown_mailboxes:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        mail = ReceivedMail(list(envelope.rcpt_tos), message_from_bytes(content), session.peer)
        mail.tls = session.ssl is not None
        self.received.append(mail)
        return "250 OK"


@dataclass
class Delivery:
    body: dict[str, Any]
    message: aio_pika.abc.AbstractIncomingMessage


@dataclass
class EventConsumer:
    """A queue of its own bound to every routing key of the exchange; keeps the events whose subject it watches
    (other runs may publish to the same broker meanwhile)."""

    url: str
    watch: Callable[[dict[str, Any]], bool] = lambda _event: True
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [delivery.body for delivery in self.deliveries]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["EventConsumer"]:
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange("shop.events", aio_pika.ExchangeType.TOPIC, durable=True)
            queue = await channel.declare_queue(exclusive=True, auto_delete=True)
            await queue.bind(exchange, routing_key="#")

            async def keep(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                body = json.loads(message.body)
                if self.watch(body):
                    self.deliveries.append(Delivery(body, message))
                await message.ack()

            await queue.consume(keep)
            yield self
        finally:
            await connection.close()


@contextlib.asynccontextmanager
async def relaying(app: FastAPI) -> AsyncIterator[None]:
    """The app's relay running as the lifespan runs it in the service."""
    relay = app.state.container.relay
    assert relay is not None, "the app has no channel to relay to"
    task = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        relay.stop()
        await asyncio.wait_for(task, 15)


async def wait_until(condition: Callable[[], bool | Awaitable[bool]], *, within: float = 15.0) -> float:
    """Seconds until `condition` held; fails the test after `within` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        outcome = condition()
        if outcome if isinstance(outcome, bool) else await outcome:
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {within} s")
