"""Query parameters several routers share, described once for the OpenAPI document."""

from typing import Annotated

from fastapi import Query

from app.core.pagination import MAX_CURSOR_LENGTH

PageLimit = Annotated[int, Query(ge=1, le=100, description="How many rows a page holds, 1 to 100.")]
PageCursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="The previous page's `next_cursor`, unchanged, with the same filters; omit it for the first page.",
    ),
]
