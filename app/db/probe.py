"""The readiness probe's own way to the database: short timeouts, no pool, and the schema revision it finds.

The probe must answer within its deadline even when the network to the database swallows packets. Through the
request pool it could not: a pooled connection caught by the deadline is rolled back and closed on the way out,
and on a silent network that waits for the TCP user timeout (10 s). The probe opens a fresh connection instead,
with a connect timeout, a statement timeout and a TCP user timeout of its own, so an abandoned probe ends by
itself within a few seconds and never holds a request's connection.
"""

from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db.connect import async_url, create_sqlite_file, is_postgres, postgres_connect_args

ALEMBIC_DIRECTORY = Path(__file__).resolve().parent.parent.parent / "alembic"
PROBE_TIMEOUT_SECONDS = 2


def create_probe_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url)
    if not is_postgres(url):
        create_sqlite_file(url)
        return create_async_engine(url, poolclass=NullPool, connect_args={"timeout": PROBE_TIMEOUT_SECONDS})
    connect_args = postgres_connect_args(settings, read_only=True)
    connect_args.update(
        connect_timeout=PROBE_TIMEOUT_SECONDS,
        tcp_user_timeout=PROBE_TIMEOUT_SECONDS * 1000,
        options=connect_args["options"].replace(
            f"statement_timeout={settings.database_statement_timeout_ms}",
            f"statement_timeout={PROBE_TIMEOUT_SECONDS * 1000}",
        ),
    )
    return create_async_engine(url, poolclass=NullPool, hide_parameters=True, connect_args=connect_args)


async def schema_revisions(engine: AsyncEngine) -> frozenset[str]:
    """The revisions recorded in the database's `alembic_version`; empty for a database never migrated.

    Raises the driver's error when the database cannot be reached."""
    async with engine.connect() as connection:
        try:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as exc:
            if exc.connection_invalidated or not _is_missing_table(exc):
                raise
            return frozenset()
        return frozenset(row[0] for row in rows)


def _is_missing_table(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "42P01" or "no such table" in str(exc.orig)


class SchemaVersions:
    """The migrations this code ships with (alembic/versions), read once at start-up."""

    def __init__(self, directory: Path = ALEMBIC_DIRECTORY) -> None:
        script = ScriptDirectory(str(directory))
        self.heads = frozenset(script.get_heads())
        self.known = frozenset(revision.revision for revision in script.walk_revisions())

    def is_outdated(self, revisions: frozenset[str]) -> bool:
        """Behind this code's head: never migrated, or at an older revision this code knows.

        A revision this code does not know is newer (the next release migrated first, during a rolling deploy):
        migrations keep the previous release working, so that is not outdated."""
        if revisions == self.heads:
            return False
        return not revisions or revisions <= self.known


@cache
def shipped_schema() -> SchemaVersions:
    return SchemaVersions()
