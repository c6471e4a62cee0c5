"""The messages a use case leaves in the outbox, built here and written in its own transaction.

A use case asks `Outbox` for its messages and writes them through its unit of work before its one commit
(`uow.outbox.add(...)`, or `uow.orders.place(..., messages=...)` for a new order), so they exist if and only if
the change committed; the relay (app/services/outbox_relay.py) sends them afterwards. Events become CloudEvents
for the exchange; mails go to a user, whose address is read when the mail is sent, so the outbox never holds one.

For the account use cases (erasure, password reset), in one transaction with the change:

    await uow.outbox.add(outbox.user_erased(user.id, now=now))       # the `shop.user.erased` event
    await uow.outbox.forget_mail_to(user_id=user.id)                 # no mail to an erased account
    await uow.outbox.add(outbox.mail_to(user.id, Mail(kind="password_reset", subject=..., text=...), now=now))

A mail's body (a reset link, say) is emptied as soon as the mail server took it.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.models import OutboxKind
from app.repositories.outbox_repo import NewMessage
from app.schemas.events import CloudEvent
from app.schemas.order import OrderRead
from app.schemas.user import UserRead

EVENT_SOURCE = "/order-service"
ORDER_PLACED = "shop.order.placed"
ORDER_STATUS_CHANGED = "shop.order.status_changed"
USER_REGISTERED = "shop.user.registered"
USER_ERASED = "shop.user.erased"
MAIL_TYPE_PREFIX = "mail."


@dataclass(frozen=True, slots=True)
class Mail:
    """A plain-text mail; `kind` names it in the outbox and the logs (`order_confirmation`, `password_reset`)."""

    kind: str
    subject: str
    text: str


class Outbox:
    """Builds outbox messages; without a channel for them (`events`, `mail`) it builds none, so the outbox
    does not grow with what nobody would send."""

    def __init__(self, *, events: bool, mail: bool) -> None:
        self.events = events
        self.mail = mail

    def order_placed(self, order: OrderRead) -> list[NewMessage]:
        """`shop.order.placed` (sequence 1) and the customer's confirmation mail."""
        messages = self._event(ORDER_PLACED, order.id, 1, order, order.created_at)
        return messages + self.mail_to(order.user_id, order_confirmation(order), now=order.created_at)

    def order_status_changed(
        self, order: OrderRead, *, from_status: str, changed_by: uuid.UUID, sequence: int
    ) -> list[NewMessage]:
        """`shop.order.status_changed`; `sequence` is the change's place in the order's history (creation is 1)."""
        data = {
            **order.model_dump(mode="json"),
            "from_status": from_status,
            "to_status": order.status,
            "changed_by": str(changed_by),
        }
        return self._event(ORDER_STATUS_CHANGED, order.id, sequence, data, order.updated_at)

    def user_registered(self, user: UserRead) -> list[NewMessage]:
        """`shop.user.registered`, without the email."""
        data = {"id": str(user.id), "role": user.role, "created_at": _time(user.created_at)}
        return self._event(USER_REGISTERED, user.id, 1, data, user.created_at)

    def user_erased(self, user_id: uuid.UUID, *, now: datetime) -> list[NewMessage]:
        """`shop.user.erased`, the account's last event (sequence 2, after `registered`)."""
        return self._event(USER_ERASED, user_id, 2, {"id": str(user_id)}, now)

    def mail_to(self, user_id: uuid.UUID, mail: Mail, *, now: datetime) -> list[NewMessage]:
        """A mail to the user's address as it is when the mail is sent; none for an erased account."""
        if not self.mail:
            return []
        payload = json.dumps({"subject": mail.subject, "text": mail.text}, separators=(",", ":"))
        return [_message(OutboxKind.MAIL, MAIL_TYPE_PREFIX + mail.kind, user_id, None, payload, now)]

    def _event(
        self, event_type: str, subject: uuid.UUID, sequence: int, data: OrderRead | dict[str, Any], time: datetime
    ) -> list[NewMessage]:
        if not self.events:
            return []
        event_id = uuid.uuid4()
        payload = CloudEvent(
            id=event_id,
            source=EVENT_SOURCE,
            type=event_type,
            time=time.astimezone(UTC),
            subject=subject,
            sequence=sequence,
            data=data,
        ).model_dump_json()
        return [_message(OutboxKind.EVENT, event_type, subject, sequence, payload, time, message_id=event_id)]


def order_confirmation(order: OrderRead) -> Mail:
    lines = "\n".join(
        f"  {item.quantity} x {item.name} ({item.sku}) at {_money(item.unit_price_cents, order.currency)}"
        f" = {_money(item.line_total_cents, order.currency)}"
        for item in order.items
    )
    text = (
        f"Thank you for your order {order.id}.\n\n{lines}\n\n"
        f"Total: {_money(order.total_cents, order.currency)}\n"
        f"Placed at {_time(order.created_at)}.\n"
    )
    return Mail(kind="order_confirmation", subject=f"Your order {order.id}", text=text)


def _money(cents: int, currency: str) -> str:
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _message(
    kind: OutboxKind,
    message_type: str,
    subject: uuid.UUID,
    sequence: int | None,
    payload: str,
    created_at: datetime,
    *,
    message_id: uuid.UUID | None = None,
) -> NewMessage:
    return NewMessage(
        id=message_id or uuid.uuid4(),
        kind=kind,
        type=message_type,
        subject=subject,
        sequence=sequence,
        payload=payload,
        created_at=created_at,
    )


SILENT = Outbox(events=False, mail=False)
