"""The write side's engine and session factory, for PostgreSQL (psycopg 3) and SQLite (aiosqlite).

Reads go through app/db/reader.py instead.
"""

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings
from app.db.connect import (
    PING_AFTER_IDLE_SECONDS,
    async_url,
    create_sqlite_file,
    is_postgres,
    postgres_connect_args,
    track_pool_use,
)


def create_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    target = async_url(url or settings.database_url)
    if is_postgres(target):
        return _postgres_engine(target, settings)
    return _sqlite_engine(target, settings)


def _postgres_engine(url: URL, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        url,
        # Statement parameters (emails, password hashes) stay out of exception messages and so out of logs.
        hide_parameters=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_connect_timeout_seconds,
        connect_args=postgres_connect_args(settings),
    )
    _ping_when_idle(engine)
    track_pool_use(engine, "write")
    return engine


def _sqlite_engine(url: URL, settings: Settings) -> AsyncEngine:
    create_sqlite_file(url)
    engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    busy_timeout = settings.sqlite_busy_timeout_ms

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: in WAL mode, NORMAL may lose the last acknowledged commits to a power cut (not to a crash of the
        # process); FULL syncs the WAL at every commit. Cost measured in docs/tradeoffs.md.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # SQLite has one writer. Taking the write lock when the transaction starts makes
        # concurrent writers queue on busy_timeout instead of failing half-way with
        # "database is locked" when a read lock cannot be upgraded.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    track_pool_use(engine, "write")
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


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
