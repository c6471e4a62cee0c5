import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class OutboxKind(StrEnum):
    EVENT = "event"  # a CloudEvent for the exchange
    MAIL = "mail"  # a mail to a user, addressed when it is sent


_KINDS = ", ".join(f"'{kind.value}'" for kind in OutboxKind)


class OutboxMessage(Base):
    """A message written in the transaction of the change it tells of, and sent by the relay after the commit.

    `position` is the order rows are sent in; `subject` is the order or user the message is about (a mail's
    recipient); `sequence` numbers the events of one subject. A row is pending while `sent_at` is null, and
    leased (claimed by a relay, or waiting for a retry) while `next_attempt_at` is in the future.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        # What the relays claim: pending rows, oldest first; and what the purge deletes.
        Index("ix_outbox_sent_at_position", "sent_at", "position"),
        # The rows of one subject that are still pending, which keep its later events waiting.
        Index("ix_outbox_subject_position", "subject", "position"),
    )

    # SQLite numbers a row only through an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[uuid.UUID]
    sequence: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
