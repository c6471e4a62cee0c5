"""Outgoing mail: to an SMTP server (aiosmtplib), or to the log in development when there is none."""

import logging
from email.message import EmailMessage

import aiosmtplib

logger = logging.getLogger("app.mail")


class MailError(Exception):
    """The mail server did not take the mail."""


class SmtpMailer:
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

    async def send(self, *, to: str, subject: str, text: str, message_id: str, recipient_ref: str) -> None:
        """Returns once the server accepted the mail for the recipient; raises MailError otherwise."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self._sender, to, subject
        message["Message-ID"] = f"<{message_id}@{self._sender.rpartition('@')[2] or 'localhost'}>"
        message.set_content(text)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except Exception as exc:
            raise MailError(type(exc).__name__) from exc


class LogMailer:
    """Development without a mail server: the mail goes to the log, by the recipient's user id, not the address."""

    async def send(self, *, to: str, subject: str, text: str, message_id: str, recipient_ref: str) -> None:
        logger.info(
            "mail not sent (no SMTP_HOST): written to the log instead",
            extra={"mail_to_user": recipient_ref, "mail_subject": subject, "mail_text": text, "mail_id": message_id},
        )
