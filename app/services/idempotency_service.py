"""Idempotency keys: claim a key before doing the work, store the response with the work, replay it after.

The claim is its own short transaction, committed before the work starts, so a twin request
sees it at once: it then replays the stored response, or answers 409 while the first is still
in flight. The work's transaction stores the response on the claimed row, so the order and its
recorded response commit together or not at all.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from app.core.errors import ConflictError, InvalidInputError
from app.models import IdempotencyKey, IdempotencyState
from app.repositories.order_repo import StoredAnswer
from app.services.ports import UnitOfWork

# An attempt in flight longer than this is taken for a crashed worker; its key may be taken over.
LEASE = timedelta(seconds=60)
# Expired keys of any user deleted, at most, each time a new key is claimed.
CLEANUP_BATCH = 100
KEY_LOC = ("header", "Idempotency-Key")
IN_FLIGHT_MESSAGE = "A request with this Idempotency-Key is still in flight; retry shortly."


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns the key; `claimed_at` guards every later write to it."""

    user_id: uuid.UUID
    key: str
    claimed_at: datetime


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str


def request_hash(scope: str, body: BaseModel) -> str:
    """SHA-256 of the endpoint and the canonical JSON of the validated body."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


async def claim(
    uow: UnitOfWork, *, user_id: uuid.UUID, key: str, request_hash: str, ttl: timedelta
) -> Claim | StoredResponse:
    """Own the key (a Claim) or get the first response back; 422 for another body, 409 while in flight."""
    now = datetime.now(UTC)
    row = IdempotencyKey(
        user_id=user_id,
        key=key,
        request_hash=request_hash,
        state=IdempotencyState.IN_FLIGHT,
        created_at=now,
        expires_at=now + ttl,
    )
    async with uow:
        await uow.idempotency.delete_expired(now=now, limit=CLEANUP_BATCH)
        outcome = await _claim_or_resolve(uow, row, now)
        await uow.commit()
    return outcome


async def _claim_or_resolve(uow: UnitOfWork, row: IdempotencyKey, now: datetime) -> Claim | StoredResponse:
    mine = Claim(user_id=row.user_id, key=row.key, claimed_at=now)
    # Two rounds: the existing row may be expired or released between our insert and our read.
    for _ in range(2):
        if await uow.idempotency.add_if_absent(row):
            return mine
        existing = await uow.idempotency.get(user_id=row.user_id, key=row.key)
        if existing is None:
            continue
        if existing.expires_at <= now:
            await uow.idempotency.delete_if_expired(user_id=row.user_id, key=row.key, now=now)
            continue
        if existing.request_hash != row.request_hash:
            raise InvalidInputError(
                "This Idempotency-Key was already used with a different request body.",
                loc=KEY_LOC,
                error_type="idempotency_key_reused",
            )
        if (
            existing.state == IdempotencyState.COMPLETED
            and existing.response_status
            and existing.response_body is not None
        ):
            return StoredResponse(status=existing.response_status, body=existing.response_body)
        if existing.created_at > now - LEASE:
            break
        if await uow.idempotency.take_over(user_id=row.user_id, key=row.key, claimed_at=existing.created_at, now=now):
            return mine
    raise ConflictError(IN_FLIGHT_MESSAGE)


def answer(claim: Claim, *, status: int, body: str) -> StoredAnswer:
    """The response to store on the claimed key, in the same write as the work it answers."""
    return StoredAnswer(user_id=claim.user_id, key=claim.key, claimed_at=claim.claimed_at, status=status, body=body)


async def release(uow: UnitOfWork, claim: Claim) -> None:
    """Forget a claim whose work failed and changed nothing, so the client may retry with the same key."""
    async with uow:
        await uow.idempotency.release(user_id=claim.user_id, key=claim.key, claimed_at=claim.claimed_at)
        await uow.commit()
