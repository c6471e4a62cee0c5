"""The composition root: everything long-lived, built once from the settings, in one place.

The app (app/main.py), the scripts and the tests all get their object graph from `bootstrap()`; a test swaps a
collaborator by passing another one (cosmicpython, chapter 13). Building it opens nothing: the read pool opens
at `start()`, the write engine on its first use, and `close()` releases all of it.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings, get_settings
from app.core.metrics import ScrapeGauge
from app.core.pagination import CursorCodec
from app.core.rate_limit import LoginThrottle
from app.core.security import PasswordHasher, TokenCodec, resolve_signing_key
from app.db.probe import SchemaVersions, create_probe_engine, schema_revisions, shipped_schema
from app.db.reader import Reader, create_reader
from app.db.session import create_engine, create_session_factory
from app.queries.read_side import SqlReadSide
from app.services.analytics_service import AnalyticsService
from app.services.auth_service import AuthService
from app.services.order_service import OrderService
from app.services.order_status_service import OrderStatusService
from app.services.outbox import Outbox
from app.services.ports import Hasher, ReadSide, Throttle, UnitOfWorkFactory
from app.services.product_service import ProductService
from app.services.unit_of_work import SqlAlchemyUnitOfWork
from app.services.user_service import UserService


@dataclass(frozen=True, slots=True)
class Services:
    auth: AuthService
    users: UserService
    products: ProductService
    orders: OrderService
    order_status: OrderStatusService
    analytics: AnalyticsService


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    reader: Reader
    reads: ReadSide
    hasher: PasswordHasher
    tokens: TokenCodec
    throttle: LoginThrottle
    services: Services
    probe_engine: AsyncEngine
    schema: SchemaVersions
    scrape_gauges: tuple[ScrapeGauge, ...] = ()

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    async def start(self) -> None:
        await self.reader.open()

    async def schema_revisions(self) -> frozenset[str]:
        """The migration revisions the database records, through the readiness probe's own connection."""
        return await schema_revisions(self.probe_engine)

    async def close(self) -> None:
        await self.reader.close()
        await self.engine.dispose()
        await self.probe_engine.dispose()
        self.hasher.close()


def bootstrap(
    settings: Settings | None = None, *, hasher: Hasher | None = None, throttle: Throttle | None = None
) -> Container:
    """The whole object graph for these settings (the environment's by default)."""
    settings = settings or get_settings()
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    reader = create_reader(settings)
    reads = SqlReadSide(reader, currency=settings.currency)
    password_hasher = PasswordHasher(settings)
    signing_key = resolve_signing_key(settings)
    tokens = TokenCodec(settings, signing_key)
    login_throttle = LoginThrottle(
        max_failures=settings.login_max_failed_attempts,
        window_seconds=settings.login_lockout_seconds,
        redis_url=settings.redis_url,
    )
    services = _services(
        settings,
        lambda: SqlAlchemyUnitOfWork(session_factory),
        reads,
        hasher=hasher or password_hasher,
        tokens=tokens,
        throttle=throttle or login_throttle,
        cursors=CursorCodec(hashlib.sha256(signing_key.encode()).digest()),
    )
    return Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        reader=reader,
        reads=reads,
        hasher=password_hasher,
        tokens=tokens,
        throttle=login_throttle,
        services=services,
        probe_engine=create_probe_engine(settings),
        schema=shipped_schema(),
        scrape_gauges=_scrape_gauges(),
    )


def _scrape_gauges() -> tuple[ScrapeGauge, ...]:
    """The instance's gauges read from shared state when /metrics is scraped, one line each, e.g.
    `ScrapeGauge("outbox_backlog", "Events waiting in the outbox.", outbox.count_pending)`."""
    return ()


def _services(
    settings: Settings,
    uow: UnitOfWorkFactory,
    reads: ReadSide,
    *,
    hasher: Hasher,
    tokens: TokenCodec,
    throttle: Throttle,
    cursors: CursorCodec,
) -> Services:
    outbox = Outbox(events=settings.events_url is not None, mail=settings.smtp_host is not None or settings.mail_to_log)
    return Services(
        auth=AuthService(uow, reads, hasher=hasher, tokens=tokens, throttle=throttle, outbox=outbox),
        users=UserService(uow, reads, hasher=hasher, cursors=cursors, throttle=throttle),
        products=ProductService(uow, reads, currency=settings.currency, cursors=cursors),
        orders=OrderService(
            uow,
            reads,
            currency=settings.currency,
            key_ttl=timedelta(hours=settings.idempotency_key_ttl_hours),
            cursors=cursors,
            outbox=outbox,
        ),
        order_status=OrderStatusService(uow, outbox=outbox),
        analytics=AnalyticsService(reads),
    )
