"""A large, realistic and reproducible data set: customers, products, orders with lines and status history.

The same seed, sizes and `until` give the same rows, ids included. Orders are spread uniformly over the `days`
before `until` (UTC) and written in creation order, as the service would write them. Each order walks the state
machine (pending -> paid -> shipped -> delivered, or a cancellation) and stops where `until` cuts it, so old orders
are mostly delivered and recent ones still pending, paid or shipped. Totals always equal the sum of their lines.

PostgreSQL is loaded with binary COPY in one transaction; SQLite with executemany. Run it after
`alembic upgrade head`: it creates and drops nothing, and only adds rows.
"""

import bisect
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from passlib.hash import argon2
from sqlalchemy import create_engine, text

from app.config import Settings
from app.db.connect import is_postgres, sync_url

BULK_PASSWORD = "bulk-password-123"  # noqa: S105 - the documented password of every generated customer
CHUNK_ORDERS = 20_000
LINE_COUNT_WEIGHTS = (40, 28, 17, 10, 5)  # 1..5 lines
MINUTE, HOUR, DAY = 60, 3600, 86400
# Version 4 and the RFC 9562 variant, set on 128 random bits (what uuid.uuid4() does, from our seeded stream).
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


@dataclass(frozen=True)
class SeedPlan:
    users: int
    products: int
    orders: int
    days: int
    seed: int
    until: datetime
    currency: str = "USD"


@dataclass
class Chunk:
    orders: list[tuple[object, ...]] = field(default_factory=list)
    items: list[tuple[object, ...]] = field(default_factory=list)
    history: list[tuple[object, ...]] = field(default_factory=list)


USER_COLUMNS = ("id", "email", "full_name", "password_hash", "role", "is_active", "created_at", "updated_at")
PRODUCT_COLUMNS = (
    "id", "sku", "name", "description", "price_cents", "stock", "is_active", "created_at", "updated_at",
)  # fmt: skip
ORDER_COLUMNS = ("id", "user_id", "status", "currency", "total_cents", "created_at", "updated_at")
ITEM_COLUMNS = (
    "id", "order_id", "position", "product_id", "sku", "name", "unit_price_cents", "quantity", "line_total_cents",
)  # fmt: skip
HISTORY_COLUMNS = ("id", "order_id", "from_status", "to_status", "changed_at", "changed_by")


class Generator:
    """Rows in a fixed order from one seeded random stream, so a rerun reproduces them exactly."""

    def __init__(self, plan: SeedPlan, settings: Settings) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._settings = settings
        self._line_cumulative = list(_cumulative(LINE_COUNT_WEIGHTS))
        self.user_ids: list[uuid.UUID] = []
        self.products: list[tuple[uuid.UUID, str, str, int]] = []
        self.staff_id = self._uuid()

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)

    def password_hash(self) -> str:
        """One argon2id hash for every account, with a salt drawn from the seed (reproducible, hashed once)."""
        s = self._settings
        hasher = argon2.using(
            type="ID", memory_cost=s.argon2_memory_kib, rounds=s.argon2_time_cost,
            parallelism=s.argon2_parallelism, salt=self._rng.randbytes(16),
        )  # fmt: skip
        return str(hasher.hash(BULK_PASSWORD))

    def users(self) -> list[tuple[object, ...]]:
        plan, password_hash = self.plan, self.password_hash()
        joined = plan.until - timedelta(days=plan.days + 30)
        rows: list[tuple[object, ...]] = [
            (self.staff_id, staff_email(plan.seed), "Fulfilment (bulk data)", password_hash,
             "admin", False, joined, joined),
        ]  # fmt: skip
        for number in range(plan.users):
            user_id = self._uuid()
            self.user_ids.append(user_id)
            created = joined + timedelta(seconds=self._rng.randrange(30 * DAY))
            email = f"bulk-{plan.seed}-{number:07d}@example.com"
            rows.append((user_id, email, f"Customer {number}", password_hash, "customer", True, created, created))
        return rows

    def catalogue(self) -> list[tuple[object, ...]]:
        plan, rows = self.plan, []
        created = plan.until - timedelta(days=plan.days + 60)
        for number in range(plan.products):
            product_id = self._uuid()
            sku, name = f"BULK-{plan.seed}-{number:06d}", f"Product {number:06d}"
            price = int(199 * 250 ** self._rng.random())  # $1.99 .. ~$500, log-uniform
            self.products.append((product_id, sku, name, price))
            stock = self._rng.randrange(0, 5000)
            active = self._rng.random() > 0.03
            rows.append((product_id, sku, name, None, price, stock, active, created, created))
        return rows

    def order_chunks(self) -> Iterator[Chunk]:
        plan, rng = self.plan, self._rng
        span = plan.days * DAY * 1_000_000
        offsets = sorted(int(rng.random() * span) for _ in range(plan.orders))
        start = plan.until - timedelta(days=plan.days)
        chunk = Chunk()
        for offset in offsets:
            self._order(chunk, start + timedelta(microseconds=offset))
            if len(chunk.orders) == CHUNK_ORDERS:
                yield chunk
                chunk = Chunk()
        if chunk.orders:
            yield chunk

    def _order(self, chunk: Chunk, created: datetime) -> None:
        rng, order_id = self._rng, self._uuid()
        # Half the orders come from the regular fifth of the customers.
        pool = max(1, len(self.user_ids) // 5) if rng.random() < 0.5 else len(self.user_ids)
        user_id = self.user_ids[int(rng.random() * pool)]
        total = 0
        for position, product in enumerate(self._pick_products()):
            product_id, sku, name, price = product
            quantity = 1 + int(5 * rng.random() ** 4)
            total += price * quantity
            chunk.items.append((self._uuid(), order_id, position, product_id, sku, name, price, quantity,
                                price * quantity))  # fmt: skip
        status: str | None = None
        updated = created
        for to_status, at, by_customer in self._path(created):
            changed_by = user_id if by_customer else self.staff_id
            chunk.history.append((self._uuid(), order_id, status, to_status, at, changed_by))
            status, updated = to_status, at
        chunk.orders.append((order_id, user_id, status, self.plan.currency, total, created, updated))

    def _pick_products(self) -> list[tuple[uuid.UUID, str, str, int]]:
        rng, count = self._rng, len(self.products)
        lines = bisect.bisect_right(self._line_cumulative, rng.random() * self._line_cumulative[-1]) + 1
        chosen: dict[int, None] = {}
        while len(chosen) < min(lines, count):
            chosen[int(count * rng.random() ** 1.5)] = None  # best sellers come up more often
        return [self.products[index] for index in chosen]

    def _path(self, created: datetime) -> list[tuple[str, datetime, bool]]:
        """The order's status changes, creation first, cut at `until`."""
        rng, fate = self._rng, self._rng.random()
        steps = [("pending", 0, True)]
        if fate < 0.03:
            pass  # abandoned: stays pending
        elif fate < 0.08:
            steps.append(("cancelled", _between(rng, 10 * MINUTE, 2 * DAY), True))
        else:
            steps.append(("paid", _between(rng, 2 * MINUTE, 6 * HOUR), True))
            if fate < 0.11:
                steps.append(("cancelled", _between(rng, HOUR, 2 * DAY), True))
            else:
                steps.append(("shipped", _between(rng, 6 * HOUR, 3 * DAY), False))
                steps.append(("delivered", _between(rng, DAY, 5 * DAY), False))
        path, at = [], created
        for status, delay, by_customer in steps:
            at += timedelta(seconds=delay)
            if at >= self.plan.until:
                break
            path.append((status, at, by_customer))
        return path


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in [low, high); random.randrange is several times slower and this runs millions of times."""
    return low + int(rng.random() * (high - low))


def _cumulative(weights: tuple[int, ...]) -> Iterator[int]:
    total = 0
    for weight in weights:
        total += weight
        yield total


class Progress:
    """A progress line on stderr (redrawn in place on a terminal, every 10% otherwise)."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done = total, label, 0
        self.started = time.monotonic()
        self._tty, self._next_decile = sys.stderr.isatty(), 1

    def advance(self, count: int) -> None:
        self.done += count
        fraction = self.done / self.total if self.total else 1.0
        if not self._tty and fraction * 10 < self._next_decile and self.done < self.total:
            return
        self._next_decile = int(fraction * 10) + 1
        elapsed = time.monotonic() - self.started
        eta = elapsed / fraction - elapsed if fraction else 0.0
        bar = "#" * int(fraction * 30)
        line = f"{self.label} [{bar:<30}] {self.done:>10,}/{self.total:,} {elapsed:6.1f}s eta {eta:5.1f}s"
        sys.stderr.write(("\r" if self._tty else "") + line + ("" if self._tty else "\n"))
        sys.stderr.flush()

    def finish(self) -> None:
        if self._tty:
            sys.stderr.write("\n")


class AlreadySeededError(Exception):
    pass


def staff_email(seed: int) -> str:
    return f"bulk-{seed}-staff@example.com"


def seed(settings: Settings, plan: SeedPlan) -> dict[str, float]:
    """Load the plan into settings.database_url; returns the timings in seconds."""
    url = sync_url(settings.database_url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = text("SELECT 1 FROM users WHERE email = :email")
            if connection.execute(query, {"email": staff_email(plan.seed)}).first() is not None:
                raise AlreadySeededError(
                    f"this database already holds the bulk data of seed {plan.seed}; "
                    "use another --seed or a fresh database"
                )
    finally:
        engine.dispose()
    if is_postgres(url):
        from scripts.bulk_writers import load_postgres

        return load_postgres(url, Generator(plan, settings), plan)
    from scripts.bulk_writers import load_sqlite

    return load_sqlite(url, Generator(plan, settings), plan)


def default_until(now: datetime | None = None) -> datetime:
    """Midnight UTC today: reruns on the same day reproduce the same timestamps."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
