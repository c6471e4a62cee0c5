"""Order confirmations through the outbox to a real SMTP server (aiosmtpd, in-process), outage included."""

import json
import logging
import time
import uuid

import pytest
from sqlalchemy import select

from app.models import OutboxMessage
from tests.conftest import http_client, make_settings
from tests.integration.outbox_support import relaying, wait_until
from tests.integration.shop import make_product, place_ok


@pytest.fixture
def shop(app_factory, database, mail_server):
    settings = make_settings(
        database,
        smtp_host="127.0.0.1",
        smtp_port=mail_server.port,
        smtp_starttls=False,
        email_from="orders@shop.test",
        outbox_poll_seconds=0.05,
        outbox_max_backoff_seconds=1,
    )
    return app_factory(settings)


async def mail_rows(app) -> list[OutboxMessage]:
    async with app.state.container.session_factory() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "mail").order_by(OutboxMessage.position)
        return list((await session.scalars(query)).all())


async def test_the_customer_gets_one_confirmation_per_order(shop, mail_server, client, admin, customer):
    product = await make_product(client, admin, stock=5, name="Teapot", sku="TEA-POT-1", price_cents=2499)
    async with http_client(shop) as shop_client, relaying(shop):
        order = await place_ok(shop_client, customer, (product["id"], 2))
        await wait_until(lambda: len(mail_server.received) == 1)

    [mail] = mail_server.received
    assert mail.recipients == [customer.email]
    assert mail.message["From"] == "orders@shop.test" and mail.message["To"] == customer.email
    assert order["id"] in mail.message["Subject"]
    assert "2 x Teapot (TEA-POT-1) at 24.99 USD = 49.98 USD" in mail.text and "Total: 49.98 USD" in mail.text
    [row] = await mail_rows(shop)
    # Sent: the row keeps no body (and never held the address).
    assert row.sent_at is not None and json.loads(row.payload) == {}


async def test_mails_share_one_connection_and_a_dropped_one_is_opened_again_at_once(
    shop, mail_server, client, admin, customer
):
    product = await make_product(client, admin, stock=10)
    async with http_client(shop) as shop_client, relaying(shop):
        for count in (1, 2, 3):
            await place_ok(shop_client, customer, (product["id"], 1))
            await wait_until(lambda count=count: len(mail_server.received) == count)
        # The server goes away and comes back while the relay idles (as an idle timeout would close the
        # connection): the next mail goes out on a new connection, at the first attempt.
        mail_server.stop()
        mail_server.start()
        await place_ok(shop_client, customer, (product["id"], 1))
        await wait_until(lambda: len(mail_server.received) == 4)

    peers = [mail.peer for mail in mail_server.received]
    assert peers[0] is not None and peers[0] == peers[1] == peers[2] != peers[3]
    assert [row.attempts for row in await mail_rows(shop)] == [1, 1, 1, 1]


async def test_a_mail_server_outage_delays_the_mail_and_never_the_order(shop, mail_server, client, admin, customer):
    product = await make_product(client, admin, stock=5)
    mail_server.stop()
    async with http_client(shop) as shop_client, relaying(shop):
        started = time.monotonic()
        order = await place_ok(shop_client, customer, (product["id"], 1))
        assert time.monotonic() - started < 2
        await wait_until(lambda: _tried_twice(shop))
        assert mail_server.received == []
        mail_server.start()
        await wait_until(lambda: len(mail_server.received) == 1)
    assert order["id"] in mail_server.received[0].message["Subject"]
    [row] = await mail_rows(shop)
    assert row.sent_at is not None and row.attempts >= 2


async def test_a_refused_recipient_is_retried_until_the_server_takes_the_mail(
    shop, mail_server, client, admin, customer
):
    product = await make_product(client, admin, stock=5)
    mail_server.refuse_recipients = True
    async with http_client(shop) as shop_client, relaying(shop):
        await place_ok(shop_client, customer, (product["id"], 1))
        await wait_until(lambda: _tried_twice(shop))
        assert mail_server.received == []
        mail_server.refuse_recipients = False
        await wait_until(lambda: len(mail_server.received) == 1)
    assert mail_server.received[0].recipients == [customer.email]
    [row] = await mail_rows(shop)
    assert row.sent_at is not None and row.attempts >= 2


async def _tried_twice(app) -> bool:
    rows = await mail_rows(app)
    return bool(rows) and rows[0].attempts >= 2


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_development_without_a_mail_server_writes_the_mail_to_the_log(
    app_factory, database, client, admin, customer
):
    shop = app_factory(make_settings(database, environment="development", outbox_poll_seconds=0.05))
    product = await make_product(client, admin, stock=5)
    handler, mail_log = Records(), logging.getLogger("app.mail")
    mail_log.addHandler(handler)
    level, _ = mail_log.level, mail_log.setLevel(logging.INFO)
    try:
        async with http_client(shop) as shop_client, relaying(shop):
            order = await place_ok(shop_client, customer, (product["id"], 1))
            await wait_until(lambda: bool(handler.records))
    finally:
        mail_log.removeHandler(handler)
        mail_log.setLevel(level)
    [record] = handler.records
    assert order["id"] in record.mail_subject and record.mail_to_user == customer.id
    assert customer.email not in record.getMessage() + str(record.__dict__)


async def test_production_without_a_mail_server_warns_at_start_up_and_keeps_no_mail(
    app_factory, database, client, admin, customer
):
    key = uuid.uuid4().hex + uuid.uuid4().hex.upper()  # 32+ bytes, 16+ distinct characters
    shop = app_factory(make_settings(database, environment="production", jwt_secret_key=key))
    product = await make_product(client, admin, stock=5)
    handler, app_log = Records(), logging.getLogger("app")
    app_log.addHandler(handler)
    try:
        async with shop.router.lifespan_context(shop):
            assert shop.state.container.relay is None
    finally:
        app_log.removeHandler(handler)
    assert any("SMTP_HOST is not set" in record.getMessage() for record in handler.records)
    async with http_client(shop) as shop_client:
        login = await shop_client.post("/auth/login", data={"username": customer.email, "password": customer.password})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {"items": [{"product_id": product["id"], "quantity": 1}]}
        assert (await shop_client.post("/orders", json=body, headers=headers)).status_code == 201
    assert await mail_rows(shop) == []
