"""The maintenance command deletes what has expired, and only that, in batches, safely from several runs at once."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.models import LoginSession, OutboxMessage, RefreshToken
from app.models.outbox import OutboxKind
from app.repositories.outbox_repo import NewMessage
from tests.conftest import ROOT

NOW = datetime.now(UTC)


async def _add_sessions(container, user_id: str, count: int, *, expires_at: datetime, tokens: int = 2) -> None:
    async with container.unit_of_work() as uow:
        for _ in range(count):
            login_session = await uow.login_sessions.add(
                LoginSession(id=uuid.uuid4(), user_id=uuid.UUID(user_id), created_at=NOW, expires_at=expires_at)
            )
            for _ in range(tokens):
                await uow.login_sessions.add_refresh_token(
                    RefreshToken(
                        id=uuid.uuid4(),
                        session_id=login_session.id,
                        token_hash=uuid.uuid4().hex * 2,
                        created_at=NOW,
                        expires_at=expires_at,
                    )
                )
        await uow.commit()


async def _count(container, model) -> int:
    async with container.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(model))).scalar_one())


async def test_expired_login_sessions_go_with_their_refresh_tokens_and_live_ones_stay(container, client, customer):
    await _add_sessions(container, customer.id, 3, expires_at=NOW - timedelta(seconds=1))
    sessions, tokens = await _count(container, LoginSession), await _count(container, RefreshToken)

    deleted = await container.services.maintenance.purge_expired(batch_size=2)

    assert deleted["login_sessions"] == 3
    assert await _count(container, LoginSession) == sessions - 3
    assert await _count(container, RefreshToken) == tokens - 6
    # The customer's own login is live: it still refreshes and its access token still works.
    assert (await client.get("/users/me", headers=customer.headers)).status_code == 200
    refreshed = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert refreshed.status_code == 200


async def test_once_a_login_session_has_ended_the_purge_deletes_it(container, client, customer):
    week_later = NOW + timedelta(days=8)
    deleted = await container.services.maintenance.purge_expired(now=week_later)
    assert deleted == {"idempotency_keys": 0, "login_sessions": 1, "password_reset_tokens": 0, "outbox_sent": 0}
    assert await _count(container, LoginSession) == 0
    assert await _count(container, RefreshToken) == 0
    refused = await client.post("/auth/refresh", json={"refresh_token": customer.refresh_token})
    assert refused.status_code == 401


async def test_concurrent_runs_share_the_work_and_delete_each_row_once(database, container, customer):
    if database.backend != "postgresql":
        pytest.skip("concurrency is PostgreSQL's; SQLite's single writer runs them one after the other")
    await _add_sessions(container, customer.id, 60, expires_at=NOW - timedelta(minutes=1), tokens=1)
    runs = await asyncio.gather(*(container.services.maintenance.purge_expired(batch_size=5) for _ in range(4)))
    assert sum(run["login_sessions"] for run in runs) == 60
    assert await _count(container, LoginSession) == 1  # the customer's live login


async def _add_outbox_rows(container, count: int, *, sent_at: datetime | None) -> None:
    async with container.unit_of_work() as uow:
        messages = [
            NewMessage(uuid.uuid4(), OutboxKind.EVENT, "shop.user.registered", uuid.uuid4(), 1, "{}", NOW)
            for _ in range(count)
        ]
        await uow.outbox.add(messages)
        await uow.commit()
    if sent_at is not None:
        async with container.engine.begin() as connection:
            await connection.execute(
                OutboxMessage.__table__.update().where(OutboxMessage.sent_at.is_(None)).values(sent_at=sent_at)
            )


async def test_sent_outbox_rows_go_after_the_retention_and_pending_ones_never(container):
    retention = timedelta(days=container.settings.outbox_retention_days)
    await _add_outbox_rows(container, 3, sent_at=NOW - retention - timedelta(minutes=1))
    await _add_outbox_rows(container, 2, sent_at=NOW - retention + timedelta(hours=1))
    await _add_outbox_rows(container, 4, sent_at=None)

    deleted = await container.services.maintenance.purge_expired(batch_size=2)

    assert deleted["outbox_sent"] == 3
    assert await _count(container, OutboxMessage) == 6


def test_the_documented_command_runs_and_reports(database) -> None:
    env = {**os.environ, "DATABASE_URL": database.url, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-m", "app.db.purge_expired", "--batch-size", "100"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "idempotency_keys: 0 deleted" in result.stdout
    assert "login_sessions: 0 deleted" in result.stdout
    assert "outbox_sent: 0 deleted" in result.stdout


def test_the_command_fails_loudly_when_the_database_is_unreachable() -> None:
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        "DATABASE_CONNECT_TIMEOUT_SECONDS": "1",
        "ENVIRONMENT": "test",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.db.purge_expired"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "purge failed" in result.stdout + result.stderr
