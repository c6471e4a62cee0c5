"""The mail transaction on the wire: pipelined when offered, every reply read, refusals and silence end the session."""

import asyncio

import pytest

from app.core.smtp_session import SmtpDisconnected, SmtpError, SmtpRefused, SmtpSession, _wire_content

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
    sending = asyncio.create_task(session(wire, **options).send_all("shop@example.com", [(recipient, CONTENT)]))
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


def envelope(recipient: str) -> bytes:
    return f"MAIL FROM:<shop@example.com>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()


async def start_run(wire: Wire, recipients: list[str]) -> asyncio.Task[None]:
    """Mail number n (content `Mail n`) to each recipient, as one run on a pipelining session over `wire`."""
    mails = [(recipient, f"Mail {number}\r\n".encode()) for number, recipient in enumerate(recipients)]
    sending = asyncio.create_task(session(wire).send_all("shop@example.com", mails))
    await ticks()
    return sending


async def test_in_a_run_each_content_goes_with_the_next_mails_envelope_one_write_per_mail():
    wire = Wire()
    sending = await start_run(wire, ["a@example.com", "b@example.com", "c@example.com"])
    for _ in range(3):
        wire.reply(b"250 OK\r\n250 OK\r\n354 go on\r\n")
        await ticks()
        wire.reply(b"250 queued\r\n")  # the end of data, read before the next envelope's replies
    await asyncio.wait_for(sending, 1)

    assert wire.writes == [
        envelope("a@example.com"),
        b"Mail 0\r\n.\r\n" + envelope("b@example.com"),
        b"Mail 1\r\n.\r\n" + envelope("c@example.com"),
        b"Mail 2\r\n.\r\n",
    ]
    assert not wire.closed


async def test_a_refusal_in_a_run_says_how_many_went_and_the_mail_behind_gets_no_content():
    refused_recipient = Wire()
    sending = await start_run(refused_recipient, ["a@example.com", "nobody@example.com", "c@example.com"])
    refused_recipient.reply(b"250 OK\r\n250 OK\r\n354 go on\r\n")
    await ticks()
    refused_recipient.reply(b"250 queued\r\n250 OK\r\n550 no such mailbox\r\n503 no valid recipients\r\n")
    with pytest.raises(SmtpRefused) as refused:
        await asyncio.wait_for(sending, 1)
    assert refused.value.accepted == 1 and refused.value.code == 550
    assert refused_recipient.writes[-1] == b"QUIT\r\n" and refused_recipient.closed
    assert not any(b"Mail 1" in write for write in refused_recipient.writes)

    refused_content = Wire()
    sending = await start_run(refused_content, ["a@example.com", "b@example.com"])
    refused_content.reply(b"250 OK\r\n250 OK\r\n354 go on\r\n")
    await ticks()
    assert refused_content.writes[-1] == b"Mail 0\r\n.\r\n" + envelope("b@example.com")
    refused_content.reply(b"554 5.7.1 rejected as spam\r\n250 OK\r\n250 OK\r\n354 go on\r\n")
    with pytest.raises(SmtpRefused) as refused:
        await asyncio.wait_for(sending, 1)
    assert refused.value.accepted == 0 and refused.value.code == 554
    # The mail whose envelope went ahead never gets its content: closing the session ends its transaction.
    assert refused_content.writes[-2:] == [b"Mail 0\r\n.\r\n" + envelope("b@example.com"), b"QUIT\r\n"]
    assert refused_content.closed


async def test_a_bad_address_in_a_run_ends_it_after_the_mails_before_it():
    wire = Wire()
    sending = await start_run(wire, ["a@example.com", "eve@example.com>\r\nRSET"])
    assert wire.writes == [envelope("a@example.com")]
    wire.reply(b"250 OK\r\n250 OK\r\n354 go on\r\n")
    await ticks()
    assert wire.writes[-1] == b"Mail 0\r\n.\r\n"
    wire.reply(b"250 queued\r\n")
    with pytest.raises(ValueError) as refused:
        await asyncio.wait_for(sending, 1)
    assert isinstance(refused.value, SmtpError) and refused.value.accepted == 1
    assert not wire.closed  # nothing went wrong on the wire


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
        await session(silent, timeout=0.05).send_all("shop@example.com", [("ann@example.com", CONTENT)])
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
        await session(wire).send_all("shop@example.com", [("ann@example.com>\r\nRCPT TO:<eve@example.com", CONTENT)])
    assert wire.writes == []


def test_the_content_has_crlf_line_ends_doubled_leading_dots_and_the_end_mark():
    assert _wire_content(b"a\n.b\r\n..c\rd") == b"a\r\n..b\r\n...c\r\nd\r\n.\r\n"
    assert _wire_content(b".\r\n") == b"..\r\n.\r\n"
    assert _wire_content(b"a\r\nb") == b"a\r\nb\r\n.\r\n"  # already CRLF: kept as it is
    assert _wire_content(b"a\r\n.b\r\n") == b"a\r\n..b\r\n.\r\n"
    assert _wire_content(b"a\r\r\nb\r\n") == b"a\r\n\r\nb\r\n.\r\n"  # a bare CR among CRLFs


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
