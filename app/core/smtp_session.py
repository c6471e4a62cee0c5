"""Mail transactions on an open SMTP session, pipelined (RFC 2920) when the server offers it.

aiosmtplib opens the session (connect, EHLO, STARTTLS, AUTH) but waits for each reply before the next command
and cannot pipeline. Once the session is open its transport is handed over to `SmtpSession`, which sends MAIL,
RCPT and DATA in one write and, for a run of mails, each mail's content together with the next mail's MAIL, RCPT
and DATA (RFC 2920 lets the content open a group): one write and one round trip per mail where there were four
of each. Writes and waits are most of what a mail costs the sending process on a local network.
"""

import asyncio
import re
from collections import deque
from collections.abc import Sequence

_REPLY_LINE = re.compile(rb"(\d{3})(?:([ -])([^\r\n]*))?\r?\n")  # the text is optional (RFC 5321 4.2)
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)
_MAX_REPLY = 64 * 1024
_Envelope = tuple[tuple[str, str, tuple[int, ...]], ...]  # MAIL, RCPT, DATA: (name, line, accepted reply codes)


class SmtpError(Exception):
    """A mail did not go through; `accepted` is how many mails of the run before it the server accepted."""

    accepted: int = 0


class SmtpDisconnected(SmtpError):
    """The session is closed (by the server, the network, or a timeout)."""


class SmtpRefused(SmtpError):
    """The server answered a command with a reply that does not let the mail through."""

    def __init__(self, command: str, code: int, text: str) -> None:
        super().__init__(f"{command}: {code} {text}")
        self.code = code


class SmtpBadAddress(SmtpError, ValueError):
    """An address that would change the command it is in (a line break, an angle bracket): nothing is written."""


class _Replies(asyncio.Protocol):
    """Collects the server's replies, however they arrive: several in one segment, or one across several."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._replies: deque[tuple[int, str]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while match := _REPLY_LINE.match(self._buffer):
            code, more, text = int(match[1]), match[2] == b"-", (match[3] or b"").decode("utf-8", "replace")
            del self._buffer[: match.end()]
            self._lines.append(text)
            if not more:
                self._replies.append((code, "\n".join(self._lines)))
                self._lines = []
        if len(self._buffer) > _MAX_REPLY or b"\n" in self._buffer:
            # A complete line that is not a reply, or an endless one: the session cannot be trusted any more.
            self._buffer.clear()
            self.lost = True
        self._wake()

    @property
    def waiting(self) -> bool:
        """Replies no command asked for are waiting (a server's 421 before it closes, say)."""
        return bool(self._replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()

    def eof_received(self) -> bool:
        self.lost = True
        self._wake()
        return False  # close the transport

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self) -> tuple[int, str]:
        while not self._replies:
            if self.lost:
                raise SmtpDisconnected("the session was closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._replies.popleft()


class SmtpSession:
    """Sends mails on an established session; `pipelining` and `smtputf8` are what the server's EHLO offered.
    A mail with no reply within `timeout_seconds` closes the session."""

    def __init__(
        self, transport: asyncio.Transport, *, pipelining: bool, smtputf8: bool, timeout_seconds: float
    ) -> None:
        self._replies = _Replies()
        self._timeout = timeout_seconds
        self._transport = transport
        self._pipelining = pipelining
        self._smtputf8 = smtputf8
        transport.set_protocol(self._replies)

    @property
    def is_open(self) -> bool:
        """Usable for the next mail: not closed, and no reply arrived that no command asked for."""
        return not (self._replies.lost or self._replies.waiting or self._transport.is_closing())

    async def send_all(self, sender: str, mails: Sequence[tuple[str, bytes]]) -> None:
        """Mails (recipient, content) in this order; returns once the server accepted them all. Otherwise raises
        SmtpRefused or SmtpDisconnected with `accepted` set: the mails before that index went through, the one
        at it did not (or its fate is unknown: no reply), those after it were not sent (a mail whose envelope
        went ahead is cut off before its content: closing the session ends its transaction). `content` is the
        whole message (headers and body); it is sent as 8-bit with SMTPUTF8 when an address is not ASCII (which
        needs the server's SMTPUTF8). Any refusal closes the session: its state on the server is unknown."""
        envelopes: list[_Envelope] = []
        refusal: SmtpError | None = None
        for recipient, _ in mails:  # every address checked before anything is written; a bad one ends the run
            try:
                envelopes.append(self._envelope(sender, recipient))
            except SmtpError as exc:
                refusal = exc
                break
        contents = [content for _, content in mails]
        sent = 0  # mails the server accepted so far
        try:
            if not self._pipelining:
                for envelope, content in zip(envelopes, contents, strict=False):
                    await self._one_at_a_time(envelope, content)
                    sent += 1
            elif envelopes:
                self._write(_lines(envelopes[0]))
                for index, envelope in enumerate(envelopes):
                    async with asyncio.timeout(self._timeout):
                        if index:  # the previous mail's end of data comes first
                            _check("end of data", (250,), await self._replies.next())
                            sent += 1
                        await self._check_envelope(envelope)
                        following = _lines(envelopes[index + 1]) if index + 1 < len(envelopes) else b""
                        self._write(_wire_content(contents[index]) + following)
                async with asyncio.timeout(self._timeout):
                    _check("end of data", (250,), await self._replies.next())
                    sent += 1
        except TimeoutError as exc:
            self.close()
            raise _at(SmtpDisconnected("no reply in time"), sent) from exc
        except SmtpRefused as exc:
            self.close()  # the transaction's state on the server is unknown: a new session for the next mail
            raise _at(exc, sent) from None
        except SmtpDisconnected as exc:
            raise _at(exc, sent) from None
        if refusal is not None:
            raise _at(refusal, sent)

    def _envelope(self, sender: str, recipient: str) -> _Envelope:
        if any(char in address for address in (sender, recipient) for char in "\r\n<>"):
            raise SmtpBadAddress("an address may not hold a line break or an angle bracket")
        utf8 = not (sender.isascii() and recipient.isascii())
        if utf8 and not self._smtputf8:
            raise SmtpRefused("MAIL", 553, "the server does not offer SMTPUTF8 for a non-ASCII address")
        mail = f"MAIL FROM:<{sender}>" + (" SMTPUTF8 BODY=8BITMIME" if utf8 else "")
        return (("MAIL", mail, (250,)), ("RCPT", f"RCPT TO:<{recipient}>", (250, 251)), ("DATA", "DATA", (354,)))

    async def _check_envelope(self, envelope: _Envelope) -> None:
        replies = [await self._replies.next() for _ in envelope]  # every reply is read, even after a refusal
        for (name, _, accepted), reply in zip(envelope, replies, strict=True):
            _check(name, accepted, reply)

    async def _one_at_a_time(self, envelope: _Envelope, content: bytes) -> None:
        async with asyncio.timeout(self._timeout):
            for name, line, accepted in envelope:
                self._write(f"{line}\r\n".encode())
                _check(name, accepted, await self._replies.next())
            self._write(_wire_content(content))
            _check("end of data", (250,), await self._replies.next())

    def _write(self, data: bytes) -> None:
        if not self.is_open:
            raise SmtpDisconnected("the session was closed")
        self._transport.write(data)

    def close(self) -> None:
        """QUIT without waiting for the reply, and close."""
        if not (self._replies.lost or self._transport.is_closing()):
            self._transport.write(b"QUIT\r\n")
        self._transport.close()


def _lines(envelope: _Envelope) -> bytes:
    return "".join(f"{line}\r\n" for _, line, _ in envelope).encode()


def _at(error: SmtpError, accepted: int) -> SmtpError:
    error.accepted = accepted
    return error


def _check(command: str, accepted: tuple[int, ...], reply: tuple[int, str]) -> None:
    code, text = reply
    if code not in accepted:
        raise SmtpRefused(command, code, text)


def _wire_content(content: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, a leading dot doubled, ended by a line with a dot. Content
    already in that form (as the mailer lays it out) is only counted through, not rewritten."""
    crlf = content.count(b"\r\n")
    text = content if content.count(b"\n") == crlf == content.count(b"\r") else _LINE_ENDS.sub(b"\r\n", content)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    if text.startswith(b".") or b"\n." in text:
        text = _DOT_AT_LINE_START.sub(b"..", text)
    return text + b".\r\n"
