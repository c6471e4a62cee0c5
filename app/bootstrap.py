"""The composition root: everything long-lived, built once from the settings, in one place.

The app (app/main.py), the scripts and the tests all get their object graph from `bootstrap()`; a test swaps a
collaborator by passing another one (cosmicpython, chapter 13). Building it opens nothing: the read pool opens
at `start()`, the write engine on its first use, and `close()` releases all of it.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings, get_settings
from app.core.amqp import AmqpPublisher
from app.core.mail import LogMailer, SmtpMailer
from app.core.metrics import ScrapeGauge
from app.core.pagination import CursorCodec
from app.core.rate_limit import LoginThrottle
from app.core.security import PasswordHasher, TokenCodec, resolve_signing_key
from app.db.probe import SchemaVersions, create_probe_engine, schema_revisions, shipped_schema
from app.db.reader import Reader, ReaderChoice, create_reader
from app.db.session import create_engine, create_session_factory
from app.models import OutboxKind
from app.queries.read_side import SqlReadSide
from app.services.analytics_service import AnalyticsService
from app.services.auth_service import AuthService
from app.services.maintenance_service import MaintenanceService, expiring
from app.services.order_service import OrderService
from app.services.order_status_service import OrderStatusService
from app.services.outbox import Outbox
from app.services.outbox_relay import OutboxRelay, read_backlog
from app.services.password_reset_service import PasswordResetService
from app.services.ports import EventPublisher, Hasher, Mailer, ReadSide, Throttle, UnitOfWorkFactory
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
    maintenance: MaintenanceService
    password_resets: PasswordResetService


@dataclass(frozen=True, slots=True)
class Container:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    reader: Reader
    analytics_readers: ReaderChoice
    reads: ReadSide
    hasher: PasswordHasher
    tokens: TokenCodec
    throttle: LoginThrottle
    # Password-reset requests per email, counted apart from failed logins.
    reset_throttle: LoginThrottle
    services: Services
    probe_engine: AsyncEngine
    schema: SchemaVersions
    # The outbox relay, when there is a channel to send to (EVENTS_URL, a mail server, or the development log).
    relay: OutboxRelay | None
    publisher: AmqpPublisher | None
    scrape_gauges: tuple[ScrapeGauge, ...] = ()

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.session_factory)

    async def start(self) -> None:
        await self.reader.open()
        await self.analytics_readers.open()

    async def schema_revisions(self) -> frozenset[str]:
        """The migration revisions the database records, through the readiness probe's own connection."""
        return await schema_revisions(self.probe_engine)

    async def close(self) -> None:
        await self.analytics_readers.close()
        if self.relay is not None:
            await self.relay.close()
        if self.publisher is not None:
            await self.publisher.close()
        await self.reader.close()
        await self.engine.dispose()
        await self.probe_engine.dispose()
        self.hasher.close()


def bootstrap(
    settings: Settings | None = None,
    *,
    hasher: Hasher | None = None,
    throttle: Throttle | None = None,
    publisher: EventPublisher | None = None,
    mailer: Mailer | None = None,
) -> Container:
    """The whole object graph for these settings (the environment's by default)."""
    settings = settings or get_settings()
    engine = create_engine(settings)
    session_factory = create_session_factory(engine)
    reader = create_reader(settings)
    replica = create_reader(settings, url=settings.analytics_database_url) if settings.analytics_database_url else None
    analytics_readers = ReaderChoice(reader, replica)
    reads = SqlReadSide(reader, currency=settings.currency, analytics=analytics_readers)
    password_hasher = PasswordHasher(settings)
    signing_key = resolve_signing_key(settings)
    tokens = TokenCodec(settings, signing_key)
    login_throttle = LoginThrottle(
        max_failures=settings.login_max_failed_attempts,
        window_seconds=settings.login_lockout_seconds,
        redis_url=settings.redis_url,
    )
    reset_throttle = LoginThrottle(
        max_failures=settings.login_max_failed_attempts,
        window_seconds=settings.login_lockout_seconds,
        redis_url=settings.redis_url,
        namespace="password-reset-requests",
    )
    amqp = AmqpPublisher(settings.events_url) if settings.events_url and publisher is None else None
    relay = _relay(settings, lambda: SqlAlchemyUnitOfWork(session_factory), publisher or amqp, mailer)
    channels = relay.channels if relay is not None else []
    services = _services(
        settings,
        Outbox(events=OutboxKind.EVENT in channels, mail=OutboxKind.MAIL in channels),
        lambda: SqlAlchemyUnitOfWork(session_factory),
        reads,
        hasher=hasher or password_hasher,
        tokens=tokens,
        throttle=throttle or login_throttle,
        reset_throttle=reset_throttle,
        cursors=CursorCodec(hashlib.sha256(signing_key.encode()).digest()),
    )
    return Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        reader=reader,
        analytics_readers=analytics_readers,
        reads=reads,
        hasher=password_hasher,
        tokens=tokens,
        throttle=login_throttle,
        reset_throttle=reset_throttle,
        services=services,
        probe_engine=create_probe_engine(settings),
        schema=shipped_schema(),
        scrape_gauges=_scrape_gauges(lambda: SqlAlchemyUnitOfWork(session_factory)),
        relay=relay,
        publisher=amqp,
    )


def _relay(
    settings: Settings, uow: UnitOfWorkFactory, publisher: EventPublisher | None, mailer: Mailer | None
) -> OutboxRelay | None:
    if mailer is None and settings.smtp_host is not None:
        mailer = SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
        )
    elif mailer is None and settings.mail_to_log:
        mailer = LogMailer()
    if publisher is None and mailer is None:
        return None
    return OutboxRelay(
        uow,
        publisher=publisher,
        mailer=mailer,
        poll_seconds=settings.outbox_poll_seconds,
        max_backoff_seconds=settings.outbox_max_backoff_seconds,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
    )


def _scrape_gauges(uow: UnitOfWorkFactory) -> tuple[ScrapeGauge, ...]:
    """The instance's gauges read from shared state when /metrics is scraped, one line each."""

    async def pending() -> float:
        return float((await read_backlog(uow)).pending)

    async def oldest_age() -> float:
        oldest = (await read_backlog(uow)).oldest
        return max((datetime.now(UTC) - oldest).total_seconds(), 0.0) if oldest else 0.0

    return (
        ScrapeGauge("outbox_backlog_messages", "Outbox messages (events and mails) not sent yet.", pending),
        ScrapeGauge(
            "outbox_oldest_message_age_seconds", "Age of the oldest outbox message not sent yet; 0 if none.", oldest_age
        ),
    )


def _services(
    settings: Settings,
    outbox: Outbox,
    uow: UnitOfWorkFactory,
    reads: ReadSide,
    *,
    hasher: Hasher,
    tokens: TokenCodec,
    throttle: Throttle,
    reset_throttle: Throttle,
    cursors: CursorCodec,
) -> Services:
    return Services(
        auth=AuthService(uow, reads, hasher=hasher, tokens=tokens, throttle=throttle, outbox=outbox),
        users=UserService(uow, reads, hasher=hasher, cursors=cursors, throttle=throttle, outbox=outbox),
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
        maintenance=MaintenanceService(
            uow, purges=expiring(outbox_retention=timedelta(days=settings.outbox_retention_days))
        ),
        password_resets=PasswordResetService(
            uow,
            hasher=hasher,
            throttle=reset_throttle,
            outbox=outbox,
            reset_url=settings.password_reset_url,
            lifetime=timedelta(minutes=settings.password_reset_expire_minutes),
            available=settings.smtp_host is not None or settings.environment != "production",
        ),
    )
