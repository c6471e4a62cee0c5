"""In-memory stand-ins: one store of rows, the unit of work and its repositories over it, the read side over it,
the password hasher and the throttle.

They keep the storage contracts the services rely on (unique emails, a refresh token spent once, a guarded stock
decrement and status change, one row per idempotency key) and record what happened: commits and rollbacks,
hashing inside or outside a transaction, the order in which stock rows were touched, the reads asked for.
"""

import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models import (
    IdempotencyKey,
    LoginSession,
    Order,
    OrderItem,
    OrderStatus,
    OrderStatusChange,
    OutboxKind,
    PasswordResetToken,
    Product,
    RefreshToken,
    Role,
    User,
)
from app.queries.analytics import PeriodSeries, PeriodTotals
from app.queries.orders import OrderFilter
from app.repositories.order_repo import NewOrder, Placement, StoredAnswer
from app.repositories.outbox_repo import SCRUBBED, Backlog, ClaimedMessage, NewMessage
from app.schemas.analytics import StatusCountsRead, SummaryRead, TopCustomersRead, TopProductsRead
from app.schemas.order import OrderHistoryRead, OrderRead, StatusChangeRead
from app.schemas.product import ProductRead
from app.schemas.user import LoginSessionRead, OrderExportRead, UserExportRead, UserRead
from app.services.caller import Caller
from app.services.ports import Hasher, ReadSide, Throttle, UnitOfWork


@dataclass
class Store:
    users: dict[uuid.UUID, User] = field(default_factory=dict)
    login_sessions: dict[uuid.UUID, LoginSession] = field(default_factory=dict)
    tokens: dict[uuid.UUID, RefreshToken] = field(default_factory=dict)
    products: dict[uuid.UUID, Product] = field(default_factory=dict)
    orders: dict[uuid.UUID, Order] = field(default_factory=dict)
    changes: list[OrderStatusChange] = field(default_factory=list)
    idempotency: dict[tuple[uuid.UUID, str], IdempotencyKey] = field(default_factory=dict)
    outbox: list["FakeOutboxRow"] = field(default_factory=list)
    password_resets: dict[uuid.UUID, PasswordResetToken] = field(default_factory=dict)


# --- the write side -------------------------------------------------------------------------------


class FakeUserRepository:
    def __init__(self, store: Store) -> None:
        self.rows = store.users
        self.lose_race_on_add = False
        self.locked: list[uuid.UUID] = []

    async def get(self, user_id: uuid.UUID) -> User | None:
        return self.rows.get(user_id)

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        self.locked.append(user_id)
        return self.rows.get(user_id)

    async def lock_active_admins(self) -> list[uuid.UUID]:
        admins = sorted(user.id for user in self.rows.values() if user.role == Role.ADMIN and user.is_active)
        self.locked.extend(admins)
        return admins

    async def get_by_email(self, *, email: str) -> User | None:
        return next((user for user in self.rows.values() if user.email == email), None)

    async def add(self, user: User) -> bool:
        if self.lose_race_on_add or any(other.email == user.email for other in self.rows.values()):
            return False
        self.rows[user.id] = user
        return True


class FakeLoginSessionRepository:
    def __init__(self, store: Store) -> None:
        self.rows = store.login_sessions
        self.tokens = store.tokens

    async def get(self, session_id: uuid.UUID) -> LoginSession | None:
        return self.rows.get(session_id)

    async def add(self, login_session: LoginSession) -> LoginSession:
        login_session.id = login_session.id or uuid.uuid4()
        self.rows[login_session.id] = login_session
        return login_session

    async def add_refresh_token(self, token: RefreshToken) -> RefreshToken:
        token.id = token.id or uuid.uuid4()
        self.tokens[token.id] = token
        return token

    async def get_refresh_token(self, *, token_hash: str) -> RefreshToken | None:
        return next((token for token in self.tokens.values() if token.token_hash == token_hash), None)

    async def spend_refresh_token(self, *, token_id: uuid.UUID, now: datetime) -> bool:
        token = self.tokens[token_id]
        if token.used_at is not None:
            return False
        token.used_at = now
        return True

    async def revoke(self, *, session_id: uuid.UUID, now: datetime, reason: str) -> None:
        login_session = self.rows.get(session_id)
        if login_session is not None and login_session.revoked_at is None:
            login_session.revoked_at, login_session.revoked_reason = now, reason

    async def revoke_all_for_user(self, *, user_id: uuid.UUID, now: datetime, reason: str) -> None:
        for login_session in self.rows.values():
            if login_session.user_id == user_id and login_session.revoked_at is None:
                login_session.revoked_at, login_session.revoked_reason = now, reason

    async def delete_all_for_user(self, *, user_id: uuid.UUID) -> None:
        for session_id in [key for key, row in self.rows.items() if row.user_id == user_id]:
            del self.rows[session_id]
            for token_id in [key for key, token in self.tokens.items() if token.session_id == session_id]:
                del self.tokens[token_id]

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        expired = sorted((row for row in self.rows.values() if row.expires_at <= now), key=lambda row: row.expires_at)
        for row in expired[:limit]:
            del self.rows[row.id]
            for token_id in [t.id for t in self.tokens.values() if t.session_id == row.id]:
                del self.tokens[token_id]
        return len(expired[:limit])

    def of_user(self, user_id: uuid.UUID) -> list[LoginSession]:
        return [login_session for login_session in self.rows.values() if login_session.user_id == user_id]


class FakeProductRepository:
    def __init__(self, store: Store) -> None:
        self.rows = store.products
        self.touched: list[uuid.UUID] = []

    async def get(self, product_id: uuid.UUID) -> Product | None:
        return self.rows.get(product_id)

    async def get_many(self, *, product_ids: Iterable[uuid.UUID]) -> Sequence[Product]:
        return [self.rows[pid] for pid in product_ids if pid in self.rows]

    async def add(self, product: Product) -> bool:
        if any(other.sku == product.sku for other in self.rows.values()):
            return False
        self.rows[product.id] = product
        return True

    async def update(self, product_id: uuid.UUID, changes: Mapping[str, Any], *, now: datetime) -> Product | None:
        product = self.rows.get(product_id)
        if product is not None:
            for name, value in {**changes, "updated_at": now}.items():
                setattr(product, name, value)
        return product

    async def put_back_stock(self, quantities: Mapping[uuid.UUID, int], *, now: datetime) -> None:
        for product_id in sorted(quantities):
            self.touched.append(product_id)
            self.rows[product_id].stock += quantities[product_id]


class FakeOrderRepository:
    def __init__(
        self,
        store: Store,
        products: FakeProductRepository,
        idempotency: "FakeIdempotencyRepository",
        outbox: "FakeOutboxRepository",
    ) -> None:
        self.rows = store.orders
        self._outbox = outbox
        self.changes = store.changes
        self._products = products
        self._idempotency = idempotency
        # Simulates a concurrent request that changed the order between our read and our write.
        self.lose_next_race = False
        # Simulates a product changed between the service's unlocked read and its guarded write.
        self.before_place: list[Any] = []

    async def place(
        self, order: NewOrder, *, answer: StoredAnswer | None = None, messages: Sequence[NewMessage] = ()
    ) -> Placement:
        if self.before_place:
            self.before_place.pop(0)()
        if answer is not None and not await self._idempotency.complete(
            user_id=answer.user_id, key=answer.key, claimed_at=answer.claimed_at, status=answer.status, body=answer.body
        ):
            return Placement.CLAIM_LOST
        lines = sorted(order.lines, key=lambda line: line.product_id)
        for line in lines:
            product = self._products.rows.get(line.product_id)
            if product is None or not product.is_active or product.stock < line.quantity:
                return Placement.CATALOGUE_CHANGED
            if (product.price_cents, product.sku, product.name) != (line.unit_price_cents, line.sku, line.name):
                return Placement.CATALOGUE_CHANGED
        for line in lines:
            self._products.touched.append(line.product_id)
            self._products.rows[line.product_id].stock -= line.quantity
        items = [
            OrderItem(order_id=order.id, position=position, **{k: getattr(line, k) for k in line.__slots__})
            for position, line in enumerate(order.lines)
        ]
        self.rows[order.id] = Order(
            id=order.id,
            user_id=order.user_id,
            status=OrderStatus.PENDING,
            currency=order.currency,
            total_cents=order.total_cents,
            created_at=order.created_at,
            updated_at=order.created_at,
            items=items,
        )
        self.changes.append(
            OrderStatusChange(
                id=order.first_change_id,
                order_id=order.id,
                from_status=None,
                to_status=OrderStatus.PENDING,
                changed_at=order.created_at,
                changed_by=order.user_id,
            )
        )
        await self._outbox.add(messages)
        return Placement.PLACED

    async def get_with_items(self, order_id: uuid.UUID) -> Order | None:
        return self.rows.get(order_id)

    async def change_status(self, order: Order, *, expected: str, new: str, now: datetime) -> bool:
        if self.lose_next_race or order.status != expected:
            self.lose_next_race = False
            return False
        order.status, order.updated_at = new, now
        return True

    async def add_status_change(self, change: OrderStatusChange) -> None:
        self.changes.append(change)

    async def count_changes(self, order_id: uuid.UUID) -> int:
        return sum(1 for change in self.changes if change.order_id == order_id)


@dataclass
class FakeOutboxRow:
    position: int
    message: NewMessage
    payload: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None


class FakeOutboxRepository:
    """The outbox as a list; claims keep a subject's events in order like the real one."""

    def __init__(self, store: Store) -> None:
        self.rows = store.outbox
        self.users = store.users

    async def add(self, messages: Iterable[NewMessage]) -> None:
        for message in messages:
            self.rows.append(FakeOutboxRow(len(self.rows) + 1, message, message.payload, 0, message.created_at))

    def messages(self, kind: OutboxKind | None = None) -> list[NewMessage]:
        return [row.message for row in self.rows if kind is None or row.message.kind is kind]

    async def claim(
        self, *, kinds: Sequence[OutboxKind], now: datetime, lease: timedelta, limit: int
    ) -> list[ClaimedMessage]:
        claimed: list[ClaimedMessage] = []
        blocked: set[uuid.UUID] = set()
        for row in self.rows:
            kind = row.message.kind
            if row.sent_at is not None or kind not in kinds or len(claimed) == limit:
                continue
            due = row.next_attempt_at is None or row.next_attempt_at <= now
            if not due or (kind is OutboxKind.EVENT and row.message.subject in blocked):
                blocked.add(row.message.subject)
                continue
            row.attempts += 1
            row.next_attempt_at = now + lease
            message = row.message
            claimed.append(
                ClaimedMessage(
                    row.position,
                    kind,
                    message.id,
                    message.type,
                    message.subject,
                    row.payload,
                    message.created_at,
                    row.attempts,
                    self._address(message) if kind is OutboxKind.MAIL else None,
                )
            )
        return claimed

    def _address(self, message: NewMessage) -> str | None:
        user = self.users.get(message.subject)
        return user.email if user is not None else None

    def _rows(self, positions: Sequence[int]) -> list[FakeOutboxRow]:
        return [row for row in self.rows if row.position in positions]

    async def mark_sent(self, positions: Sequence[int], *, now: datetime) -> None:
        for row in self._rows(positions):
            row.sent_at = now
            row.payload = SCRUBBED if row.message.kind is OutboxKind.MAIL else row.payload

    async def retry_at(self, positions: Sequence[int], *, when: datetime) -> None:
        for row in self._rows(positions):
            row.next_attempt_at = when

    async def release(self, positions: Sequence[int], *, now: datetime) -> None:
        for row in self._rows(positions):
            row.next_attempt_at, row.attempts = now, row.attempts - 1

    async def forget_mail_to(self, *, user_id: uuid.UUID) -> int:
        mails = [row for row in self.rows if row.message.kind is OutboxKind.MAIL and row.message.subject == user_id]
        unsent = [row for row in mails if row.sent_at is None]
        for row in mails:
            row.payload = SCRUBBED
        self.rows[:] = [row for row in self.rows if row not in unsent]
        return len(unsent)

    async def backlog(self) -> Backlog:
        pending = [row for row in self.rows if row.sent_at is None]
        return Backlog(len(pending), min((row.message.created_at for row in pending), default=None))

    async def delete_sent_before(self, *, before: datetime, limit: int) -> int:
        old = [row for row in self.rows if row.sent_at is not None and row.sent_at < before][:limit]
        self.rows[:] = [row for row in self.rows if row not in old]
        return len(old)


class FakeIdempotencyRepository:
    def __init__(self, store: Store) -> None:
        self.rows = store.idempotency

    async def add_if_absent(self, row: IdempotencyKey) -> bool:
        if (row.user_id, row.key) in self.rows:
            return False
        self.rows[(row.user_id, row.key)] = copy.copy(row)
        return True

    async def get(self, *, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        return self.rows.get((user_id, key))

    async def delete_if_expired(self, *, user_id: uuid.UUID, key: str, now: datetime) -> None:
        row = self.rows.get((user_id, key))
        if row is not None and row.expires_at <= now:
            del self.rows[(user_id, key)]

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        expired = sorted(
            (k for k, row in self.rows.items() if row.expires_at <= now), key=lambda k: self.rows[k].expires_at
        )
        for k in expired[:limit]:
            del self.rows[k]
        return len(expired[:limit])

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None:
        for key in [key for key in self.rows if key[0] == user_id]:
            del self.rows[key]

    def _claimed(self, user_id: uuid.UUID, key: str, claimed_at: datetime) -> IdempotencyKey | None:
        row = self.rows.get((user_id, key))
        return row if row is not None and row.state == "in_flight" and row.created_at == claimed_at else None

    async def take_over(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, now: datetime) -> bool:
        row = self._claimed(user_id, key, claimed_at)
        if row is not None:
            row.created_at = now
        return row is not None

    async def complete(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime, status: int, body: str) -> bool:
        row = self._claimed(user_id, key, claimed_at)
        if row is not None:
            row.state, row.response_status, row.response_body = "completed", status, body
        return row is not None

    async def release(self, *, user_id: uuid.UUID, key: str, claimed_at: datetime) -> None:
        if self._claimed(user_id, key, claimed_at) is not None:
            del self.rows[(user_id, key)]


class FakePasswordResetRepository:
    def __init__(self, store: Store) -> None:
        self.rows = store.password_resets

    async def add(self, token: PasswordResetToken) -> None:
        self.rows[token.id] = token

    async def get(self, *, token_hash: str) -> PasswordResetToken | None:
        return next((token for token in self.rows.values() if token.token_hash == token_hash), None)

    async def spend(self, *, token_id: uuid.UUID, now: datetime) -> bool:
        token = self.rows[token_id]
        if token.used_at is not None:
            return False
        token.used_at = now
        return True

    async def spend_all_for_user(self, *, user_id: uuid.UUID, now: datetime) -> None:
        for token in self.rows.values():
            if token.user_id == user_id and token.used_at is None:
                token.used_at = now

    async def delete_for_user(self, *, user_id: uuid.UUID) -> None:
        for token_id in [key for key, token in self.rows.items() if token.user_id == user_id]:
            del self.rows[token_id]

    async def delete_expired(self, *, now: datetime, limit: int) -> int:
        expired = sorted((t for t in self.rows.values() if t.expires_at <= now), key=lambda t: t.expires_at)[:limit]
        for token in expired:
            del self.rows[token.id]
        return len(expired)


class FakeUnitOfWork:
    """Records commits, blocks and rollbacks (a block left without commit), and whether a block is open."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.users = FakeUserRepository(self.store)
        self.login_sessions = FakeLoginSessionRepository(self.store)
        self.products = FakeProductRepository(self.store)
        self.idempotency = FakeIdempotencyRepository(self.store)
        self.outbox = FakeOutboxRepository(self.store)
        self.password_resets = FakePasswordResetRepository(self.store)
        self.orders = FakeOrderRepository(self.store, self.products, self.idempotency, self.outbox)
        self.commits = 0
        self.rollbacks = 0
        self.blocks = 0
        self.active = False
        self._committed_in_block = False

    @property
    def committed(self) -> bool:
        return self.commits > 0

    async def __aenter__(self) -> "FakeUnitOfWork":
        self.active = True
        self.blocks += 1
        self._committed_in_block = False
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.active = False
        if not self._committed_in_block:
            self.rollbacks += 1

    async def commit(self) -> None:
        assert self.active, "commit outside the unit of work"
        self.commits += 1
        self._committed_in_block = True


# --- the read side --------------------------------------------------------------------------------


class FakeUserQueries:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def live_role(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str | None:
        user = self._store.users.get(user_id)
        login_session = self._store.login_sessions.get(session_id)
        if user is None or login_session is None or not user.is_active:
            return None
        if login_session.user_id != user_id or login_session.revoked_at is not None or login_session.expires_at <= now:
            return None
        return user.role

    async def live_profile(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
    ) -> tuple[str, UserRead] | None:
        role = await self.live_role(user_id=user_id, session_id=session_id, now=now)
        return (role, UserRead.model_validate(self._store.users[user_id])) if role else None

    async def get(self, user_id: uuid.UUID) -> UserRead | None:
        user = self._store.users.get(user_id)
        return UserRead.model_validate(user) if user else None

    async def list_page(
        self, *, email_contains: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[UserRead]:
        users = sorted(self._store.users.values(), key=lambda user: (user.created_at, user.id), reverse=True)
        if after is not None:
            users = [user for user in users if (user.created_at, user.id) < after]
        if email_contains:
            users = [user for user in users if user.email and email_contains.lower() in user.email]
        return [UserRead.model_validate(user) for user in users[:limit]]

    async def export(self, user_id: uuid.UUID, *, now: datetime) -> UserExportRead | None:
        user = self._store.users.get(user_id)
        if user is None:
            return None
        orders = sorted(
            (order for order in self._store.orders.values() if order.user_id == user_id),
            key=lambda order: (order.created_at, order.id),
        )
        sessions = sorted(
            (row for row in self._store.login_sessions.values() if row.user_id == user_id),
            key=lambda row: (row.created_at, row.id),
        )
        return UserExportRead(
            exported_at=now,
            profile=UserRead.model_validate(user),
            orders=[
                OrderExportRead.model_validate(
                    {
                        **OrderRead.model_validate(order).model_dump(),
                        "history": [
                            StatusChangeRead.model_validate(change)
                            for change in sorted(self._store.changes, key=lambda change: change.changed_at)
                            if change.order_id == order.id
                        ],
                    }
                )
                for order in orders
            ],
            login_sessions=[
                LoginSessionRead(
                    id=row.id,
                    created_at=row.created_at,
                    last_used_at=max(
                        (token.created_at for token in self._store.tokens.values() if token.session_id == row.id),
                        default=None,
                    ),
                    expires_at=row.expires_at,
                    revoked_at=row.revoked_at,
                    revoked_reason=row.revoked_reason,
                )
                for row in sessions
            ],
        )


class FakeProductQueries:
    def __init__(self, store: Store, *, currency: str) -> None:
        self._store = store
        self._currency = currency

    def _read(self, product: Product) -> ProductRead:
        return ProductRead.model_validate({**product.__dict__, "currency": self._currency})

    async def get(self, product_id: uuid.UUID) -> ProductRead | None:
        product = self._store.products.get(product_id)
        return self._read(product) if product else None

    async def get_many(self, product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductRead]:
        found = (self._store.products.get(product_id) for product_id in product_ids)
        return {product.id: self._read(product) for product in found if product is not None}

    async def list_page(
        self, *, name_contains: str | None, after_id: uuid.UUID | None, include_inactive: bool, limit: int
    ) -> list[ProductRead]:
        products = sorted(self._store.products.values(), key=lambda product: (product.name, product.id))
        if after_id is not None:
            anchor = self._store.products.get(after_id)
            products = [p for p in products if anchor and (p.name, p.id) > (anchor.name, anchor.id)]
        if name_contains:
            products = [p for p in products if name_contains.lower() in p.name.lower()]
        if not include_inactive:
            products = [p for p in products if p.is_active]
        return [self._read(product) for product in products[:limit]]


class FakeOrderQueries:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.list_calls: list[dict[str, Any]] = []

    async def get(self, order_id: uuid.UUID) -> OrderRead | None:
        order = self._store.orders.get(order_id)
        return OrderRead.model_validate(order) if order else None

    async def get_history(self, order_id: uuid.UUID) -> tuple[uuid.UUID, OrderHistoryRead] | None:
        order = self._store.orders.get(order_id)
        if order is None:
            return None
        changes = sorted((c for c in self._store.changes if c.order_id == order_id), key=lambda c: c.changed_at)
        return order.user_id, OrderHistoryRead(items=[StatusChangeRead.model_validate(c) for c in changes])

    async def list_page(
        self, *, where: OrderFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[OrderRead]:
        self.list_calls.append({"where": where, "after": after, "limit": limit})
        orders = sorted(self._store.orders.values(), key=lambda order: (order.created_at, order.id), reverse=True)
        if where.user_id is not None:
            orders = [order for order in orders if order.user_id == where.user_id]
        if after is not None:
            orders = [order for order in orders if (order.created_at, order.id) < after]
        return [OrderRead.model_validate(order) for order in orders[:limit]]


class FakeAnalyticsQueries:
    """Records what the service asks for; answers with canned figures (`periods` for the revenue series)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.periods: list[PeriodTotals] = []
        self.data_as_of = datetime(2026, 11, 26, 10, 29, tzinfo=UTC)

    async def summary(self, *, start: datetime, end: datetime) -> SummaryRead:
        self.calls.append(("summary", {"start": start, "end": end}))
        by_status = StatusCountsRead(pending=1, paid=2, shipped=0, delivered=3, cancelled=4)
        return SummaryRead(
            data_as_of=self.data_as_of,
            start=start,
            end=end,
            order_count=10,
            revenue_cents=1001,
            average_order_value_cents=200,
            customer_count=7,
            cancelled_count=4,
            cancellation_rate=0.4,
            by_status=by_status,
        )

    async def revenue_by_period(self, *, start: datetime, end: datetime, unit: str) -> PeriodSeries:
        self.calls.append(("revenue_by_period", {"start": start, "end": end, "unit": unit}))
        return PeriodSeries(self.data_as_of, self.periods)

    async def top_products(self, *, start: datetime, end: datetime, limit: int) -> TopProductsRead:
        self.calls.append(("top_products", {"start": start, "end": end, "limit": limit}))
        return TopProductsRead(data_as_of=self.data_as_of, items=[])

    async def top_customers(self, *, start: datetime, end: datetime, limit: int) -> TopCustomersRead:
        self.calls.append(("top_customers", {"start": start, "end": end, "limit": limit}))
        return TopCustomersRead(data_as_of=self.data_as_of, items=[])


class FakeReadSide:
    def __init__(self, store: Store, *, currency: str = "USD") -> None:
        self.users = FakeUserQueries(store)
        self.products = FakeProductQueries(store, currency=currency)
        self.orders = FakeOrderQueries(store)
        self.analytics = FakeAnalyticsQueries()


# --- security -------------------------------------------------------------------------------------


class FakeHasher:
    """`hashed:<password>` is current; `old:<password>` verifies but asks for a rehash.

    Records, for every call, whether a unit of work was open at that moment.
    """

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.calls: list[tuple[str, bool]] = []

    async def hash(self, password: str) -> str:
        self.calls.append(("hash", self._uow.active))
        return f"hashed:{password}"

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        self.calls.append(("verify", self._uow.active))
        if password_hash == f"hashed:{password}":
            return True, None
        if password_hash == f"old:{password}":
            return True, f"hashed:{password}"
        return False, None

    async def verify_dummy(self, password: str) -> None:
        self.calls.append(("verify_dummy", self._uow.active))

    @property
    def inside_transaction(self) -> list[str]:
        return [name for name, active in self.calls if active]


class FakeThrottle:
    """Counts attempts per email as LoginThrottle does; `locked_for` simulates a lockout."""

    def __init__(self, locked_for: int | None = None) -> None:
        self.locked_for = locked_for
        self.attempts: list[str] = []
        self.resets: list[str] = []

    async def acquire(self, email: str) -> int | None:
        if self.locked_for is not None:
            return self.locked_for
        self.attempts.append(email)
        return None

    async def reset(self, email: str) -> None:
        self.resets.append(email)

    @property
    def failures(self) -> list[str]:
        """Counted attempts that no good login cleared."""
        return [email for email in self.attempts if email not in self.resets]


# --- rows as the services would have left them ----------------------------------------------------


def make_user(uow: FakeUnitOfWork, *, email: str, password: str = "right-password", **values: Any) -> User:
    """A stored user, as registration would leave it."""
    now = datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        email=email,
        full_name=values.pop("full_name", None),
        password_hash=values.pop("password_hash", f"hashed:{password}"),
        role=values.pop("role", Role.CUSTOMER),
        is_active=values.pop("is_active", True),
        created_at=values.pop("created_at", now),
        updated_at=now,
    )
    uow.users.rows[user.id] = user
    return user


def add_product(uow: FakeUnitOfWork, *, price_cents: int = 100, stock: int = 10, **values: Any) -> Product:
    now = datetime.now(UTC)
    product = Product(
        id=values.pop("id", uuid.uuid4()),
        sku=values.pop("sku", f"SKU-{uuid.uuid4().hex[:6]}"),
        name=values.pop("name", "Thing"),
        description=None,
        price_cents=price_cents,
        stock=stock,
        is_active=values.pop("is_active", True),
        created_at=now,
        updated_at=now,
    )
    uow.products.rows[product.id] = product
    return product


def caller(role: Role = Role.CUSTOMER, *, user: User | None = None, session_id: uuid.UUID | None = None) -> Caller:
    """A caller as the token check would give it: a stranger unless `user` is given."""
    if user is not None:
        return Caller(id=user.id, role=Role(user.role), session_id=session_id or uuid.uuid4())
    return Caller(id=uuid.uuid4(), role=role, session_id=session_id or uuid.uuid4())


def _fakes_keep_the_contracts(store: Store) -> None:
    """Never called: mypy checks here that every fake satisfies the protocol its real counterpart does."""
    uow: UnitOfWork = FakeUnitOfWork(store)
    reads: ReadSide = FakeReadSide(store)
    hasher: Hasher = FakeHasher(FakeUnitOfWork(store))
    throttle: Throttle = FakeThrottle()
    del uow, reads, hasher, throttle
