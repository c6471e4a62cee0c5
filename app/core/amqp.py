"""RabbitMQ: publishes CloudEvents to the durable topic exchange, each confirmed by the broker.

pika's asyncio adapter holds the connection and a confirming channel; the broker's confirms (`Basic.Ack`, or
`Basic.Nack`, each for one delivery tag or, with `multiple`, for every tag up to it) resolve one future per
message. A publish writes its frames at once, with no lock, queue or context manager of its own, and a wave's
confirms are awaited together: about 90 µs of CPU per confirmed message against 290 through aio-pika's channel
(docs/decisions.md, ADR-033).
"""

import asyncio
import itertools
import logging
from datetime import datetime
from typing import Any

import pika
from pika import spec
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.channel import Channel
from pika.connection import Connection

logger = logging.getLogger("app.events")
EXCHANGE = "shop.events"
CONTENT_TYPE = "application/cloudevents+json"
PERSISTENT = 2  # AMQP delivery mode: written to disk by a durable queue


class BrokerError(Exception):
    """The broker did not take the message (unreachable, refused, or no confirm in time)."""


class Link:
    """One open connection and its confirming channel, with the confirms still awaited (by delivery tag, in the
    order published). Anything that closes either fails every awaited confirm."""

    def __init__(self, connection: AsyncioConnection, channel: Channel, exchange: str) -> None:
        self.connection = connection
        self.channel = channel
        self._exchange = exchange
        self._awaited: dict[int, asyncio.Future[None]] = {}  # confirms
        self._replies: set[asyncio.Future[None]] = set()  # other replies on the channel
        self._last_tag = 0
        self.broken: BrokerError | None = None

    def publish(self, routing_key: str, body: bytes, properties: spec.BasicProperties) -> "asyncio.Future[None]":
        if self.broken is not None:
            raise BrokerError(str(self.broken))
        self.channel.basic_publish(self._exchange, routing_key, body, properties)
        self._last_tag += 1  # the broker numbers a confirming channel's messages 1, 2, 3, ...
        confirm = asyncio.get_running_loop().create_future()
        self._awaited[self._last_tag] = confirm
        return confirm

    def reply(self) -> "asyncio.Future[None]":
        """A future for a reply on the channel (set by the caller's callback), failed if the link breaks first."""
        reply = asyncio.get_running_loop().create_future()
        self._replies.add(reply)
        reply.add_done_callback(self._replies.discard)
        return reply

    def confirmed(self, frame: Any) -> None:
        method = frame.method
        refused = not isinstance(method, spec.Basic.Ack)
        tags = [method.delivery_tag]
        if method.multiple:
            last = method.delivery_tag  # the awaited tags are in publishing order: those up to it are a prefix
            tags = list(itertools.takewhile(lambda tag: tag <= last, self._awaited))
        for tag in tags:
            error = BrokerError(f"not confirmed: {type(method).__name__}") if refused else None
            self._settle(self._awaited.pop(tag, None), error)

    def fail(self, reason: object) -> None:
        self.broken = BrokerError(_why(reason))
        awaited, self._awaited, replies, self._replies = self._awaited, {}, self._replies, set()
        for future in [*awaited.values(), *replies]:
            self._settle(future, BrokerError(str(self.broken)))  # one exception per waiter: each gets its traceback

    @staticmethod
    def _settle(future: "asyncio.Future[None] | None", error: BrokerError | None) -> None:
        if future is None or future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class AmqpPublisher:
    """One connection and one confirming channel, opened on first use and again after any failure."""

    def __init__(self, url: str, *, exchange: str = EXCHANGE, timeout_seconds: float = 5.0) -> None:
        self._parameters = pika.URLParameters(url)
        self._parameters.connection_attempts = 1
        self._parameters.socket_timeout = timeout_seconds
        self._parameters.stack_timeout = timeout_seconds
        self._exchange_name = exchange
        self._timeout = timeout_seconds
        self._link: Link | None = None
        self._lock = asyncio.Lock()

    async def publish(self, *, message_id: str, routing_key: str, body: bytes, time: datetime) -> None:
        """Persistent, with `message_id`; returns once the broker confirmed it, else raises BrokerError."""
        properties = spec.BasicProperties(
            content_type=CONTENT_TYPE,
            delivery_mode=PERSISTENT,
            message_id=message_id,
            timestamp=int(time.timestamp()),
            type=routing_key,
        )
        link = self._link
        try:
            if link is None or link.broken is not None:
                link = await self._open()
            confirm = link.publish(routing_key, body, properties)
            async with asyncio.timeout(self._timeout):
                await confirm
        except Exception as exc:
            await self._forget(link)
            if isinstance(exc, BrokerError):
                raise
            raise BrokerError(type(exc).__name__) from exc

    async def check(self) -> bool:
        """Whether the broker answers now (readiness): a round trip on the connection, opened if need be."""
        link = None
        try:
            link = await self._open()
            declared = link.reply()
            link.channel.exchange_declare(
                self._exchange_name, exchange_type="topic", passive=True, callback=lambda _: _done(declared)
            )
            async with asyncio.timeout(self._timeout):
                await declared
        except Exception:  # noqa: BLE001 - unreachable is the answer
            await self._forget(link)
            return False
        return True

    async def _open(self) -> Link:
        async with self._lock:
            if self._link is not None and self._link.broken is None:
                return self._link
            self._drop()
            self._link = await self._connect()
            logger.info("connected to the event broker")
            return self._link

    async def _connect(self) -> Link:
        """Connect, open a confirming channel and declare the exchange (idempotent), within the timeout."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Link] = loop.create_future()
        link: Link | None = None

        def opened(connection: Connection) -> None:
            connection.channel(on_open_callback=channel_opened)

        def channel_opened(channel: Channel) -> None:
            nonlocal link
            link = Link(connection, channel, self._exchange_name)
            channel.add_on_close_callback(lambda _channel, reason: closed(reason))
            channel.confirm_delivery(link.confirmed, callback=lambda _: declare(channel))

        def declare(channel: Channel) -> None:
            channel.exchange_declare(
                self._exchange_name, exchange_type="topic", durable=True, callback=lambda _: _done(ready, link)
            )

        def closed(reason: object) -> None:
            if link is not None:
                link.fail(reason)
            if not ready.done():
                ready.set_exception(BrokerError(f"not connected: {_why(reason)}"))

        connection = AsyncioConnection(
            self._parameters,
            on_open_callback=opened,
            on_open_error_callback=lambda _connection, error: closed(error),
            on_close_callback=lambda _connection, reason: closed(reason),
            custom_ioloop=loop,
        )
        try:
            async with asyncio.timeout(self._timeout):
                return await ready
        except BaseException:
            _close(connection)
            raise

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    async def _forget(self, link: Link | None) -> None:
        """After a failure on `link`: drop it, unless another caller has replaced it already."""
        async with self._lock:
            if link is not None and link is self._link:
                self._drop()

    def _drop(self) -> None:
        """Fail what still awaits a confirm and close the connection, without waiting for the broker's answer."""
        link, self._link = self._link, None
        if link is not None:
            if link.broken is None:
                link.fail("closed by the publisher")
            _close(link.connection)


def _why(reason: object) -> str:
    """What closed the link, in a line: the exception's type and its text (pika's can be long)."""
    if isinstance(reason, BaseException):
        text = str(reason) or (repr(reason.args[0]) if reason.args else "")  # pika says it in the repr
        return f"{type(reason).__name__}: {text[:200]}" if text else type(reason).__name__
    return str(reason)[:200]


def _done(future: "asyncio.Future[Any]", value: Any = None) -> None:
    if not future.done():
        future.set_result(value)


def _close(connection: Connection) -> None:
    if connection.is_closing or connection.is_closed:
        return
    try:
        connection.close()
    except Exception:  # it is closing or closed already
        logger.debug("closing the broker connection failed", exc_info=True)
