"""Failed-login throttling per email, with the `limits` library (moving window).

Counters live in Redis when `REDIS_URL` is set, so every worker and replica shares them; else
in process memory. If Redis stops answering, counting carries on in process memory (each
process then throttles on its own) until Redis is back; readiness reports Redis as failing.
"""

import hashlib
import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

logger = logging.getLogger("app.rate_limit")
_RETRY_SHARED_AFTER_SECONDS = 5.0


class LoginThrottle:
    def __init__(
        self, *, max_failures: int, window_seconds: int, redis_url: str | None, namespace: str = "login-failures"
    ) -> None:
        """`namespace` keeps separate counts for separate uses (failed logins, password-reset requests)."""
        self._item = RateLimitItemPerSecond(max_failures, window_seconds, namespace=namespace)
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._storage: Storage | None = None
        if redis_url:
            self._storage = RedisStorage(
                _async_uri(redis_url), implementation="redispy", socket_timeout=1, socket_connect_timeout=1
            )
            self._shared = MovingWindowRateLimiter(self._storage)
        self.degraded = False
        self._degraded_at = 0.0

    async def acquire(self, email: str) -> int | None:
        """Count a login attempt for this email: None when it may go ahead, else seconds to wait.

        The attempt is counted before the password is checked, in one atomic step, so parallel
        guesses cannot all pass the check before any of them is recorded. A good login calls
        `reset`, so what stays counted are the failures (and attempts still in flight).
        """
        key = _key(email)
        limiter = self._pick()
        try:
            if await limiter.hit(self._item, key):
                return None
            stats = await limiter.get_window_stats(self._item, key)
        except Exception:  # noqa: BLE001 - any storage failure degrades, never fails a login
            self._degrade()
            return await self.acquire(email)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def reset(self, email: str) -> None:
        try:
            await self._pick().clear(self._item, _key(email))
        except Exception:  # noqa: BLE001
            self._degrade()
            await self._local.clear(self._item, _key(email))

    def forget_local(self) -> None:
        """Forget every counter kept in this process (the test suite starts each test without any)."""
        self._local = MovingWindowRateLimiter(MemoryStorage())

    async def check_shared_storage(self) -> bool | None:
        """None without Redis; else whether Redis answers (and leave degraded mode when it does)."""
        if self._storage is None:
            return None
        try:
            healthy = bool(await self._storage.check())
        except Exception:  # noqa: BLE001
            healthy = False
        if healthy and self.degraded:
            logger.warning("redis is back; login throttling is shared again")
        self.degraded = not healthy
        return healthy

    def _pick(self) -> MovingWindowRateLimiter:
        if self._shared is None:
            return self._local
        if self.degraded and time.monotonic() - self._degraded_at < _RETRY_SHARED_AFTER_SECONDS:
            return self._local
        return self._shared

    def _degrade(self) -> None:
        if self._shared is None:
            raise RuntimeError("in-memory rate limit storage failed")
        if not self.degraded:
            logger.error("redis unreachable; login throttling falls back to per-process counters")
        self.degraded = True
        self._degraded_at = time.monotonic()


def _key(email: str) -> str:
    # Counters are keyed by a digest, so no email address is written to Redis. The caller canonicalises the
    # address (app/core/emails.py), so every spelling of one account counts together.
    return hashlib.sha256(email.encode()).hexdigest()


def _async_uri(redis_url: str) -> str:
    return redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
