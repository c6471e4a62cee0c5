"""Case-insensitive substring match where `%` and `_` in the needle match literally."""

from typing import Any

from sqlalchemy import BindParameter, ColumnElement, SQLColumnExpression, func

_ESCAPE = "\\"


def substring_pattern(needle: str) -> str:
    """The LIKE pattern for `needle` anywhere, lower-cased, its wildcards and escapes made literal."""
    escaped = needle.lower().replace(_ESCAPE, _ESCAPE * 2).replace("%", f"{_ESCAPE}%").replace("_", f"{_ESCAPE}_")
    return f"%{escaped}%"


def contains_literal(
    column: SQLColumnExpression[str] | SQLColumnExpression[str | None], pattern: BindParameter[Any]
) -> ColumnElement[bool]:
    """`column` matches `pattern`, a bound value made by `substring_pattern`."""
    return func.lower(column).like(pattern, escape=_ESCAPE)
