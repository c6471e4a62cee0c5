"""The served service relays by itself (no extra process): orders placed over HTTP reach the exchange and the
inbox within a second, and a `kill -9` of the service mid-stream loses no event of a committed order."""

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from app.models import Order
from tests.conftest import AMQP_URL
from tests.integration.outbox_support import EventConsumer, MailServer, wait_until
from tests.servers import ServiceProcess

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not AMQP_URL, reason="TEST_AMQP_URL is not set (a RabbitMQ to publish to)"),
]
PASSWORD = "service-password-123"


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def service_env(database, mail_server) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": os.environ["JWT_SECRET_KEY"],
        "DATABASE_URL": database.url,
        "EVENTS_URL": AMQP_URL or "",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail_server.port),
        "SMTP_STARTTLS": "false",
        "OUTBOX_LEASE_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
    }


async def shop_setup(container, http: httpx.AsyncClient) -> tuple[dict[str, str], str, str]:
    """An admin's product and a customer's headers, through the running service."""
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    await container.services.users.ensure_admin(email=admin_email, password=PASSWORD)
    admin = await http.post("/auth/login", data={"username": admin_email, "password": PASSWORD})
    admin_headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    body = {"sku": f"SKU-{uuid.uuid4().hex[:8]}", "name": "Kettle", "price_cents": 3000, "stock": 10_000}
    product = await http.post("/products", json=body, headers=admin_headers)
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    registered = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
    login = await http.post("/auth/login", data={"username": email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    return headers, product.json()["id"], registered.json()["id"]


async def order_ids_of(container, user_id: str) -> set[str]:
    async with container.session_factory() as session:
        rows = await session.scalars(select(Order.id).where(Order.user_id == uuid.UUID(user_id)))
        return {str(order_id) for order_id in rows}


async def test_the_service_publishes_and_mails_by_itself_within_a_second(container, service_env, mail_server):
    placed_at: dict[str, float] = {}
    arrived_at: dict[str, float] = {}

    def watch(event: dict) -> bool:
        if event.get("type") == "shop.order.placed" and event["subject"] in placed_at:
            arrived_at.setdefault(event["subject"], time.monotonic())
            return True
        return False

    consumer = EventConsumer(AMQP_URL or "", watch)
    with ServiceProcess(service_env) as service:
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http, consumer.running():
            headers, product_id, _ = await shop_setup(container, http)
            for _ in range(20):
                body = {"items": [{"product_id": product_id, "quantity": 1}]}
                response = await http.post("/orders", json=body, headers=headers)
                assert response.status_code == 201, response.text
                placed_at[response.json()["id"]] = time.monotonic()
                await asyncio.sleep(0.05)
            await wait_until(lambda: len(arrived_at) == 20 and len(mail_server.received) >= 20)
    latencies = sorted(arrived_at[order_id] - placed_at[order_id] for order_id in placed_at)
    print(f"commit to consumer: median {statistics.median(latencies):.3f} s, max {latencies[-1]:.3f} s")
    assert latencies[-1] < 1.0
    assert len({mail.message["Subject"] for mail in mail_server.received}) == 20


async def test_a_service_killed_mid_stream_loses_no_event(container, service_env, mail_server):
    events: list[dict] = []
    consumer = EventConsumer(AMQP_URL or "", lambda event: event.get("type") == "shop.order.placed")
    async with consumer.running():
        first = ServiceProcess(service_env).start()
        try:
            async with httpx.AsyncClient(base_url=first.base_url, timeout=10) as http:
                headers, product_id, user_id = await shop_setup(container, http)
                body = {"items": [{"product_id": product_id, "quantity": 1}]}
                for count in range(40):
                    if count == 25:
                        first.process.kill()  # SIGKILL, while events of earlier orders may be on the way
                    try:
                        await http.post("/orders", json=body, headers=headers)
                    except httpx.HTTPError:
                        break
        finally:
            first.stop()
        with ServiceProcess(service_env):
            committed = await order_ids_of(container, user_id)

            async def all_published() -> bool:
                return {e["subject"] for e in consumer.events} >= committed

            await wait_until(all_published, within=20)
            await asyncio.sleep(0.3)
        events = [e for e in consumer.events if e["subject"] in committed or e["data"]["user_id"] == user_id]
    published = {e["subject"] for e in events}
    assert published == committed, "an event is missing, or exists for an order that is not in the database"
    assert len(committed) >= 25
    print(
        f"{len(committed)} orders committed around a kill -9: {len(events)} events, "
        f"{len(events) - len(published)} duplicates"
    )
