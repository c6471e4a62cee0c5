"""Opaque, tamper-evident keyset cursors: the sort key of a page's last row, signed for one list and one caller.

A cursor is URL-safe base64 of `[scope, values...]` followed by an HMAC-SHA256 tag (128 bits). Decoding checks
the tag first, so an altered or forged cursor, or one made for another list or another caller (another scope),
is a 422 before anything is read: a cursor can only resume after a row the caller was shown. Decoding is strict,
so garbage is a 422 too, never a 500.
"""

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import datetime

from app.core.errors import InvalidInputError

MAX_CURSOR_LENGTH = 512
_TAG_BYTES = 16
CursorValue = datetime | uuid.UUID


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"cursor\x00" + key).digest()

    def encode(self, scope: str, values: tuple[CursorValue, ...]) -> str:
        raw = json.dumps([scope, *(_encode(value) for value in values)], separators=(",", ":")).encode()
        return _b64(raw + self._tag(raw))

    def decode(self, scope: str, cursor: str) -> list[str]:
        """The cursor's values as text, if it is intact and was made for `scope`; else a 422."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            data = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            raw, tag = data[:-_TAG_BYTES], data[-_TAG_BYTES:]
            if len(data) <= _TAG_BYTES or not hmac.compare_digest(tag, self._tag(raw)):
                raise ValueError("not signed here")
            values = json.loads(raw)
            if not isinstance(values, list) or values[:1] != [scope] or not all(isinstance(v, str) for v in values):
                raise ValueError("another list's or another caller's cursor")
            return values[1:]
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise invalid_cursor() from exc

    def _tag(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()[:_TAG_BYTES]


def invalid_cursor() -> InvalidInputError:
    return InvalidInputError("The cursor is not valid.", loc=["query", "cursor"], error_type="cursor_invalid")


def _encode(value: CursorValue) -> str:
    return value.isoformat() if isinstance(value, datetime) else value.hex


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
