"""The mail transaction on the wire: pipelined when offered, every reply read, refusals and silence end the session."""

import asyncio

import pytest

from app.core.smtp_session import SmtpDisconnected, SmtpRefused, SmtpSession, _wire_content

CONTENT = b"Subject: Hi\r\n\r\nHello\r\n"
ENVELOPE = [b"MAIL FROM:<shop@example.com>\r\n", b"RCPT TO:<ann@example.com>\r\n", b"DATA\r\n"]


class Wire(asyncio.Transport):
    """A transport that keeps what is written to it; the test plays the server through the protocol."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.protocol: asyncio.Protocol | None = None

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        assert isinstance(protocol, asyncio.Protocol)
        self.protocol = protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def reply(self, data: bytes) -> None:
        assert self.protocol is not None
        self.protocol.data_received(data)


def session(wire: Wire, *, pipelining: bool = True, timeout: float = 5.0) -> SmtpSession:
    return SmtpSession(wire, pipelining=pipelining, smtputf8=False, timeout_seconds=timeout)


async def ticks() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def start_sending(wire: Wire, recipient: str = "ann@example.com", **options: bool) -> asyncio.Task[None]:
    """A mail from shop@example.com on a session over `wire`, under way until the server answers."""
    sending = asyncio.create_task(session(wire, **options).send("shop@example.com", recipient, CONTENT))
    await ticks()
    return sending


async def test_a_pipelining_server_gets_the_envelope_in_one_write_and_the_content_in_a_second():
    wire = Wire()
    sending = await start_sending(wire)
    assert wire.writes == [b"".join(ENVELOPE)]  # no reply awaited between the three commands

    wire.reply(b"250 OK\r\n250 OK\r\n354 go on\r\n")  # all three replies in one segment
    await ticks()
    assert wire.writes[1:] == [CONTENT + b".\r\n"]

    wire.reply(b"250 que")  # and a reply split across two segments
    await ticks()
    assert not sending.done()
    wire.reply(b"ued\r\n")
    await asyncio.wait_for(sending, 1)
    assert not wire.closed


async def test_without_pipelining_each_command_waits_for_its_reply():
    wire = Wire()
    sending = await start_sending(wire, pipelining=False)
    for step, command in enumerate(ENVELOPE, start=1):
        await ticks()
        assert wire.writes == ENVELOPE[:step]
        wire.reply(b"354 go on\r\n" if command == b"DATA\r\n" else b"250-fine\r\n250 OK\r\n")
    await ticks()
    wire.reply(b"250 queued\r\n")
    await asyncio.wait_for(sending, 1)
    assert wire.writes[-1] == CONTENT + b".\r\n"


async def test_a_refused_recipient_ends_the_session_after_every_reply_is_read():
    wire = Wire()
    sending = await start_sending(wire, "nobody@example.com")
    wire.reply(b"250 OK\r\n550-5.1.1 no such\r\n550 mailbox\r\n")
    await ticks()
    assert not sending.done()  # the DATA reply is still to come
    wire.reply(b"503 no valid recipients\r\n")

    with pytest.raises(SmtpRefused) as refused:
        await asyncio.wait_for(sending, 1)
    assert refused.value.code == 550 and "no such\nmailbox" in str(refused.value)
    assert wire.writes[-1] == b"QUIT\r\n" and wire.closed
    assert CONTENT + b".\r\n" not in wire.writes


async def test_a_server_that_goes_away_or_stays_silent_ends_the_session():
    gone = Wire()
    sending = await start_sending(gone)
    assert gone.protocol is not None
    gone.protocol.connection_lost(ConnectionResetError())
    with pytest.raises(SmtpDisconnected):
        await asyncio.wait_for(sending, 1)

    silent = Wire()
    with pytest.raises(SmtpDisconnected):
        await session(silent, timeout=0.05).send("shop@example.com", "ann@example.com", CONTENT)
    assert silent.closed


async def test_garbage_from_the_server_ends_the_session():
    wire = Wire()
    sending = await start_sending(wire)
    wire.reply(b"hello there\r\n")
    with pytest.raises(SmtpDisconnected):
        await asyncio.wait_for(sending, 1)


async def test_an_address_that_would_add_a_command_is_refused_before_anything_is_written():
    wire = Wire()
    with pytest.raises(ValueError):
        await session(wire).send("shop@example.com", "ann@example.com>\r\nRCPT TO:<eve@example.com", CONTENT)
    assert wire.writes == []


def test_the_content_has_crlf_line_ends_doubled_leading_dots_and_the_end_mark():
    assert _wire_content(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
    assert _wire_content(b".\r\n") == b"..\r\n.\r\n"


async def test_a_reply_may_have_no_text():
    wire = Wire()
    sending = await start_sending(wire)
    wire.reply(b"250\r\n250\r\n354\r\n")
    await ticks()
    wire.reply(b"250\r\n")
    await asyncio.wait_for(sending, 1)


async def test_a_reply_nobody_asked_for_makes_the_session_unusable():
    wire = Wire()
    idle = session(wire)
    assert idle.is_open
    wire.reply(b"421 4.4.2 idle too long, closing\r\n")
    assert not idle.is_open  # the mailer opens a new session rather than pair that reply with its next command
