"""Opaque keyset cursors: the sort key of the last row of a page, as URL-safe base64 JSON.

Decoding is strict, so a garbage or tampered cursor is a 422, never a 500. A cursor only
says where to resume; it grants nothing, because every query still applies the caller's filters.
"""

import base64
import binascii
import json
import uuid
from datetime import datetime

from app.core.errors import InvalidInputError

_MAX_CURSOR_LENGTH = 512


def encode_cursor(*values: datetime | uuid.UUID | str | int) -> str:
    raw = json.dumps([_encode(value) for value in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple[object, ...]:
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong shape")
        return tuple(_decode(value, kind) for value, kind in zip(values, types, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidInputError(
            "The cursor is not valid.", loc=["query", "cursor"], error_type="cursor_invalid"
        ) from exc


def _encode(value: datetime | uuid.UUID | str | int) -> str | int:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def _decode(value: object, kind: type) -> object:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError("expected text")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("cursor time without offset")
        return parsed
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise TypeError("expected text")
        return uuid.UUID(hex=value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise TypeError(f"expected {kind.__name__}")
