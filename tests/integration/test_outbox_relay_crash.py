"""Several relays at once, and a relay killed with SIGKILL: every committed event still reaches the exchange, each
subject's in order (duplicates allowed after a crash, and counted)."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from app.core.amqp import AmqpPublisher
from app.models import OutboxKind
from app.repositories.outbox_repo import NewMessage
from app.services.outbox_relay import OutboxRelay
from tests.conftest import AMQP_URL, ROOT
from tests.integration.outbox_support import EventConsumer, wait_until

pytestmark = pytest.mark.skipif(not AMQP_URL, reason="TEST_AMQP_URL is not set (a RabbitMQ to publish to)")
SUBJECTS, PER_SUBJECT = 40, 5


def events(run: str) -> list[NewMessage]:
    """SUBJECTS subjects with PER_SUBJECT numbered events each, interleaved as concurrent orders would be."""
    subjects = [uuid.uuid4() for _ in range(SUBJECTS)]
    now = datetime.now(UTC)
    messages = []
    for sequence in range(1, PER_SUBJECT + 1):
        for subject in subjects:
            event_id = uuid.uuid4()
            payload = {"id": str(event_id), "type": "shop.test.relayed", "subject": str(subject), "run": run}
            payload["sequence"] = sequence
            messages.append(
                NewMessage(
                    id=event_id,
                    kind=OutboxKind.EVENT,
                    type="shop.test.relayed",
                    subject=subject,
                    sequence=sequence,
                    payload=json.dumps(payload),
                    created_at=now,
                )
            )
    return messages


async def write(container, messages: list[NewMessage]) -> None:
    async with container.unit_of_work() as uow:
        await uow.outbox.add(messages)
        await uow.commit()


def in_order_per_subject(seen: list[dict]) -> dict[str, list[int]]:
    """Each subject's sequences in the order they first arrived."""
    firsts: dict[str, list[int]] = {}
    for event in seen:
        numbers = firsts.setdefault(event["subject"], [])
        if event["sequence"] not in numbers:
            numbers.append(event["sequence"])
    return firsts


def expect_all(messages: list[NewMessage], seen: list[dict]) -> None:
    assert {event["id"] for event in seen} == {str(message.id) for message in messages}
    everything = list(range(1, PER_SUBJECT + 1))
    assert all(numbers == everything for numbers in in_order_per_subject(seen).values())


async def test_concurrent_relays_send_each_event_once_and_in_order(container):
    run = uuid.uuid4().hex
    messages = events(run)
    await write(container, messages)
    consumer = EventConsumer(AMQP_URL or "", lambda event: event.get("run") == run)
    publishers = [AmqpPublisher(AMQP_URL or "") for _ in range(3)]
    relays = [
        OutboxRelay(
            container.unit_of_work, publisher=p, mailer=None, poll_seconds=0.01, max_backoff_seconds=1, batch_size=7
        )
        for p in publishers
    ]
    async with consumer.running():
        tasks = [asyncio.create_task(relay.run()) for relay in relays]
        try:
            await wait_until(lambda: len(consumer.events) >= len(messages), within=30)
            await asyncio.sleep(0.3)
        finally:
            for relay in relays:
                relay.stop()
            await asyncio.gather(*tasks)
            for publisher in publishers:
                await publisher.close()
    expect_all(messages, consumer.events)
    assert len(consumer.events) == len(messages), "an event went out twice without a crash"


@pytest.fixture
def relay_process(database) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "ENVIRONMENT": "test",
        "EVENTS_URL": AMQP_URL or "",
        "OUTBOX_POLL_SECONDS": "0.05",
        "OUTBOX_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.relay"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


async def test_a_relay_killed_mid_run_loses_nothing(container, relay_process):
    run = uuid.uuid4().hex
    messages = events(run)
    await write(container, messages)
    consumer = EventConsumer(AMQP_URL or "", lambda event: event.get("run") == run)
    async with consumer.running():
        first = relay_process()
        await wait_until(lambda: len(consumer.events) >= 1, within=30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        delivered_before = len({event["id"] for event in consumer.events})
        relay = OutboxRelay(container.unit_of_work, publisher=None, mailer=None, poll_seconds=1, max_backoff_seconds=1)
        pending_after_kill = (await relay.backlog()).pending

        second = relay_process()
        await wait_until(lambda: len({e["id"] for e in consumer.events}) >= len(messages), within=30)
        await asyncio.sleep(0.3)
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0, second.stderr.read().decode() if second.stderr else ""
    expect_all(messages, consumer.events)
    assert (await relay.backlog()).pending == 0
    duplicates = len(consumer.events) - len(messages)
    print(
        f"killed after {delivered_before} of {len(messages)} events ({pending_after_kill} pending); "
        f"all delivered after the restart, {duplicates} duplicates"
    )
    assert pending_after_kill > 0, "the relay finished before it was killed: the test proved nothing"
