"""How many rows a guarded UPDATE or DELETE touched: the one fact its caller needs from it."""

from typing import Any

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    if not isinstance(result, CursorResult):
        raise TypeError("an UPDATE or DELETE gives a CursorResult")
    return result.rowcount
