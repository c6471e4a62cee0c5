"""SmtpMailer against a real SMTP server (aiosmtpd): with and without PIPELINING, dots, non-ASCII addresses."""

import asyncio
import shutil
import ssl
import subprocess
from email import message_from_bytes, policy

import pytest
import uvloop

from app.core.mail import MailDelivery, MailError, OutgoingMail, SmtpMailer
from tests.integration.outbox_support import MailServer


def mailer(server: MailServer, *, starttls: bool = False) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=server.port, sender="orders@shop.test", starttls=starttls)


def send_on(loop: str, server: MailServer, texts: list[str], *, starttls: bool) -> None:
    """Send mail number n (subject `Order n`, to buyer<n>@example.com) for each text, in order, through one
    SmtpMailer on a fresh event loop of this kind (the service runs on uvloop, whose transports differ): the
    first alone, the rest as one run; then stop the server."""
    mails = [
        OutgoingMail(f"buyer{number}@example.com", f"Order {number}", text, f"m{number}", str(number))
        for number, text in enumerate(texts)
    ]

    async def send_all() -> None:
        sending = mailer(server, starttls=starttls)
        try:
            assert await sending.send_all(mails[:1]) == MailDelivery(1)
            assert await sending.send_all(mails[1:]) == MailDelivery(len(mails) - 1)
        finally:
            await sending.close()

    try:
        (uvloop.run if loop == "uvloop" else asyncio.run)(send_all())
    finally:
        server.stop()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one command at a time"])
def test_mails_arrive_whole_on_one_session_whether_or_not_the_server_pipelines(pipelining, loop):
    server = MailServer(pipelining=pipelining).start()
    texts = ["Thank you.\n", ".a line that starts with a dot\n..and two\n.\n", "Danke für Ihre Bestellung.\n"]

    send_on(loop, server, texts, starttls=False)

    assert [mail.recipients for mail in server.received] == [[f"buyer{n}@example.com"] for n in range(3)]
    assert [mail.text.replace("\r\n", "\n") for mail in server.received] == texts
    assert [mail.message["Subject"] for mail in server.received] == ["Order 0", "Order 1", "Order 2"]
    assert len({mail.peer for mail in server.received}) == 1  # one session for all three


async def test_a_refused_recipient_in_a_run_stops_it_there_and_the_mails_behind_go_on_a_new_session():
    server = MailServer().start()
    server.unknown_mailboxes = {"gone@example.com"}
    mails = [
        OutgoingMail(to, f"Order {number}", f"Mail {number}\n", f"m{number}", str(number))
        for number, to in enumerate(["ann@example.com", "gone@example.com", "bob@example.com"])
    ]
    sending = mailer(server)
    try:
        refused = await sending.send_all(mails)
        behind = await sending.send_all(mails[2:])
    finally:
        await sending.close()
        server.stop()

    assert refused.accepted == 1 and isinstance(refused.error, MailError)
    assert behind == MailDelivery(1)
    assert [mail.recipients for mail in server.received] == [["ann@example.com"], ["bob@example.com"]]
    assert len({mail.peer for mail in server.received}) == 2  # the refusal ended the first session


async def test_a_non_ascii_address_goes_with_smtputf8_and_is_refused_by_a_server_without_it():
    plain, international = MailServer().start(), MailServer(smtputf8=True).start()
    try:
        refused = await mailer(plain).send_all([OutgoingMail("jörg@example.com", "Hi", "x\n", "1", "1")])
        assert refused.accepted == 0 and isinstance(refused.error, MailError)
        sent = await mailer(international).send_all([OutgoingMail("jörg@example.com", "Grüße", "Danke.\n", "2", "2")])
        assert sent == MailDelivery(1)
    finally:
        plain.stop()
        international.stop()

    assert plain.received == []
    [mail] = international.received
    headers = message_from_bytes(mail.message.as_bytes(), policy=policy.default)  # UTF-8 headers, read as such
    assert mail.recipients == ["jörg@example.com"] and (headers["To"], headers["Subject"]) == (
        "jörg@example.com",
        "Grüße",
    )
    assert "Danke." in mail.text


@pytest.fixture
def certificate(tmp_path, monkeypatch) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, trusted by the client's default TLS context for this test."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return str(cert), str(key)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_mails_go_over_starttls_on_the_kept_session(certificate, loop):
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(*certificate)
    server = MailServer(tls_context=server_tls).start()

    send_on(loop, server, ["Thank you.\n", "Thank you.\n"], starttls=True)

    assert [mail.message["Subject"] for mail in server.received] == ["Order 0", "Order 1"]
    assert all(mail.tls for mail in server.received) and len({mail.peer for mail in server.received}) == 1
