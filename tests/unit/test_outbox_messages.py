"""The services leave their messages in the outbox inside the transaction they commit, and only then."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.config import Settings
from app.core.errors import ConflictError
from app.core.pagination import CursorCodec
from app.core.security import TokenCodec
from app.models import OrderStatus, OutboxKind, Role
from app.schemas.order import OrderCreate
from app.schemas.user import UserCreate
from app.services.auth_service import AuthService
from app.services.order_service import OrderService
from app.services.order_status_service import OrderStatusService
from app.services.outbox import Mail, Outbox
from tests.unit.fakes import FakeHasher, FakeReadSide, FakeThrottle, FakeUnitOfWork, add_product, caller

EVERYTHING = Outbox(events=True, mail=True)


def _orders(uow: FakeUnitOfWork, outbox: Outbox = EVERYTHING) -> OrderService:
    return OrderService(
        lambda: uow,
        FakeReadSide(uow.store),
        currency="EUR",
        key_ttl=timedelta(hours=24),
        cursors=CursorCodec(b"unit"),
        outbox=outbox,
    )


def _body(product_id: uuid.UUID, quantity: int) -> OrderCreate:
    return OrderCreate.model_validate({"items": [{"product_id": str(product_id), "quantity": quantity}]})


async def test_placing_an_order_leaves_its_cloud_event_and_its_confirmation_mail(uow):
    mug = add_product(uow, price_cents=1250, stock=5, sku="MUG", name="Mug")
    buyer = caller()

    order = (await _orders(uow).place_order(buyer, _body(mug.id, 2))).order

    [event] = uow.outbox.messages(OutboxKind.EVENT)
    cloud_event = json.loads(event.payload)
    assert set(cloud_event) == {
        "specversion", "id", "source", "type", "time", "subject", "sequence", "datacontenttype", "data"
    }  # fmt: skip
    assert cloud_event["specversion"] == "1.0" and cloud_event["id"] == str(event.id)
    assert (cloud_event["type"], cloud_event["subject"], cloud_event["sequence"]) == (
        "shop.order.placed",
        str(order.id),
        1,
    )
    assert cloud_event["datacontenttype"] == "application/json"
    assert cloud_event["data"] == order.model_dump(mode="json")
    [mail] = uow.outbox.messages(OutboxKind.MAIL)
    assert (mail.type, mail.subject) == ("mail.order_confirmation", buyer.id)
    text = json.loads(mail.payload)["text"]
    assert str(order.id) in text and "2 x Mug (MUG) at 12.50 EUR = 25.00 EUR" in text and "Total: 25.00 EUR" in text
    assert uow.commits == 1


async def test_an_order_refused_leaves_nothing(uow):
    mug = add_product(uow, stock=1)
    with pytest.raises(ConflictError):
        await _orders(uow).place_order(caller(), _body(mug.id, 2))
    assert uow.outbox.messages() == []


async def test_without_channels_nothing_is_written(uow):
    mug = add_product(uow, stock=5)
    await _orders(uow, Outbox(events=False, mail=False)).place_order(caller(), _body(mug.id, 1))
    assert uow.outbox.messages() == []


async def test_mail_only_writes_the_confirmation(uow):
    mug = add_product(uow, stock=5)
    await _orders(uow, Outbox(events=False, mail=True)).place_order(caller(), _body(mug.id, 1))
    assert [m.kind for m in uow.outbox.messages()] == [OutboxKind.MAIL]


async def test_each_status_change_is_numbered_after_the_last(uow):
    mug = add_product(uow, stock=5)
    buyer = caller()
    admin = caller(Role.ADMIN)
    order = (await _orders(uow).place_order(buyer, _body(mug.id, 1))).order
    statuses = OrderStatusService(lambda: uow, outbox=EVERYTHING)

    await statuses.change_order_status(admin, order.id, OrderStatus.PAID)
    with pytest.raises(ConflictError):
        await statuses.change_order_status(admin, order.id, OrderStatus.DELIVERED)
    await statuses.cancel_order(buyer, order.id)

    events = [json.loads(m.payload) for m in uow.outbox.messages(OutboxKind.EVENT)]
    assert [(e["type"], e["sequence"]) for e in events] == [
        ("shop.order.placed", 1),
        ("shop.order.status_changed", 2),
        ("shop.order.status_changed", 3),
    ]
    assert [(e["data"]["from_status"], e["data"]["to_status"], e["data"]["changed_by"]) for e in events[1:]] == [
        ("pending", "paid", str(admin.id)),
        ("paid", "cancelled", str(buyer.id)),
    ]


async def test_registration_leaves_an_event_without_the_email(uow):
    auth = AuthService(
        lambda: uow,
        FakeReadSide(uow.store),
        hasher=FakeHasher(uow),
        tokens=TokenCodec(Settings(_env_file=None), "unit-test-signing-key-0123456789abcdef"),
        throttle=FakeThrottle(),
        outbox=EVERYTHING,
    )
    user = await auth.register(UserCreate(email="Someone@Example.com", password="long-enough-password"))
    [event] = uow.outbox.messages()
    assert json.loads(event.payload)["data"] == {
        "id": str(user.id),
        "role": "customer",
        "created_at": user.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert "example.com" not in event.payload.lower()


async def test_erasure_helpers_leave_the_event_and_no_mail_of_the_user(uow):
    user_id, now = uuid.uuid4(), datetime.now(UTC)
    async with uow:
        await uow.outbox.add(EVERYTHING.mail_to(user_id, Mail("password_reset", "Reset", "token-123"), now=now))
        await uow.outbox.add(EVERYTHING.mail_to(uuid.uuid4(), Mail("other", "Hi", "someone else"), now=now))
        assert await uow.outbox.forget_mail_to(user_id=user_id) == 1
        await uow.outbox.add(EVERYTHING.user_erased(user_id, now=now))
        await uow.commit()
    erased = [json.loads(m.payload) for m in uow.outbox.messages() if m.subject == user_id]
    assert [(e["type"], e["sequence"], e["data"]) for e in erased] == [("shop.user.erased", 2, {"id": str(user_id)})]
