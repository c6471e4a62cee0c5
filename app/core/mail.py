"""Outgoing mail: to an SMTP server (aiosmtplib opens the session), or to the log in development without one."""

import asyncio
import functools
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import cast

import aiosmtplib

from app.core.smtp_session import SmtpDisconnected, SmtpError, SmtpSession

logger = logging.getLogger("app.mail")


class MailError(Exception):
    """The mail server did not take the mail."""


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """A plain-text mail to one address; `recipient_ref` names the recipient in logs instead of the address."""

    to: str
    subject: str
    text: str
    message_id: str
    recipient_ref: str


@dataclass(frozen=True, slots=True)
class MailDelivery:
    """What became of a run of mails: the first `accepted` went through; `error` says why the next did not."""

    accepted: int
    error: MailError | None = None


class SmtpMailer:
    """One SMTP session, opened on first use, kept for the mails after it and opened again after a failure.

    A session per mail would cost a TCP handshake, EHLO, STARTTLS and login each time; the relay sends its
    mails one after another, so one session serves them all. aiosmtplib opens it; the mails go through
    `SmtpSession` (app/core/smtp_session.py), which pipelines a run of mails when the server offers
    PIPELINING. A kept session the server has closed in the meantime (idle timeout) is noticed on the next
    mail, which is then tried once more on a new session.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls = starttls
        self._timeout = timeout_seconds
        self._domain = sender.rpartition("@")[2] or "localhost"
        self._session: SmtpSession | None = None
        self._local_hostname: str | None = None
        self._lock = asyncio.Lock()

    async def send_all(self, mails: Sequence[OutgoingMail]) -> MailDelivery:
        """Sends the mails in order on the kept session, pipelined, until the server refuses one or goes away."""
        contents = [(mail.to, self._content(mail)) for mail in mails]
        accepted = 0
        async with self._lock:
            # A kept session the server has closed meanwhile (an idle timeout) fails at once: one more try.
            may_retry = self._session is not None and self._session.is_open
            while True:
                try:
                    session = await self._open()
                    await session.send_all(self._sender, contents[accepted:])
                    return MailDelivery(len(mails))
                except SmtpError as exc:
                    self._drop()
                    accepted += exc.accepted
                    if isinstance(exc, SmtpDisconnected) and may_retry and exc.accepted == 0:
                        may_retry = False
                        continue
                    return MailDelivery(accepted, MailError(type(exc).__name__))
                except Exception as exc:  # noqa: BLE001 - opening the session failed: the mail waits for a retry
                    self._drop()
                    return MailDelivery(accepted, MailError(type(exc).__name__))

    def _content(self, mail: OutgoingMail) -> bytes:
        message_id = f"<{mail.message_id}@{self._domain}>"
        if mail.to.isascii() and self._sender.isascii():
            return _plain_message(self._sender, mail.to, mail.subject, mail.text, message_id)
        # an internationalised address: the full email policy, sent with SMTPUTF8
        return _unicode_message(self._sender, mail.to, mail.subject, mail.text, message_id)

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    async def _open(self) -> SmtpSession:
        if self._session is not None and self._session.is_open:
            return self._session
        self._drop()
        if self._local_hostname is None:  # a DNS lookup: once per process, not once per connection
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            start_tls=self._starttls,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        try:
            if client.is_ehlo_or_helo_needed:  # connect() greets only for STARTTLS or a login
                await client.ehlo()
            # asyncio's or uvloop's transport (uvloop's does not derive from asyncio.Transport, but has its API)
            transport = cast(asyncio.Transport | None, client.transport)
            if transport is None or transport.is_closing():
                raise aiosmtplib.SMTPServerDisconnected("the session closed while it was opened")
        except BaseException:
            client.close()
            raise
        self._session = SmtpSession(
            transport,
            pipelining=client.supports_extension("pipelining"),
            smtputf8=client.supports_extension("smtputf8"),
            timeout_seconds=self._timeout,
        )
        return self._session

    def _drop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()


_MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF


def _plain_message(sender: str, to: str, subject: str, text: str, message_id: str) -> bytes:
    """A text/plain mail. The common case (ASCII text in short lines, an ASCII subject on one line) is laid out
    directly, 7-bit with nothing to encode or fold: the MIME classes spend more CPU on it than sending it does.
    Anything else is built with the stdlib's compat32 MIME classes: UTF-8 in base64, an RFC 2047 subject. A line
    break in the subject becomes a space: a subject is one header line."""
    date = _date_now()
    subject = _one_line(subject)
    if _is_plain(text, subject):
        headers = (
            f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"
        )
        return f"{headers}\r\n{text}".replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")
    message = MIMEText(text, "plain", "us-ascii" if text.isascii() else "utf-8")
    message["From"], message["To"], message["Message-ID"] = sender, to, message_id
    message["Date"] = date
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    return message.as_bytes()


def _date_now() -> str:
    return _date_at(int(time.time()))


@functools.lru_cache(maxsize=1)
def _date_at(second: int) -> str:
    """The Date header for this second (formatted once per second: a header has no finer resolution)."""
    return formatdate(second, usegmt=True)


def _one_line(subject: str) -> str:
    return " ".join(subject.splitlines())


def _is_plain(text: str, subject: str) -> bool:
    return (
        text.isascii()
        and subject.isascii()
        and len(subject) < _MAX_LINE - 10
        and all(len(line) <= _MAX_LINE for line in text.splitlines())
    )


def _unicode_message(sender: str, to: str, subject: str, text: str, message_id: str) -> bytes:
    """A mail to or from a non-ASCII address: its headers in UTF-8, as SMTPUTF8 carries them."""
    message = EmailMessage(policy=policy.SMTPUTF8)
    message["From"], message["To"], message["Subject"] = sender, to, _one_line(subject)
    message["Message-ID"], message["Date"] = message_id, _date_now()
    message.set_content(text)
    return message.as_bytes()


class LogMailer:
    """Development without a mail server: the mail goes to the log, by the recipient's user id, not the address."""

    async def send_all(self, mails: Sequence[OutgoingMail]) -> MailDelivery:
        for mail in mails:
            logger.info(
                "mail not sent (no SMTP_HOST): written to the log instead",
                extra={
                    "mail_to_user": mail.recipient_ref,
                    "mail_subject": mail.subject,
                    "mail_text": mail.text,
                    "mail_id": mail.message_id,
                },
            )
        return MailDelivery(len(mails))

    async def close(self) -> None:
        pass
