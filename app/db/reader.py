"""The query side's connections: read-only by type and by database setting, on both databases.

A `ReadQuery` can only be made from a SELECT, and a `Reader` runs nothing else, so a read path cannot even be
written to issue an INSERT. The database refuses too: PostgreSQL connections are opened with
`default_transaction_read_only=on`, SQLite connections with `PRAGMA query_only=ON`.

On PostgreSQL the reads bypass SQLAlchemy's engine at run time: the statement is written once as a SQLAlchemy
Core SELECT, compiled once per dialect, and sent through psycopg's own connection pool in autocommit (one round
trip per read). Measured on the session check: 135 µs of CPU this way, 385 µs through an `AsyncConnection` of
a dedicated autocommit engine, 630 µs through the ORM `Session` (docs/decisions.md, ADR-025). SQLite keeps the
SQLAlchemy engine, whose type processing reads its UUID and timestamp text.
"""

import logging
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeAlias

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Select, event, literal_column, select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings
from app.core.errors import DatabaseUnavailableError
from app.core.metrics import POOL_IN_USE
from app.db.connect import (
    PING_AFTER_IDLE_SECONDS,
    async_url,
    create_sqlite_file,
    is_postgres,
    postgres_connect_args,
    track_pool_use,
)

logger = logging.getLogger("app.db")

_DIALECTS: Mapping[str, Dialect] = {
    name: make_url(f"{driver}://").get_dialect()()
    for name, driver in (("postgresql", "postgresql+psycopg"), ("sqlite", "sqlite"))
}

_READ_IN_USE = POOL_IN_USE.labels(pool="read")

# A result row: a psycopg named tuple or a SQLAlchemy Row; both read by position and by column name.
Row: TypeAlias = Any
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


@dataclass(eq=False)
class ReadQuery:
    """A SELECT, built per dialect by `build(dialect_name)` and compiled once for each.

    `plan_each_time` keeps PostgreSQL from preparing the statement: a prepared statement gets a generic plan
    after five runs, which suits a lookup by key but not a report whose best plan depends on its range.
    """

    build: Callable[[str], AnySelect]
    plan_each_time: bool = False
    _statements: dict[str, AnySelect] = field(default_factory=dict, init=False, repr=False)
    _compiled: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict, init=False, repr=False)

    def statement(self, dialect: str) -> AnySelect:
        if dialect not in self._statements:
            self._statements[dialect] = self.build(dialect)
        return self._statements[dialect]

    def compiled(self, dialect: str) -> tuple[str, dict[str, Any]]:
        """The SQL text in the driver's parameter style, and the values of the statement's own constants."""
        if dialect not in self._compiled:
            statement = self.statement(dialect)
            compiled = statement.compile(dialect=_DIALECTS[dialect])
            if compiled.post_compile_params:  # IN lists of constants: spelled out, one placeholder per value
                compiled = statement.compile(dialect=_DIALECTS[dialect], compile_kwargs={"render_postcompile": True})
            constants = dict(compiled.params)
            self._compiled[dialect] = (str(compiled), constants)
        return self._compiled[dialect]


class Reader(Protocol):
    """Runs `ReadQuery`s, and nothing else, on connections that cannot write."""

    @property
    def dialect(self) -> str: ...

    async def all(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Sequence[Row]: ...

    async def one(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Row | None: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...


class PostgresReader:
    """psycopg's async pool of autocommit, read-only connections; rows are named tuples."""

    dialect = "postgresql"

    def __init__(self, settings: Settings, *, url: str | None = None) -> None:
        target = async_url(url or settings.database_url)
        conninfo = target.set(drivername="postgresql").render_as_string(hide_password=False)
        args = postgres_connect_args(settings, read_only=True)
        self._idle_since: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = weakref.WeakKeyDictionary()
        self._pool: AsyncConnectionPool[AsyncConnection[NamedTuple]] = AsyncConnectionPool(
            conninfo,
            kwargs={**args, "autocommit": True, "row_factory": namedtuple_row},
            min_size=1,
            max_size=settings.database_pool_size + settings.database_max_overflow,
            timeout=settings.database_connect_timeout_seconds,
            check=self._check_if_idle,
            reset=self._stamp,
            open=False,
            name="read",
        )
        self._opened = False

    async def open(self) -> None:
        # Start without waiting for a connection: the service may start before its database does.
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def all(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        sql, constants = query.compiled(self.dialect)
        if not self._opened:  # a caller that skipped the start-up (a script, a test's ASGI client)
            await self.open()
        try:
            async with self._pool.connection() as connection:
                with _READ_IN_USE.track_inprogress():
                    cursor = await connection.execute(
                        sql.encode(), {**constants, **(params or {})}, prepare=False if query.plan_each_time else None
                    )
                    return await cursor.fetchall()
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise DatabaseUnavailableError(type(exc).__name__) from exc

    async def one(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.all(query, params)
        return rows[0] if rows else None

    async def _check_if_idle(self, connection: AsyncConnection[Any]) -> None:
        """Ping only a connection idle for a while (a database restart or a cut network may have broken it); one
        in steady use needs no round trip: if it broke, its statement fails (503) and the pool discards it."""
        if time.monotonic() - self._idle_since.get(connection, 0.0) >= PING_AFTER_IDLE_SECONDS:
            await connection.execute(b"")

    async def _stamp(self, connection: AsyncConnection[Any]) -> None:
        self._idle_since[connection] = time.monotonic()


class SqliteReader:
    """A SQLAlchemy engine whose connections refuse writes (`query_only`) and take no write lock."""

    dialect = "sqlite"

    def __init__(self, settings: Settings, *, url: str | None = None) -> None:
        target = async_url(url or settings.database_url)
        create_sqlite_file(target)
        self._engine: AsyncEngine = create_async_engine(target, hide_parameters=True)
        busy_timeout = int(settings.sqlite_busy_timeout_ms)

        @event.listens_for(self._engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # No transaction around a read: each statement reads one consistent snapshot, under WAL without
            # waiting for writers.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout}")
            cursor.close()

        track_pool_use(self._engine, "read")

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        await self._engine.dispose()

    async def all(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Sequence[Row]:
        async with self._engine.connect() as connection:
            return (await connection.execute(query.statement(self.dialect), dict(params or {}))).all()

    async def one(self, query: ReadQuery, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.all(query, params)
        return rows[0] if rows else None


def create_reader(settings: Settings, *, url: str | None = None) -> Reader:
    target = async_url(url or settings.database_url)
    return PostgresReader(settings, url=url) if is_postgres(target) else SqliteReader(settings, url=url)


_PING = ReadQuery(lambda _dialect: select(literal_column("1").label("one")))


class ReaderChoice:
    """The readers a report may use, in order of preference: a replica while it answers, then the primary.

    After the replica fails (unreachable, or a statement cancelled by recovery), reports go to the primary for
    `retry_after_seconds` before the replica is tried again, so an outage costs one wait of the pool's connect
    timeout, not one per report.
    """

    def __init__(self, primary: Reader, replica: Reader | None = None, *, retry_after_seconds: float = 5.0) -> None:
        self.primary = primary
        self.replica = replica
        self._retry_after = retry_after_seconds
        self._replica_down_until = 0.0

    def candidates(self) -> list[Reader]:
        if self.replica is None or time.monotonic() < self._replica_down_until:
            return [self.primary]
        return [self.replica, self.primary]

    async def check_replica(self) -> bool:
        """Whether the replica answers a trivial read (raises, or times out in the pool, when it does not)."""
        if self.replica is None:
            return False
        await self.replica.all(_PING)
        return True

    def failed(self, reader: Reader) -> None:
        if reader is self.replica:
            logger.warning("analytics replica unavailable; reading from the primary")
            self._replica_down_until = time.monotonic() + self._retry_after

    async def open(self) -> None:
        if self.replica is not None:
            await self.replica.open()

    async def close(self) -> None:
        if self.replica is not None:
            await self.replica.close()
