"""Case-insensitive substring match where `%` and `_` in the needle match literally."""

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import InstrumentedAttribute

_ESCAPE = "\\"


def contains_literal(column: InstrumentedAttribute[str], needle: str) -> ColumnElement[bool]:
    escaped = needle.lower().replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    return func.lower(column).like(f"%{escaped}%", escape=_ESCAPE)
