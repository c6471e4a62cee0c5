"""What the services need from storage, as protocols: the unit of work with its repositories (the write side)
and the read side's queries. The SQL implementations (app/repositories, app/queries) and the unit tests' fakes
(tests/unit/fakes.py) both satisfy them, and mypy checks both against them.
"""

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from app.core.mail import MailDelivery, OutgoingMail
from app.models import (
    IdempotencyKey,
    LoginSession,
    Order,
    OrderStatusChange,
    OutboxKind,
    PasswordResetToken,
    Product,
    RefreshToken,
    User,
)
from app.queries.analytics import PeriodSeries
from app.queries.orders import OrderFilter
from app.repositories.order_repo import NewOrder, Placement, StoredAnswer
from app.repositories.outbox_repo import Backlog, ClaimedMessage, NewMessage
from app.schemas.analytics import SummaryRead, TopCustomersRead, TopProductsRead
from app.schemas.order import OrderHistoryRead, OrderRead
from app.schemas.product import ProductRead
from app.schemas.user import UserExportRead, UserRead

# --- the write side -------------------------------------------------------------------------------


class UserRepository(Protocol):
    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def get_for_update(self, user_id: uuid.UUID) -> User | None: ...

    async def lock_active_admins(self) -> list[uuid.UUID]: ...

    async def get_by_email(self, *, email: str) -> User | None: ...

    async def add(self, user: User) -> bool: ...


class LoginSessionRepository(Protocol):
    async def get(self, session_id: uuid.UUID) -> LoginSession | None: ...

    async def add(self, login_session: LoginSession) -> LoginSession: ...

    async def add_refresh_token(self, token: RefreshToken) -> RefreshToken: ...

    async def get_refresh_token(self, *, token_hash: str) -> RefreshToken | None: ...

    async def spend_refresh_token(self, *, token_id: uuid.UUID, now: datetime) -> bool: ...

    async def revoke(self, *, session_id: uuid.UUID, now: datetime, reason: str) -> None: ...

    async def revoke_all_for_user(self, *, user_id: uuid.UUID, now: datetime, reason: str) -> None: ...

    async def delete_all_for_user(self, *, user_id: uuid.UUID) -> None: ...

    async def delete_expired(self, *, now: datetime, limit: int) -> int: ...


class ProductRepository(Protocol):
    async def get(self, product_id: uuid.UUID) -> Product | None: ...

    async def add(self, product: Product) -> bool: ...

    async def update(self, product_id: uuid.UUID, changes: Mapping[str, Any], *, now: datetime) -> Product | None: ...

    async def put_back_stock(self, quantities: Mapping[uuid.UUID, int], *, now: datetime) -> None: ...


class OrderRepository(Protocol):
    async def place(
        self, order: NewOrder, *, answer: StoredAnswer | None = None, messages: Sequence[NewMessage] = ()
    ) -> Placement: ...

    async def get_with_items(self, order_id: uuid.UUID) -> Order | None: ...

    async def change_status(self, order: Order, *, expected: str, new: str, now: datetime) -> bool: ...

    async def add_status_change(self, change: OrderStatusChange) -> None: ...

    async def count_changes(self, order_id: uuid.UUID) -> int: ...


class IdempotencyRepository(Protocol):
    async def add_if_absent(self, row: IdempotencyKey) -> bool: ...

    async def get(self, *, user_id: uuid.UUID, key: str) -> IdempotencyKey | None: ...

    async def delete_if_expired(self, *, user_id: uuid.UUID, key: str, now: datetime) -> None: ...

    async def delete_expired(self, *, now: datetime, limit: int) -> int: ...

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None: ...

    async def take_over(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, now: datetime) -> bool: ...

    async def complete(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, status: int, body: str) -> bool: ...

    async def release(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime) -> None: ...


class OutboxRepository(Protocol):
    async def add(self, messages: Iterable[NewMessage]) -> None: ...

    async def claim(
        self, *, kinds: Sequence[OutboxKind], now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedMessage]: ...

    async def mark_sent(self, positions: Sequence[int], *, now: datetime) -> None: ...

    async def retry_at(self, positions: Sequence[int], *, when: datetime) -> None: ...

    async def release(self, positions: Sequence[int], *, now: datetime) -> None: ...

    async def forget_mail_to(self, *, user_id: uuid.UUID) -> int: ...

    async def backlog(self) -> Backlog: ...

    async def delete_sent_before(self, *, before: datetime, limit: int) -> int: ...


class PasswordResetRepository(Protocol):
    async def add(self, token: PasswordResetToken) -> None: ...

    async def get(self, *, token_hash: str) -> PasswordResetToken | None: ...

    async def spend(self, *, token_id: uuid.UUID, now: datetime) -> bool: ...

    async def spend_all_for_user(self, *, user_id: uuid.UUID, now: datetime) -> None: ...

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None: ...

    async def delete_expired(self, *, now: datetime, limit: int) -> int: ...


class UnitOfWork(Protocol):
    """Enter it, work through its repositories, `commit()` once; leaving without a commit rolls back."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def login_sessions(self) -> LoginSessionRepository: ...

    @property
    def products(self) -> ProductRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def password_resets(self) -> PasswordResetRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def commit(self) -> None: ...


# --- the read side --------------------------------------------------------------------------------


class UserQueries(Protocol):
    async def live_role(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str | None: ...

    async def live_profile(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
    ) -> tuple[str, UserRead] | None: ...

    async def get(self, user_id: uuid.UUID) -> UserRead | None: ...

    async def list_page(
        self, *, email_contains: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[UserRead]: ...

    async def export(self, user_id: uuid.UUID, *, now: datetime) -> UserExportRead | None: ...


class ProductQueries(Protocol):
    async def get(self, product_id: uuid.UUID) -> ProductRead | None: ...

    async def get_many(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductRead]: ...

    async def list_page(
        self, *, name_contains: str | None, after_id: uuid.UUID | None, include_inactive: bool, limit: int
    ) -> list[ProductRead]: ...


class OrderQueries(Protocol):
    async def get(self, order_id: uuid.UUID) -> OrderRead | None: ...

    async def get_history(self, order_id: uuid.UUID) -> tuple[uuid.UUID, OrderHistoryRead] | None: ...

    async def list_page(
        self, *, where: OrderFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[OrderRead]: ...


class AnalyticsQueries(Protocol):
    async def summary(self, *, start: datetime, end: datetime) -> SummaryRead: ...

    async def revenue_by_period(self, *, start: datetime, end: datetime, unit: str) -> PeriodSeries: ...

    async def top_products(self, *, start: datetime, end: datetime, limit: int) -> TopProductsRead: ...

    async def top_customers(self, *, start: datetime, end: datetime, limit: int) -> TopCustomersRead: ...


class ReadSide(Protocol):
    """Every query of the read side; they read committed data only and never write."""

    @property
    def users(self) -> UserQueries: ...

    @property
    def products(self) -> ProductQueries: ...

    @property
    def orders(self) -> OrderQueries: ...

    @property
    def analytics(self) -> AnalyticsQueries: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


# --- security -------------------------------------------------------------------------------------


class Hasher(Protocol):
    """Password hashing (app/core/security.py `PasswordHasher`), run off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]: ...

    async def verify_dummy(self, password: str) -> None: ...


class Throttle(Protocol):
    """Failed-login counting per email (app/core/rate_limit.py `LoginThrottle`)."""

    async def acquire(self, email: str) -> int | None: ...

    async def reset(self, email: str) -> None: ...


# --- the outbox's channels ------------------------------------------------------------------------


class EventPublisher(Protocol):
    """The broker (app/core/amqp.py `AmqpPublisher`): returns once the message is confirmed, else raises."""

    async def publish(self, *, message_id: str, routing_key: str, body: bytes, time: datetime) -> None: ...


class Mailer(Protocol):
    """The mail server (app/core/mail.py): sends mails in order, as many as it takes before the first it does
    not, and says how many that was (`MailDelivery`); it does not raise for a mail that did not go."""

    async def send_all(self, mails: Sequence[OutgoingMail]) -> MailDelivery: ...

    async def close(self) -> None: ...
