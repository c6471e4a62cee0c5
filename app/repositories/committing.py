"""Around whatever commits (a COMMIT, or a statement run in autocommit): a connection lost there leaves the
outcome unknown, and the caller must hear that rather than "nothing was changed"."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.errors import CommitOutcomeUnknownError


@asynccontextmanager
async def committing() -> AsyncIterator[None]:
    try:
        yield
    except (DBAPIError, OSError) as exc:
        # An error the database sent (a deferred constraint, a statement timeout) means it rolled the
        # transaction back. A connection that broke meanwhile says nothing either way.
        if isinstance(exc, OSError) or exc.connection_invalidated:
            raise CommitOutcomeUnknownError("connection lost while committing") from exc
        raise


@asynccontextmanager
async def alone(session: AsyncSession) -> AsyncIterator[AsyncConnection]:
    """The session's connection in autocommit (PostgreSQL), for one statement that is atomic by itself and needs no
    transaction around it: no BEGIN and COMMIT round trips. The statement commits as it ends, so it runs inside
    `committing()`. It must be the unit of work's first."""
    connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    async with committing():
        yield connection
