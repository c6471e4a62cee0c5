"""Where the database is and how to reach it: the driver for a plain URL, and the connection arguments.

Shared by the write side's engine (app/db/session.py) and the read side's connections (app/db/reader.py).
"""

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.core.metrics import POOL_IN_USE

PING_AFTER_IDLE_SECONDS = 1.0
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


# The read side's planner settings (ADR-046): no JIT compilation (it cost 0.7 s on a report over ten million
# orders, for a query that runs in milliseconds), and index reads priced for data in memory or on SSD, so a
# report's partial days join the order lines by index instead of scanning them all.
READ_PLANNER_OPTIONS = "-c jit=off -c random_page_cost=1.1"


def postgres_connect_args(settings: Settings, *, read_only: bool = False) -> dict[str, Any]:
    """psycopg connection arguments shared by the write engine and the read pool (app/db/reader.py)."""
    options = f"-c statement_timeout={settings.database_statement_timeout_ms} -c timezone=UTC"
    if read_only:
        options += f" -c default_transaction_read_only=on {READ_PLANNER_OPTIONS}"
    return {
        "connect_timeout": max(1, round(settings.database_connect_timeout_seconds)),
        "options": options,
        # A silent network (not a refused connection) must not hang a request for minutes:
        # unacknowledged writes fail after 10 s and idle connections are probed.
        "tcp_user_timeout": 10_000,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }


def create_sqlite_file(url: URL) -> None:
    """Create the SQLite file, if missing, readable and writable by its owner only (it holds emails and password
    hashes). SQLite gives the `-wal` and `-shm` files it creates beside it the same mode."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def track_pool_use(engine: AsyncEngine, pool: str) -> None:
    """Keep the `db_pool_connections_in_use` gauge of this pool. Register it after any checkout listener that may
    refuse a connection (a failed ping): SQLAlchemy then retries the checkout, and only the one that succeeds
    counts. Each checked-out record counts once, whatever events repeat."""
    gauge = POOL_IN_USE.labels(pool=pool)
    checked_out: set[int] = set()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if id(record) not in checked_out:
            checked_out.add(id(record))
            gauge.inc()

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _in(_dbapi_connection: Any, record: Any) -> None:
        if id(record) in checked_out:
            checked_out.discard(id(record))
            gauge.dec()
