"""Cursors are opaque and tamper-evident: only an intact cursor made for this list and this viewer reads back."""

import base64
import uuid
from datetime import UTC, datetime

import pytest

from app.core.errors import InvalidInputError
from app.core.pagination import CursorCodec

CODEC = CursorCodec(b"the service's key")
POSITION = (datetime(2026, 11, 26, 10, 0, tzinfo=UTC), uuid.UUID("7d0b7d59-7f3b-4d8f-9a0e-1c3f0e6a8b1d"))


def test_a_cursor_reads_back_for_its_scope():
    cursor = CODEC.encode("orders:alice", POSITION)
    assert CODEC.decode("orders:alice", cursor) == [POSITION[0].isoformat(), POSITION[1].hex]


@pytest.mark.parametrize(
    "forge",
    [
        lambda cursor: CODEC.encode("orders:bob", POSITION),  # another caller's
        lambda cursor: CODEC.encode("users:alice", POSITION),  # another list's
        lambda cursor: CursorCodec(b"another key").encode("orders:alice", POSITION),  # not signed here
        lambda cursor: cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"),  # altered tag
        lambda cursor: _rewrite_payload(cursor),  # altered position, tag kept
        lambda cursor: "",
        lambda cursor: "not base64 at all!",
        lambda cursor: "x" * 600,
    ],
    ids=["other-caller", "other-list", "other-key", "altered-tag", "altered-body", "empty", "garbage", "too-long"],
)
def test_anything_else_is_a_422_on_the_cursor(forge):
    forged = forge(CODEC.encode("orders:alice", POSITION))
    with pytest.raises(InvalidInputError) as raised:
        CODEC.decode("orders:alice", forged)
    assert raised.value.errors[0]["loc"] == ["query", "cursor"]


def _rewrite_payload(cursor: str) -> str:
    data = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    payload, tag = data[:-16], data[-16:]
    payload = payload.replace(b"2026-11-26", b"2027-11-26")
    return base64.urlsafe_b64encode(payload + tag).decode().rstrip("=")
