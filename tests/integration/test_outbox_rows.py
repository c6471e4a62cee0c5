"""The outbox is written in the transaction of the change: a row for every committed change, none otherwise."""

import json
from typing import Any

import pytest
from sqlalchemy import select

from app.models import OutboxMessage
from tests.conftest import http_client, make_settings
from tests.integration.shop import make_product, place, place_ok


async def outbox_rows(app: Any) -> list[OutboxMessage]:
    async with app.state.container.session_factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.position))).all())


@pytest.fixture
def shop_with_outbox(app_factory, database):
    """An app that writes events and mails (the relay is not running, so the rows stay)."""
    return app_factory(make_settings(database, events_url="amqp://guest:guest@127.0.0.1:1/", smtp_host="mail.test"))


async def test_a_placed_order_writes_its_event_and_its_confirmation_mail(shop_with_outbox, client, admin, customer):
    product = await make_product(client, admin, stock=5)
    async with http_client(shop_with_outbox) as events_client:
        order = await place_ok(events_client, customer, (product["id"], 2))

    event, mail = await outbox_rows(shop_with_outbox)
    assert (event.kind, event.type, str(event.subject), event.sequence) == (
        "event",
        "shop.order.placed",
        order["id"],
        1,
    )
    cloud_event = json.loads(event.payload)
    assert cloud_event["id"] == str(event.id) and cloud_event["data"] == order
    assert (mail.kind, mail.type, str(mail.subject)) == ("mail", "mail.order_confirmation", customer.id)
    assert customer.email not in mail.payload  # the address is read when the mail is sent
    assert event.sent_at is None and event.attempts == 0


async def test_an_order_that_fails_writes_nothing(shop_with_outbox, client, admin, customer):
    product = await make_product(client, admin, stock=1)
    async with http_client(shop_with_outbox) as events_client:
        response = await place(events_client, customer, (product["id"], 2))
    assert response.status_code == 409
    assert await outbox_rows(shop_with_outbox) == []


async def test_status_changes_and_cancel_write_numbered_events(shop_with_outbox, client, admin, customer):
    product = await make_product(client, admin, stock=5)
    async with http_client(shop_with_outbox) as events_client:
        order = await place_ok(events_client, customer, (product["id"], 1))
        paid = await events_client.patch(
            f"/orders/{order['id']}/status", json={"status": "paid"}, headers=admin.headers
        )
        cancelled = await events_client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
        refused = await events_client.post(f"/orders/{order['id']}/cancel", headers=customer.headers)
    assert (paid.status_code, cancelled.status_code, refused.status_code) == (200, 200, 409)

    events = [row for row in await outbox_rows(shop_with_outbox) if row.kind == "event"]
    assert [(row.type, row.sequence) for row in events] == [
        ("shop.order.placed", 1),
        ("shop.order.status_changed", 2),
        ("shop.order.status_changed", 3),
    ]
    data = json.loads(events[2].payload)["data"]
    assert (data["from_status"], data["to_status"], data["status"]) == ("paid", "cancelled", "cancelled")
    assert data["changed_by"] == customer.id and data == {**cancelled.json(), **data}


async def test_registration_writes_an_event_without_the_email(shop_with_outbox):
    async with http_client(shop_with_outbox) as events_client:
        response = await events_client.post(
            "/auth/register", json={"email": "New.Person@example.com", "password": "long-enough-password"}
        )
    assert response.status_code == 201
    [event] = await outbox_rows(shop_with_outbox)
    assert event.type == "shop.user.registered"
    data = json.loads(event.payload)["data"]
    assert data == {"id": response.json()["id"], "role": "customer", "created_at": data["created_at"]}
    assert "example.com" not in event.payload.lower()


async def test_without_events_url_and_mail_server_the_outbox_stays_empty(app, client, admin, customer):
    product = await make_product(client, admin, stock=5)
    await place_ok(client, customer, (product["id"], 1))
    assert await outbox_rows(app) == []
