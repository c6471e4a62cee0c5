"""Domain events through the outbox to a real RabbitMQ: exactly the committed ones, in order, through outages."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import AMQP_URL, http_client, make_settings
from tests.integration.outbox_support import EventConsumer, relaying, wait_until
from tests.integration.shop import make_product, place, place_ok
from tests.servers import TcpProxy

pytestmark = pytest.mark.skipif(not AMQP_URL, reason="TEST_AMQP_URL is not set (a RabbitMQ to publish to)")
CLOUD_EVENT_KEYS = {"specversion", "id", "source", "type", "time", "subject", "sequence", "datacontenttype", "data"}


def via_proxy(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"))


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    assert AMQP_URL
    parts = urlsplit(AMQP_URL)
    tcp = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672).start()
    yield tcp
    tcp.close()


def events_app(app_factory: Any, database: Any, url: str | None = None) -> Any:
    settings = make_settings(
        database, events_url=url or AMQP_URL, outbox_poll_seconds=0.05, outbox_max_backoff_seconds=1
    )
    return app_factory(settings)


def subjects(*ids: str) -> Any:
    watched = set(ids)
    return lambda event: event.get("subject") in watched


async def test_a_consumer_sees_exactly_the_committed_events_in_order(app_factory, database, client, admin, customer):
    shop = events_app(app_factory, database)
    product = await make_product(client, admin, stock=3)
    async with http_client(shop) as shop_client:
        order = await place_ok(shop_client, customer, (product["id"], 1))
        consumer = EventConsumer(AMQP_URL or "", subjects(order["id"]))
        async with consumer.running(), relaying(shop):
            refused = await place(shop_client, customer, (product["id"], 5))  # rolled back: no event
            paid = await shop_client.patch(
                f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers
            )
            forbidden = await shop_client.patch(
                f"/orders/{order['id']}/status", json={"status": "delivered"}, headers=admin.headers
            )
            cancelled = await shop_client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
            await wait_until(lambda: len(consumer.events) >= 3)
            await asyncio.sleep(0.5)  # anything more would arrive meanwhile
    assert (refused.status_code, paid.status_code, forbidden.status_code, cancelled.status_code) == (
        409,
        200,
        409,
        200,
    )

    placed, to_paid, to_cancelled = consumer.events
    assert [(e["type"], e["sequence"]) for e in consumer.events] == [
        ("shop.order.placed", 1),
        ("shop.order.status_changed", 2),
        ("shop.order.status_changed", 3),
    ]
    for event in consumer.events:
        assert set(event) == CLOUD_EVENT_KEYS
        assert (event["specversion"], event["datacontenttype"], event["subject"]) == (
            "1.0",
            "application/json",
            order["id"],
        )
        assert event["time"].endswith("Z")
    assert placed["data"] == order
    assert {k: to_paid["data"][k] for k in ("from_status", "to_status", "changed_by")} == {
        "from_status": "pending",
        "to_status": "paid",
        "changed_by": admin.id,
    }
    assert to_cancelled["data"] == {
        **cancelled.json(),
        "from_status": "paid",
        "to_status": "cancelled",
        "changed_by": customer.id,
    }
    for delivery in consumer.deliveries:
        message = delivery.message
        assert message.message_id == delivery.body["id"]
        assert message.content_type == "application/cloudevents+json"
        assert message.delivery_mode == 2  # persistent
        assert message.routing_key == delivery.body["type"] == message.type
        assert message.exchange == "shop.events"
        assert message.timestamp is not None  # the event's time, to the second (AMQP's resolution)
        sent_at = message.timestamp.replace(tzinfo=message.timestamp.tzinfo or UTC)
        assert abs(sent_at - datetime.fromisoformat(delivery.body["time"])) < timedelta(seconds=1)


async def test_a_registration_is_published_without_the_email(app_factory, database):
    shop = events_app(app_factory, database)
    email = f"someone-{uuid.uuid4().hex[:8]}@example.com"
    consumer = EventConsumer(AMQP_URL or "", lambda event: event["type"] == "shop.user.registered")
    async with http_client(shop) as shop_client, consumer.running(), relaying(shop):
        response = await shop_client.post("/auth/register", json={"email": email, "password": "long-enough-pw"})
        user_id = response.json()["id"]
        await wait_until(lambda: any(e["subject"] == user_id for e in consumer.events))
    [event] = [e for e in consumer.events if e["subject"] == user_id]
    assert event["data"] == {"id": user_id, "role": "customer", "created_at": event["data"]["created_at"]}
    assert email not in str(event)


async def test_a_broker_outage_delays_events_and_loses_none(app_factory, database, client, admin, customer, proxy):
    shop = events_app(app_factory, database, via_proxy(AMQP_URL or "", proxy.port))
    product = await make_product(client, admin, stock=1000)
    order_ids: list[str] = []
    consumer = EventConsumer(AMQP_URL or "", lambda event: event["subject"] in order_ids)
    async with http_client(shop) as shop_client, consumer.running(), relaying(shop):
        first = await place_ok(shop_client, customer, (product["id"], 1))
        order_ids.append(first["id"])
        await wait_until(lambda: len(consumer.events) == 1)

        proxy.cut()
        slowest = 0.0
        for _ in range(10):
            started = time.monotonic()
            order = await place_ok(shop_client, customer, (product["id"], 1))
            order_ids.append(order["id"])
            paid = await shop_client.patch(
                f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers
            )
            assert paid.status_code == 200
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 2, "a request waited for the broker"
        await asyncio.sleep(1.5)
        assert len(consumer.events) == 1, "an event got through a cut broker"
        backlog = await shop.state.container.relay.backlog()
        assert backlog.pending == 20

        proxy.restore()
        drained = await wait_until(lambda: len(consumer.events) == 21, within=20)
    per_order: dict[str, list[int]] = {}
    for event in consumer.events:
        per_order.setdefault(event["subject"], []).append(event["sequence"])
    assert per_order == {order_id: [1] if order_id == first["id"] else [1, 2] for order_id in order_ids}
    assert len({event["id"] for event in consumer.events}) == 21
    print(f"backlog of 20 events drained {drained:.2f} s after the broker came back")


async def test_readiness_reports_an_unreachable_broker_as_degraded(app_factory, database, proxy):
    shop = events_app(app_factory, database, via_proxy(AMQP_URL or "", proxy.port))
    async with http_client(shop) as shop_client:
        up = await shop_client.get("/health/ready")
        proxy.cut()
        down = await shop_client.get("/health/ready")
    assert (up.status_code, up.json()) == (200, {"status": "ok", "checks": {"database": "ok", "broker": "ok"}})
    assert (down.status_code, down.json()) == (
        200,
        {"status": "degraded", "checks": {"database": "ok", "broker": "degraded"}},
    )


async def test_metrics_show_the_outbox_backlog(app_factory, database, client, admin, customer, proxy):
    shop = events_app(app_factory, database, via_proxy(AMQP_URL or "", proxy.port))
    product = await make_product(client, admin, stock=5)
    proxy.cut()
    async with http_client(shop) as shop_client:
        await place_ok(shop_client, customer, (product["id"], 1))
        metrics = (await shop_client.get("/metrics")).text
    assert "outbox_backlog_messages 1.0" in metrics
    age = float(next(line.split()[1] for line in metrics.splitlines() if line.startswith("outbox_oldest_message_age")))
    assert 0 < age < 10
