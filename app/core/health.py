"""Readiness checks: can this process reach what it needs to serve requests?

The database is required: without it the answer is 503. Every other dependency is optional (the service keeps
serving without it, in a reduced way), so its failure reports `degraded` and the answer stays 200: one Redis
outage must not take every replica out of the balancer's rotation.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from app.core.amqp import AmqpPublisher
from app.core.rate_limit import LoginThrottle

logger = logging.getLogger("app.health")
CHECK_TIMEOUT_SECONDS = 2.0
REQUIRED_CHECKS = frozenset({"database"})
# Checks given up on, kept referenced until they end by themselves (their own timeouts bound that).
_abandoned: set["asyncio.Task[Any]"] = set()


async def readiness(
    schema_revisions: Callable[[], Awaitable[frozenset[str]]],
    is_outdated: Callable[[frozenset[str]], bool],
    throttle: LoginThrottle,
    broker: AmqpPublisher | None = None,
    replica: Callable[[], Awaitable[bool]] | None = None,
) -> dict[str, str]:
    """`schema_revisions` reads the database's migration revisions; `is_outdated` judges them against the code."""
    checks = {"database": await _database(schema_revisions, is_outdated)}
    redis = await _with_timeout(throttle.check_shared_storage())
    if redis is not None:
        checks["redis"] = "ok" if redis else "degraded"
    if broker is not None:
        # Events wait in the outbox while the broker is away: the service still serves.
        checks["broker"] = "ok" if await _with_timeout(broker.check()) else "degraded"
    if replica is not None:
        # Reports fall back to the primary while the analytics replica is away.
        checks["replica"] = "ok" if await _with_timeout(_awaited(replica)) else "degraded"
    return checks


async def _awaited(check: Callable[[], Awaitable[bool]]) -> bool:
    return await check()


def overall_status(checks: dict[str, str]) -> str:
    """`unavailable` when a required check fails, `degraded` when only optional ones do, else `ok`."""
    if any(checks.get(name, "ok") != "ok" for name in REQUIRED_CHECKS):
        return "unavailable"
    return "ok" if all(value == "ok" for value in checks.values()) else "degraded"


async def _database(
    schema_revisions: Callable[[], Awaitable[frozenset[str]]], is_outdated: Callable[[frozenset[str]], bool]
) -> str:
    outdated: bool | None = None

    async def check() -> bool:
        nonlocal outdated
        outdated = is_outdated(await schema_revisions())
        return True

    if not await _with_timeout(check()):
        return "unavailable"
    return "schema_outdated" if outdated else "ok"


async def _with_timeout(check: Coroutine[Any, Any, bool | None]) -> bool | None:
    """The check's answer, False when it fails or outlasts the deadline.

    A check past its deadline is cancelled but not waited for: cancelling a database call may still wait on the
    network while the connection is cleaned up, and the probe's answer must not."""
    task = asyncio.ensure_future(check)
    done, _ = await asyncio.wait({task}, timeout=CHECK_TIMEOUT_SECONDS)
    if not done:
        task.cancel()
        _abandoned.add(task)
        task.add_done_callback(_forget)
        logger.warning("readiness check failed: timed out after %s s", CHECK_TIMEOUT_SECONDS)
        return False
    try:
        return task.result()
    except Exception as exc:  # noqa: BLE001 - a failing check is the answer, not an error
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return False


def _forget(task: "asyncio.Task[Any]") -> None:
    _abandoned.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
