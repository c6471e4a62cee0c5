"""Password reset by email, end to end: the request, the mail from a real SMTP server (aiosmtpd, in-process) through
the outbox, and the confirmation; replayed, expired and outdated tokens; identical answers for unknown emails."""

import json
import logging
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from app.models import OutboxMessage, PasswordResetToken
from tests.conftest import assert_problem, http_client, login, make_settings
from tests.integration.outbox_support import MailServer, relaying, wait_until

RESET_URL = "https://shop.example.com/reset?from=mail"


@pytest.fixture
def shop(app_factory, database, mail_server):
    settings = make_settings(
        database,
        smtp_host="127.0.0.1",
        smtp_port=mail_server.port,
        smtp_starttls=False,
        outbox_poll_seconds=0.05,
        outbox_max_backoff_seconds=1,
        password_reset_url=RESET_URL,
        password_reset_expire_minutes=30,
    )
    return app_factory(settings)


async def _reset_mail(mail_server: MailServer, email: str, count: int = 1) -> str:
    """The token from the `count`-th reset mail to `email`."""
    await wait_until(lambda: len([m for m in mail_server.received if m.recipients == [email]]) >= count)
    mail = [m for m in mail_server.received if m.recipients == [email]][count - 1]
    assert mail.message["Subject"] == "Reset your password"
    [link] = re.findall(r"https://\S+", mail.text)
    assert link.startswith(RESET_URL + "&token=")
    return parse_qs(urlsplit(link).query)["token"][0]


async def _ask(client, email: str):
    return await client.post("/auth/password-reset", json={"email": email})


async def test_the_full_reset_path(shop, mail_server, register):
    async with http_client(shop) as client, relaying(shop):
        account = await register()
        tokens = await login(client, account.email, account.password)
        answer = await _ask(client, account.email.upper())
        assert answer.status_code == 202, answer.text
        token = await _reset_mail(mail_server, account.email)

        done = await client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": "a-brand-new-password"}
        )
        assert done.status_code == 204, done.text

        # Every session ended; the old password is refused, the new one signs in.
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert_problem(await client.get("/users/me", headers=headers), 401)
        assert_problem(await client.get("/users/me", headers=account.headers), 401)
        refused = await client.post("/auth/login", data={"username": account.email, "password": account.password})
        assert_problem(refused, 401)
        await login(client, account.email, "a-brand-new-password")

        # The token is spent: a replay is a 400, and the password stays.
        replay = await client.post(
            "/auth/password-reset/confirm", json={"token": token, "new_password": "yet-another-password"}
        )
        assert_problem(replay, 400)
        await login(client, account.email, "a-brand-new-password")

    async with shop.state.container.session_factory() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.type == "mail.password_reset"))).all()
        stored = (await session.scalars(select(PasswordResetToken))).all()
    # The mail, once sent, keeps no body (the link); the token is stored only as its hash.
    assert [json.loads(row.payload) for row in rows if row.sent_at is not None] == [{}]
    assert all(token not in row.payload for row in rows)
    assert all(len(row.token_hash) == 64 and row.token_hash != token for row in stored)


async def test_unknown_emails_get_the_same_answer_and_no_mail(shop, mail_server, register):
    async with http_client(shop) as client, relaying(shop):
        account = await register()
        known = await _ask(client, account.email)
        unknown = await _ask(client, f"nobody-{uuid.uuid4().hex[:8]}@example.com")
        await _reset_mail(mail_server, account.email)
        assert known.status_code == unknown.status_code == 202
        assert known.json() == unknown.json()
        assert set(known.headers) - {"x-request-id"} == set(unknown.headers) - {"x-request-id"}
        assert len(mail_server.received) == 1


async def test_an_inactive_account_gets_no_mail(shop, mail_server, register, admin):
    async with http_client(shop) as client, relaying(shop):
        account = await register()
        deactivated = await client.patch(f"/users/{account.id}", json={"is_active": False}, headers=admin.headers)
        assert deactivated.status_code == 200
        assert (await _ask(client, account.email)).status_code == 202
        other = await register()
        assert (await _ask(client, other.email)).status_code == 202
        await _reset_mail(mail_server, other.email)
        assert [m.recipients for m in mail_server.received] == [[other.email]]


async def test_expired_and_outdated_tokens_are_refused(shop, mail_server, register):
    async with http_client(shop) as client, relaying(shop):
        account = await register()
        await _ask(client, account.email)
        first = await _reset_mail(mail_server, account.email, 1)
        await _ask(client, account.email)
        second = await _reset_mail(mail_server, account.email, 2)

        # Expired: its lifetime is over.
        async with shop.state.container.session_factory() as session:
            await session.execute(
                update(PasswordResetToken)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                .where(PasswordResetToken.user_id == uuid.UUID(account.id))
                .where(
                    PasswordResetToken.id
                    == select(PasswordResetToken.id).order_by(PasswordResetToken.created_at).limit(1).scalar_subquery()
                )
            )
            await session.commit()
        body = {"token": first, "new_password": "a-brand-new-password"}
        assert_problem(await client.post("/auth/password-reset/confirm", json=body), 400)

        # Outdated: the password changed after the token was issued.
        tokens = await login(client, account.email, account.password)
        changed = await client.post(
            "/users/me/password",
            json={"current_password": account.password, "new_password": "changed-by-the-owner"},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert changed.status_code == 204
        body = {"token": second, "new_password": "a-brand-new-password"}
        assert_problem(await client.post("/auth/password-reset/confirm", json=body), 400)
        await login(client, account.email, "changed-by-the-owner")


async def test_unknown_tokens_and_bad_passwords(shop, register):
    async with http_client(shop) as client:
        body = {"token": "not-a-token-we-issued", "new_password": "a-brand-new-password"}
        assert_problem(await client.post("/auth/password-reset/confirm", json=body), 400)
        short = await client.post("/auth/password-reset/confirm", json={"token": "x", "new_password": "Pw-7chr"})
        assert "Pw-7chr" not in short.text
        assert assert_problem(short, 422)["errors"][0]["loc"] == ["body", "new_password"]
        assert_problem(await _ask(client, "not-an-email"), 422)


async def test_reset_requests_are_throttled_per_email(shop, register, database):
    async with http_client(shop) as client:
        account = await register()
        limit = shop.state.container.settings.login_max_failed_attempts
        answers = [await _ask(client, account.email) for _ in range(limit + 1)]
        assert [a.status_code for a in answers[:limit]] == [202] * limit
        assert_problem(answers[-1], 429)
        assert int(answers[-1].headers["retry-after"]) >= 1
        # Counted apart from logins: the account still signs in.
        await login(client, account.email, account.password)


async def test_production_without_smtp_answers_503(app_factory, database, register):
    settings = make_settings(database, environment="production", smtp_host=None)
    app = app_factory(settings)
    async with http_client(app) as client:
        assert_problem(await _ask(client, "ada@example.com"), 503)


async def test_erasure_drops_the_reset_tokens_and_unsent_mail(shop, mail_server, register):
    async with http_client(shop) as client:
        account = await register()
        assert (await _ask(client, account.email)).status_code == 202
        erased = await client.request(
            "DELETE", "/users/me", json={"password": account.password}, headers=account.headers
        )
        assert erased.status_code == 204
    async with shop.state.container.session_factory() as session:
        user_id = uuid.UUID(account.id)
        tokens = (await session.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == user_id))).all()
        mails = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "mail", OutboxMessage.subject == user_id)
            )
        ).all()
    assert tokens == [] and mails == []


class Everything(logging.Handler):
    """Every record of the service's loggers, with its extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + str(record.__dict__))


async def test_a_reset_token_never_reaches_a_production_log(app_factory, database, mail_server, register):
    key = uuid.uuid4().hex + uuid.uuid4().hex.upper()
    settings = make_settings(
        database,
        environment="production",
        jwt_secret_key=key,
        smtp_host="127.0.0.1",
        smtp_port=mail_server.port,
        smtp_starttls=False,
        outbox_poll_seconds=0.05,
        password_reset_url=RESET_URL,
    )
    shop = app_factory(settings)
    handler, service_log = Everything(), logging.getLogger("app")
    level = service_log.level
    service_log.addHandler(handler)
    service_log.setLevel(logging.DEBUG)
    try:
        async with http_client(shop) as client, relaying(shop):
            account = await register()
            assert (await _ask(client, account.email)).status_code == 202
            token = await _reset_mail(mail_server, account.email)
            body = {"token": token, "new_password": "a-brand-new-password"}
            assert (await client.post("/auth/password-reset/confirm", json=body)).status_code == 204
            assert_problem(await client.post("/auth/password-reset/confirm", json=body), 400)
    finally:
        service_log.removeHandler(handler)
        service_log.setLevel(level)
    assert any("/auth/password-reset/confirm" in line for line in handler.lines), "no access log line was seen"
    assert not [line for line in handler.lines if token in line]
