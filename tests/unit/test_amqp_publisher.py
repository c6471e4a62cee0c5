"""The publisher's bookkeeping of the broker's confirms (which message a `Basic.Ack` or `Basic.Nack` settles),
and its answer when no broker listens. The broker itself is in tests/integration/test_outbox_events.py.

The broker numbers a confirming channel's messages 1, 2, 3, ... and may confirm several at once (`multiple`);
the bookkeeping tests feed it the frames the broker would send, on a channel that only records what was published.
"""

import asyncio
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pika import spec

from app.core.amqp import AmqpPublisher, BrokerError, Link


class RecordingChannel:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, bytes]] = []

    def basic_publish(self, exchange: str, routing_key: str, body: bytes, properties: Any) -> None:
        self.published.append((exchange, routing_key, body))


def frame(method: Any) -> SimpleNamespace:
    return SimpleNamespace(method=method)


def link() -> tuple[Link, RecordingChannel]:
    channel = RecordingChannel()
    return Link(connection=None, channel=channel, exchange="shop.events"), channel  # type: ignore[arg-type]


def publish(link: Link, count: int) -> list["asyncio.Future[None]"]:
    return [link.publish("shop.order.placed", b"{}", spec.BasicProperties()) for _ in range(count)]


async def test_an_ack_settles_its_own_message_only():
    confirms, channel = link()
    first, second, third = publish(confirms, 3)
    confirms.confirmed(frame(spec.Basic.Ack(delivery_tag=2, multiple=False)))
    assert second.done() and second.result() is None
    assert not first.done() and not third.done()
    assert channel.published == [("shop.events", "shop.order.placed", b"{}")] * 3


async def test_a_multiple_ack_settles_every_message_up_to_its_tag():
    confirms, _ = link()
    futures = publish(confirms, 5)
    confirms.confirmed(frame(spec.Basic.Ack(delivery_tag=3, multiple=True)))
    assert [future.done() for future in futures] == [True, True, True, False, False]
    confirms.confirmed(frame(spec.Basic.Ack(delivery_tag=5, multiple=True)))
    assert all(future.done() and future.exception() is None for future in futures)


async def test_a_nack_fails_the_messages_it_names_and_no_others():
    confirms, _ = link()
    futures = publish(confirms, 4)
    confirms.confirmed(frame(spec.Basic.Nack(delivery_tag=2, multiple=True)))
    for future in futures[:2]:
        with pytest.raises(BrokerError, match="not confirmed"):
            future.result()
    confirms.confirmed(frame(spec.Basic.Ack(delivery_tag=4, multiple=True)))
    assert all(future.exception() is None for future in futures[2:])


async def test_a_broken_link_fails_what_awaits_a_reply_and_refuses_to_publish():
    confirms, channel = link()
    waiting = publish(confirms, 2)
    reply = confirms.reply()
    confirms.fail(ConnectionResetError())
    for future in [*waiting, reply]:
        with pytest.raises(BrokerError, match="ConnectionResetError"):
            future.result()
    with pytest.raises(BrokerError):
        publish(confirms, 1)
    assert len(channel.published) == 2


async def test_a_broker_nobody_listens_for_fails_the_publish_at_once_with_the_reason():
    publisher = AmqpPublisher("amqp://guest:guest@127.0.0.1:1/", timeout_seconds=5)
    started = time.monotonic()
    with pytest.raises(BrokerError, match="Connection refused"):
        await publisher.publish(message_id="m-1", routing_key="shop.order.placed", body=b"{}", time=datetime.now(UTC))
    assert time.monotonic() - started < 2, "a refused connection waited for the timeout"
    assert await publisher.check() is False
    await publisher.close()
