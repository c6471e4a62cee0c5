"""The relay over the fakes: order kept per subject, failures retried with backoff, mails addressed when sent."""

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from app.core.host_lock import HostLock
from app.core.mail import MailDelivery, MailError, OutgoingMail
from app.models import OutboxKind
from app.repositories.outbox_repo import SCRUBBED
from app.services.maintenance_service import MaintenanceService, expiring
from app.services.outbox import Mail, Outbox
from app.services.outbox_relay import MAIL_RUN, OutboxRelay
from tests.unit.fakes import FakeUnitOfWork, make_user

OUTBOX = Outbox(events=True, mail=True)


class Broker:
    def __init__(self) -> None:
        self.published: list[tuple[str, str]] = []
        self.down = False

    async def publish(self, *, message_id: str, routing_key: str, body: bytes, time: datetime) -> None:
        if self.down:
            raise ConnectionError("broker down")
        event = json.loads(body)
        assert event["id"] == message_id and event["type"] == routing_key
        self.published.append((event["subject"], routing_key))


class Inbox:
    """Takes mails in order, up to the first whose text is in `refused`."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refused: set[str] = set()
        self.runs: list[int] = []

    async def send_all(self, mails: Sequence[OutgoingMail]) -> MailDelivery:
        self.runs.append(len(mails))
        for index, mail in enumerate(mails):
            if mail.text in self.refused:
                return MailDelivery(index, MailError("550 mailbox unavailable"))
            self.sent.append((mail.to, mail.text))
        return MailDelivery(len(mails))

    async def close(self) -> None:
        pass


def relay(uow: FakeUnitOfWork, broker: Broker | None = None, inbox: Inbox | None = None) -> OutboxRelay:
    return OutboxRelay(lambda: uow, publisher=broker, mailer=inbox, poll_seconds=0.01, max_backoff_seconds=8)


async def write(uow: FakeUnitOfWork, *batches: list) -> None:
    async with uow:
        for messages in batches:
            await uow.outbox.add(messages)
        await uow.commit()


def erased_event(subject: uuid.UUID) -> list:
    return OUTBOX.user_erased(subject, now=datetime.now(UTC))


async def test_events_go_out_in_order_and_are_marked_sent(uow):
    first, second = uuid.uuid4(), uuid.uuid4()
    await write(uow, erased_event(first), erased_event(second), erased_event(first))
    broker = Broker()

    outcome = await relay(uow, broker).relay_once()

    assert (outcome.sent, outcome.failed) == (3, frozenset())
    assert [subject for subject, _ in broker.published] == [str(first), str(second), str(first)]
    assert all(row.sent_at is not None for row in uow.outbox.rows)


async def test_a_failure_is_retried_after_a_backoff_and_nothing_behind_it_is_lost(uow):
    subject = uuid.uuid4()
    await write(uow, erased_event(subject), erased_event(subject))
    broker = Broker()
    broker.down = True
    relayer = relay(uow, broker)

    outcome = await relayer.relay_once()

    assert outcome.failed and broker.published == []
    failed, behind = uow.outbox.rows
    assert failed.attempts == 1 and failed.next_attempt_at > datetime.now(UTC) + timedelta(seconds=0.3)
    assert behind.attempts == 0  # released untried
    # The later event of the subject waits for the earlier one's retry.
    broker.down = False
    assert (await relayer.relay_once()).sent == 0
    failed.next_attempt_at = datetime.now(UTC)
    assert (await relayer.relay_once()).sent == 2
    assert len(broker.published) == 2


class SlowBroker(Broker):
    """Takes a moment to confirm, and counts how many publishes wait for their confirm at once."""

    def __init__(self, refuse: uuid.UUID | None = None) -> None:
        super().__init__()
        self.refuse = refuse
        self.in_flight = self.most_in_flight = 0

    async def publish(self, *, message_id: str, routing_key: str, body: bytes, time: datetime) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)
            if json.loads(body)["subject"] == str(self.refuse):
                raise ConnectionError("not confirmed")
            await super().publish(message_id=message_id, routing_key=routing_key, body=body, time=time)
        finally:
            self.in_flight -= 1


async def test_events_of_different_subjects_are_published_together_and_a_subjects_next_one_after(uow):
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await write(uow, erased_event(a), erased_event(b), erased_event(a), erased_event(c))
    broker = SlowBroker()

    outcome = await relay(uow, broker).relay_once()

    assert outcome.sent == 4
    assert broker.most_in_flight == 2  # waves [a, b] and [a, c]: a's second event waits for its first
    subjects = [subject for subject, _ in broker.published]
    assert subjects[:2] in ([str(a), str(b)], [str(b), str(a)]) and sorted(subjects[2:]) == sorted([str(a), str(c)])


async def test_a_failed_event_holds_back_the_waves_behind_it(uow):
    a, b = uuid.uuid4(), uuid.uuid4()
    await write(uow, erased_event(a), erased_event(b), erased_event(a), erased_event(b))
    broker = SlowBroker(refuse=b)

    outcome = await relay(uow, broker).relay_once()

    assert (outcome.sent, outcome.failed) == (1, frozenset({OutboxKind.EVENT}))
    assert broker.published == [(str(a), "shop.user.erased")]
    a1, b1, a2, b2 = uow.outbox.rows
    assert a1.sent_at is not None
    assert b1.sent_at is None and b1.attempts == 1 and b1.next_attempt_at > datetime.now(UTC)  # retried later
    assert (a2.attempts, b2.attempts) == (0, 0) and a2.sent_at is None and b2.sent_at is None  # released untried


async def test_mails_go_to_the_current_address_and_lose_their_body(uow):
    user = make_user(uow, email="reader@example.com")
    gone = uuid.uuid4()
    now = datetime.now(UTC)
    await write(
        uow,
        OUTBOX.mail_to(user.id, Mail("password_reset", "Reset", "link?token=secret"), now=now),
        OUTBOX.mail_to(gone, Mail("order_confirmation", "Order", "for nobody"), now=now),
    )
    inbox = Inbox()

    outcome = await relay(uow, inbox=inbox).relay_once()

    assert outcome.sent == 2  # the mail to an account that is gone counts as done
    assert inbox.sent == [("reader@example.com", "link?token=secret")]
    assert [row.payload for row in uow.outbox.rows] == [SCRUBBED, SCRUBBED]


async def test_mails_go_in_runs_and_a_refused_one_is_retried_later_with_those_behind_it_released(uow):
    user = make_user(uow, email="reader@example.com")
    now = datetime.now(UTC)
    texts = [f"mail {number}" for number in range(MAIL_RUN + 3)]
    await write(uow, *(OUTBOX.mail_to(user.id, Mail("order_confirmation", "Order", text), now=now) for text in texts))
    inbox = Inbox()
    inbox.refused = {"mail 1"}

    outcome = await relay(uow, inbox=inbox).relay_once()

    assert outcome.sent == 1 and inbox.sent == [("reader@example.com", "mail 0")]
    assert inbox.runs == [MAIL_RUN]  # the run stopped at the refusal; the next run was not started
    first, refused, *behind = uow.outbox.rows
    assert first.sent_at is not None
    assert refused.sent_at is None and refused.attempts == 1 and refused.next_attempt_at > datetime.now(UTC)
    assert all(row.sent_at is None and row.attempts == 0 for row in behind)  # released untried

    inbox.refused = set()
    refused.next_attempt_at = datetime.now(UTC)
    outcome = await relay(uow, inbox=inbox).relay_once()

    assert outcome.sent == len(texts) - 1
    assert inbox.runs[1:] == [MAIL_RUN, 2]
    assert sorted(text for _, text in inbox.sent) == sorted(texts)
    assert all(row.sent_at is not None for row in uow.outbox.rows)


async def test_purge_deletes_only_sent_rows_past_the_retention(uow):
    await write(uow, erased_event(uuid.uuid4()), erased_event(uuid.uuid4()), erased_event(uuid.uuid4()))
    old, recent, _pending = uow.outbox.rows
    old.sent_at = datetime.now(UTC) - timedelta(days=8)
    recent.sent_at = datetime.now(UTC) - timedelta(days=1)

    maintenance = MaintenanceService(lambda: uow, purges=expiring(outbox_retention=timedelta(days=7)))
    assert (await maintenance.purge_expired(batch_size=1))["outbox_sent"] == 1
    assert [row.position for row in uow.outbox.rows] == [recent.position, _pending.position]
    assert (await relay(uow, Broker()).backlog()).pending == 1


async def test_a_relay_stopped_before_it_ran_does_not_start(uow):
    relayer = relay(uow, Broker())
    relayer.stop()
    await asyncio.wait_for(relayer.run(), 1)


async def _until(condition, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def test_a_broker_outage_never_stops_the_mail_and_its_events_follow_when_it_returns(uow):
    user = make_user(uow, email="reader@example.com")
    now = datetime.now(UTC)
    await write(uow, erased_event(uuid.uuid4()), OUTBOX.mail_to(user.id, Mail("order_confirmation", "A", "a"), now=now))
    broker, inbox = Broker(), Inbox()
    broker.down = True
    relayer = relay(uow, broker, inbox)
    task = asyncio.create_task(relayer.run())
    try:
        await _until(lambda: len(inbox.sent) == 1)
        # The broker stays down: its channel sits out its backoff, and a mail written now still goes out.
        await write(uow, OUTBOX.mail_to(user.id, Mail("order_confirmation", "B", "b"), now=datetime.now(UTC)))
        await _until(lambda: len(inbox.sent) == 2)
        assert broker.published == []
        broker.down = False
        await _until(lambda: len(broker.published) == 1)
    finally:
        relayer.stop()
        await asyncio.wait_for(task, 5)
    assert all(row.sent_at is not None for row in uow.outbox.rows)


async def test_relays_taking_turns_send_one_at_a_time_and_the_next_takes_over_when_the_first_stops(uow, tmp_path):
    lock_path = tmp_path / "relay.lock"
    first_broker, second_broker = Broker(), Broker()
    first, second = relay(uow, first_broker), relay(uow, second_broker)
    tasks = [asyncio.create_task(first.run(turn=HostLock(lock_path)))]
    await _until(lambda: _taken(lock_path))  # the first relay holds its turn
    tasks.append(asyncio.create_task(second.run(turn=HostLock(lock_path))))
    try:
        await write(uow, erased_event(uuid.uuid4()))
        await _until(lambda: len(first_broker.published) == 1)
        await asyncio.sleep(0.05)  # several of the second relay's polls
        assert second_broker.published == []
        first.stop()
        await asyncio.wait_for(tasks[0], 5)
        await write(uow, erased_event(uuid.uuid4()))
        await _until(lambda: len(second_broker.published) == 1)
    finally:
        first.stop()
        second.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert len(first_broker.published) == 1


def _taken(path) -> bool:
    probe = HostLock(path)
    if probe.acquire():
        probe.release()
        return False
    return True
