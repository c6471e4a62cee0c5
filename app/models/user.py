from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Timestamps, UUIDPrimaryKey


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    # Stored in its canonical spelling, so the unique index compares emails as the service does. Null once the
    # account is erased (several erased accounts may share the null; the address can register again).
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    # Null once erased: no password verifies against it.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the password last changed (by the owner or by a reset); a reset token issued before it is dead.
    password_changed_at: Mapped[datetime | None]
    # Set when the account was erased: its personal data is gone, its orders stay attached to the id.
    erased_at: Mapped[datetime | None]
