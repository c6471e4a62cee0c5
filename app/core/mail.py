"""Outgoing mail: to an SMTP server (aiosmtplib), or to the log in development when there is none."""

import asyncio
import logging
import socket
from email.header import Header
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import formatdate

import aiosmtplib

logger = logging.getLogger("app.mail")


class MailError(Exception):
    """The mail server did not take the mail."""


class SmtpMailer:
    """One SMTP connection, opened on first use, kept for the mails after it and opened again after a failure.

    A connection per mail would cost a TCP handshake, EHLO, STARTTLS and login each time; the relay sends its
    mails one after another, so one connection serves them all. A kept connection the server has closed in the
    meantime (idle timeout) is noticed on the next mail, which is then tried once more on a new connection.
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
        self._client: aiosmtplib.SMTP | None = None
        self._local_hostname: str | None = None
        self._lock = asyncio.Lock()

    async def send(self, *, to: str, subject: str, text: str, message_id: str, recipient_ref: str) -> None:
        """Returns once the server accepted the mail for the recipient; raises MailError otherwise."""
        message_id_header = f"<{message_id}@{self._domain}>"
        async with self._lock:
            for attempt in (1, 2):
                reused = self._client is not None
                try:
                    client = await self._connected()
                    if to.isascii() and self._sender.isascii():
                        raw = _plain_message(self._sender, to, subject, text, message_id_header)
                        await self._transact(client, to, raw)
                    else:  # an internationalised address: the full email policy, SMTPUTF8 where the server has it
                        message = _unicode_message(self._sender, to, subject, text, message_id_header)
                        await client.send_message(message, timeout=self._timeout)
                    return
                except aiosmtplib.SMTPServerDisconnected as exc:
                    self._drop()
                    if not (reused and attempt == 1):
                        raise MailError(type(exc).__name__) from exc
                except Exception as exc:
                    self._drop()
                    raise MailError(type(exc).__name__) from exc

    async def _transact(self, client: aiosmtplib.SMTP, to: str, raw: bytes) -> None:
        """MAIL, RCPT and DATA for one recipient. `sendmail()` would do the same after parsing both addresses
        again with the stdlib's address parser, a third of its CPU; these addresses are plain `local@domain`."""
        for command, argument, accepted in (
            (b"MAIL", f"FROM:<{self._sender}>", (250,)),
            (b"RCPT", f"TO:<{to}>", (250, 251)),
        ):
            response = await client.execute_command(command, argument.encode("ascii"), timeout=self._timeout)
            if response.code not in accepted:
                raise aiosmtplib.SMTPResponseException(response.code, response.message)
        response = await client.data(raw, timeout=self._timeout)
        if response.code != 250:
            raise aiosmtplib.SMTPDataError(response.code, response.message)

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None and client.is_connected:
                try:
                    await client.quit(timeout=self._timeout)
                except Exception:  # noqa: BLE001 - closing anyway
                    client.close()

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
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
        if client.is_ehlo_or_helo_needed:  # connect() greets only for STARTTLS or a login
            await client.ehlo()
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


_MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF


def _plain_message(sender: str, to: str, subject: str, text: str, message_id: str) -> bytes:
    """A text/plain mail. The common case (ASCII text in short lines, an ASCII subject on one line) is laid out
    directly, 7-bit with nothing to encode or fold: the MIME classes spend more CPU on it than sending it does.
    Anything else is built with the stdlib's compat32 MIME classes: UTF-8 in base64, an RFC 2047 subject. A line
    break in the subject becomes a space: a subject is one header line."""
    date = formatdate(usegmt=True)
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


def _one_line(subject: str) -> str:
    return " ".join(subject.splitlines())


def _is_plain(text: str, subject: str) -> bool:
    return (
        text.isascii()
        and subject.isascii()
        and len(subject) < _MAX_LINE - 10
        and all(len(line) <= _MAX_LINE for line in text.splitlines())
    )


def _unicode_message(sender: str, to: str, subject: str, text: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, _one_line(subject)
    message["Message-ID"], message["Date"] = message_id, formatdate(usegmt=True)
    message.set_content(text)
    return message


class LogMailer:
    """Development without a mail server: the mail goes to the log, by the recipient's user id, not the address."""

    async def send(self, *, to: str, subject: str, text: str, message_id: str, recipient_ref: str) -> None:
        logger.info(
            "mail not sent (no SMTP_HOST): written to the log instead",
            extra={"mail_to_user": recipient_ref, "mail_subject": subject, "mail_text": text, "mail_id": message_id},
        )

    async def close(self) -> None:
        pass
