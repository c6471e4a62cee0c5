"""password_reset_service rules through in-memory fakes: what is answered, stored, mailed and committed."""

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.core.errors import BadRequestError, MailUnavailableError, RateLimitedError
from app.models import LoginSession, OutboxKind, Role
from app.services.outbox import Outbox
from app.services.password_reset_service import PasswordResetService
from tests.unit.fakes import FakeHasher, FakeThrottle, FakeUnitOfWork, make_user

RESET_URL = "https://shop.example.com/reset"


def _resets(
    uow: FakeUnitOfWork, *, mail: bool = True, throttle: FakeThrottle | None = None, hasher: FakeHasher | None = None
) -> PasswordResetService:
    return PasswordResetService(
        lambda: uow,
        hasher=hasher or FakeHasher(uow),
        throttle=throttle or FakeThrottle(),
        outbox=Outbox(events=False, mail=mail),
        reset_url=RESET_URL,
        lifetime=timedelta(minutes=30),
        available=mail,
    )


def _mailed_token(uow: FakeUnitOfWork) -> str:
    [mail] = uow.outbox.messages(OutboxKind.MAIL)
    text = json.loads(mail.payload)["text"]
    [token] = re.findall(re.escape(RESET_URL) + r"\?token=(\S+)", text)
    return token


async def test_accept_counts_the_canonical_email_and_looks_nothing_up(uow):
    throttle = FakeThrottle()
    address = await _resets(uow, throttle=throttle).accept("  Ann@Example.COM ")
    assert address == "ann@example.com"
    assert throttle.attempts == ["ann@example.com"]
    assert uow.blocks == 0


async def test_accept_refuses_past_the_limit_and_without_mail(uow):
    with pytest.raises(RateLimitedError):
        await _resets(uow, throttle=FakeThrottle(locked_for=60)).accept("ann@example.com")
    with pytest.raises(MailUnavailableError):
        await _resets(uow, mail=False).accept("ann@example.com")


async def test_send_stores_only_the_hash_and_mails_the_link(uow):
    user = make_user(uow, email="ann@example.com")
    await _resets(uow).send("ann@example.com")

    token = _mailed_token(uow)
    [stored] = uow.password_resets.rows.values()
    assert stored.user_id == user.id and stored.used_at is None
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.expires_at - stored.created_at == timedelta(minutes=30)
    assert uow.commits == 1


async def test_send_does_nothing_for_unknown_or_inactive_accounts(uow):
    make_user(uow, email="gone@example.com", is_active=False)
    await _resets(uow).send("nobody@example.com")
    await _resets(uow).send("gone@example.com")
    assert uow.password_resets.rows == {} and uow.outbox.messages() == [] and uow.commits == 0


async def test_confirm_sets_the_password_spends_the_token_and_revokes_sessions(uow, hasher):
    user = make_user(uow, email="ann@example.com", role=Role.CUSTOMER)
    now = datetime.now(UTC)
    session = LoginSession(user_id=user.id, created_at=now, expires_at=now + timedelta(days=1))
    await uow.login_sessions.add(session)
    resets = _resets(uow, hasher=hasher)
    await resets.send("ann@example.com")
    token = _mailed_token(uow)

    await resets.confirm(token=token, new_password="a-new-password")

    assert user.password_hash == "hashed:a-new-password" and user.password_changed_at is not None
    assert session.revoked_reason == "password-reset"
    assert all(row.used_at is not None for row in uow.password_resets.rows.values())
    assert hasher.inside_transaction == []
    with pytest.raises(BadRequestError):
        await resets.confirm(token=token, new_password="another-password")


async def test_confirm_refuses_expired_unknown_and_outdated_tokens(uow):
    user = make_user(uow, email="ann@example.com")
    resets = _resets(uow)
    with pytest.raises(BadRequestError):
        await resets.confirm(token="never-issued", new_password="a-new-password")

    await resets.send("ann@example.com")
    token = _mailed_token(uow)
    [stored] = uow.password_resets.rows.values()
    user.password_changed_at = stored.created_at + timedelta(seconds=1)
    with pytest.raises(BadRequestError):
        await resets.confirm(token=token, new_password="a-new-password")
    assert stored.used_at is not None  # an outdated token is spent
    assert user.password_hash == "hashed:right-password"

    uow.outbox.rows.clear()
    await resets.send("ann@example.com")
    fresh = _mailed_token(uow)
    for row in uow.password_resets.rows.values():
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(BadRequestError):
        await resets.confirm(token=fresh, new_password="a-new-password")
