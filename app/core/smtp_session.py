"""Mail transactions on an open SMTP session, pipelined (RFC 2920) when the server offers it.

aiosmtplib opens the session (connect, EHLO, STARTTLS, AUTH) but waits for each reply before the next command
and cannot pipeline. Once the session is open its transport is handed over to `SmtpSession`, which sends MAIL,
RCPT and DATA in one write and the content in a second: two round trips per mail where there were four, and
half the writes, which is most of what a mail costs the sending process on a local network.
"""

import asyncio
import re
from collections import deque

_REPLY_LINE = re.compile(rb"(\d{3})(?:([ -])([^\r\n]*))?\r?\n")  # the text is optional (RFC 5321 4.2)
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)
_MAX_REPLY = 64 * 1024


class SmtpDisconnected(Exception):
    """The session is closed (by the server, the network, or a timeout)."""


class SmtpRefused(Exception):
    """The server answered a command with a reply that does not let the mail through."""

    def __init__(self, command: str, code: int, text: str) -> None:
        super().__init__(f"{command}: {code} {text}")
        self.code = code


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

    async def send(self, sender: str, recipient: str, content: bytes) -> None:
        """One mail to one recipient; returns once the server accepted it, raises SmtpRefused or SmtpDisconnected
        otherwise. `content` is the whole message (headers and body); it is sent as 8-bit with SMTPUTF8 when an
        address is not ASCII (which needs the server's SMTPUTF8)."""
        if any(char in address for address in (sender, recipient) for char in "\r\n<>"):
            raise ValueError("an address may not hold a line break or an angle bracket")
        utf8 = not (sender.isascii() and recipient.isascii())
        if utf8 and not self._smtputf8:
            raise SmtpRefused("MAIL", 553, "the server does not offer SMTPUTF8 for a non-ASCII address")
        mail = f"MAIL FROM:<{sender}>" + (" SMTPUTF8 BODY=8BITMIME" if utf8 else "")
        commands = (("MAIL", mail, (250,)), ("RCPT", f"RCPT TO:<{recipient}>", (250, 251)), ("DATA", "DATA", (354,)))
        try:
            async with asyncio.timeout(self._timeout):
                await self._envelope(commands)
                self._write(_wire_content(content))
                _check("end of data", (250,), await self._replies.next())
        except TimeoutError as exc:
            self.close()
            raise SmtpDisconnected("no reply in time") from exc
        except SmtpRefused:
            self.close()  # the transaction's state on the server is unknown: a new session for the next mail
            raise

    async def _envelope(self, commands: tuple[tuple[str, str, tuple[int, ...]], ...]) -> None:
        """`commands`: (name, line, accepted reply codes) each."""
        if not self._pipelining:
            for name, line, accepted in commands:
                self._write(f"{line}\r\n".encode())
                _check(name, accepted, await self._replies.next())
            return
        self._write("".join(f"{line}\r\n" for _, line, _ in commands).encode())
        replies = [await self._replies.next() for _ in commands]  # every reply is read, even after a refusal
        for (name, _, accepted), reply in zip(commands, replies, strict=True):
            _check(name, accepted, reply)

    def _write(self, data: bytes) -> None:
        if not self.is_open:
            raise SmtpDisconnected("the session was closed")
        self._transport.write(data)

    def close(self) -> None:
        """QUIT without waiting for the reply, and close."""
        if not (self._replies.lost or self._transport.is_closing()):
            self._transport.write(b"QUIT\r\n")
        self._transport.close()


def _check(command: str, accepted: tuple[int, ...], reply: tuple[int, str]) -> None:
    code, text = reply
    if code not in accepted:
        raise SmtpRefused(command, code, text)


def _wire_content(content: bytes) -> bytes:
    """The message as DATA carries it: CRLF line ends, a leading dot doubled, ended by a line with a dot."""
    text = _LINE_ENDS.sub(b"\r\n", content)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return _DOT_AT_LINE_START.sub(b"..", text) + b".\r\n"
