"""Readiness checks: can this process reach what it needs to serve requests?

The database is required: without it the answer is 503. Every other dependency is optional (the service keeps
serving without it, in a reduced way), so its failure reports `degraded` and the answer stays 200: one Redis
outage must not take every replica out of the balancer's rotation.
"""

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.rate_limit import LoginThrottle

logger = logging.getLogger("app.health")
CHECK_TIMEOUT_SECONDS = 2.0
REQUIRED_CHECKS = frozenset({"database"})


async def readiness(engine: AsyncEngine, throttle: LoginThrottle) -> dict[str, str]:
    checks = {"database": await _database(engine)}
    redis = await _with_timeout(throttle.check_shared_storage())
    if redis is not None:
        checks["redis"] = "ok" if redis else "degraded"
    return checks


def overall_status(checks: dict[str, str]) -> str:
    """`unavailable` when a required check fails, `degraded` when only optional ones do, else `ok`."""
    if any(checks.get(name, "ok") != "ok" for name in REQUIRED_CHECKS):
        return "unavailable"
    return "ok" if all(value == "ok" for value in checks.values()) else "degraded"


async def _database(engine: AsyncEngine) -> str:
    async def ping() -> bool:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    return "ok" if await _with_timeout(ping()) else "unavailable"


async def _with_timeout(check: "asyncio.Future[bool | None] | object") -> bool | None:
    try:
        return await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - a failing check is the answer, not an error
        logger.warning("readiness check failed: %s", type(exc).__name__)
        return False
