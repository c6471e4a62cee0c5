"""Engine and session factory for PostgreSQL (psycopg 3) and SQLite (aiosqlite)."""

import re
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings

PING_AFTER_IDLE_SECONDS = 1.0
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|ALTER|DROP|TRUNCATE|GRANT|COPY)\b", re.IGNORECASE)
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
    engine = create_async_engine(
        url,
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
    _ping_when_idle(engine)
    return engine


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


def create_read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads: on PostgreSQL every statement runs on its own (autocommit), which
    under READ COMMITTED sees what it would see inside a transaction, minus the BEGIN and ROLLBACK round
    trips. They share the engine's pool and refuse to write. SQLite keeps its transactions."""
    if not is_postgres(engine.url):
        return create_session_factory(engine)
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(reader.sync_engine, "before_cursor_execute", _refuse_writes)
    return create_session_factory(reader)


def _refuse_writes(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
    # Without a transaction each write would commit on its own, so a read-only unit of work never writes.
    if context.isinsert or context.isupdate or context.isdelete or context.isddl or _WRITE.match(statement):
        raise RuntimeError("a read-only unit of work cannot write")


def _ping_when_idle(engine: AsyncEngine) -> None:
    """pool_pre_ping without a round trip on every checkout: ping only connections idle for a while.

    A connection that broke while idle (database restart, network cut) is still replaced before a request
    uses it. One in steady use needs no ping: if it breaks, its statement fails (503, nothing changed) and
    SQLAlchemy invalidates it and every older connection in the pool, so the next checkouts reconnect.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc
