"""Around whatever commits (a COMMIT, or a statement run in autocommit): a connection lost there leaves the
outcome unknown, and the caller must hear that rather than "nothing was changed"."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError

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
