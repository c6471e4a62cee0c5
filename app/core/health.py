"""Readiness checks: can this process reach what it needs to serve requests?"""

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.rate_limit import LoginThrottle

logger = logging.getLogger("app.health")
CHECK_TIMEOUT_SECONDS = 2.0


async def readiness(engine: AsyncEngine, throttle: LoginThrottle) -> dict[str, str]:
    checks = {"database": await _database(engine)}
    redis = await _with_timeout(throttle.check_shared_storage())
    if redis is not None:
        checks["redis"] = "ok" if redis else "unavailable"
    return checks


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
