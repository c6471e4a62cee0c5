"""Engine and session factory for PostgreSQL (psycopg 3) and SQLite (aiosqlite)."""

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings

_ASYNC_DRIVERS = {"postgresql": "postgresql+psycopg", "sqlite": "sqlite+aiosqlite"}


def async_url(raw: str) -> URL:
    """Pick the async driver for a plain `postgresql://` or `sqlite:///` URL."""
    url = make_url(raw)
    backend = url.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database backend: {backend}")
    return url.set(drivername=_ASYNC_DRIVERS[backend])


def sync_url(raw: str) -> URL:
    """The same database through a synchronous driver (for tooling such as bulk seeding)."""
    url = async_url(raw)
    return url.set(drivername="postgresql+psycopg" if is_postgres(url) else "sqlite")


def is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    target = async_url(url or settings.database_url)
    if is_postgres(target):
        return _postgres_engine(target, settings)
    return _sqlite_engine(target, settings)


def _postgres_engine(url: URL, settings: Settings) -> AsyncEngine:
    options = f"-c statement_timeout={settings.database_statement_timeout_ms} -c timezone=UTC"
    return create_async_engine(
        url,
        pool_pre_ping=True,
        # Statement parameters (emails, password hashes) stay out of exception messages and so out of logs.
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_connect_timeout_seconds,
        connect_args={
            "connect_timeout": max(1, round(settings.database_connect_timeout_seconds)),
            "options": options,
            # A silent network (not a refused connection) must not hang a request for minutes:
            # unacknowledged writes fail after 10 s and idle connections are probed.
            "tcp_user_timeout": 10_000,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 5,
            "keepalives_count": 3,
        },
    )


def _sqlite_engine(url: URL, settings: Settings) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    busy_timeout = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # SQLite has one writer. Taking the write lock when the transaction starts makes
        # concurrent writers queue on busy_timeout instead of failing half-way with
        # "database is locked" when a read lock cannot be upgraded.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
