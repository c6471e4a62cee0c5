"""Password hashing (argon2id through passlib's CryptContext) and token minting and checking."""

import asyncio
import contextlib
import ctypes
import hashlib
import logging
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from passlib.context import CryptContext
from passlib.exc import PasswordValueError
from sqlalchemy.engine import make_url

from app.config import Settings
from app.core.errors import AuthenticationError, OverloadedError

logger = logging.getLogger("app.security")

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "type", "sid"]
# Header parameters that point a verifier at another key; we have exactly one key.
_FORBIDDEN_HEADERS = frozenset({"kid", "jku", "x5u", "x5c", "jwk"})
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
# Against a busy event loop (nice 0) a hashing thread gets about a tenth of a core: the loop keeps answering,
# and logins still progress on a saturated machine (at 19 they would get next to nothing).
HASH_THREAD_NICE = 10


class PasswordHasher:
    """argon2id with rehash-on-login, run in PASSWORD_HASH_THREADS dedicated threads at a low CPU priority.

    A hash is ~20 ms of CPU and 19 MiB of memory. At normal priority a burst of logins takes the cores from the
    event loop, which answers every other request; at a low priority hashing mostly gets what the loop leaves.
    At most PASSWORD_HASH_QUEUE hashes are running or waiting in a worker; one more is refused at once (a 503 with
    `Retry-After`) rather than queued behind all the others: a flood of logins for unknown emails would otherwise
    make every real login wait for the whole queue.
    """

    def __init__(self, settings: Settings) -> None:
        self._context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=settings.argon2_memory_kib,
            argon2__rounds=settings.argon2_time_cost,
            argon2__parallelism=settings.argon2_parallelism,
        )
        _return_freed_blocks_to_the_os()
        self._threads = ThreadPoolExecutor(
            settings.password_hash_threads, thread_name_prefix="password-hash", initializer=_lowest_cpu_priority
        )
        self._dummy_hash: str | None = None
        self._queue_size = settings.password_hash_queue
        self._pending = 0  # running or waiting; only the event loop's thread touches it

    async def hash(self, password: str) -> str:
        hashed: str = await self._run(self._context.hash, password)
        return hashed

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Check a password; the second item is a fresh hash when the stored one is outdated."""
        verified: tuple[bool, str | None] = await self._run(self._verify, password, password_hash)
        return verified

    async def _run(self, work: Callable[..., Any], *args: Any) -> Any:
        if self._pending >= self._queue_size:
            raise OverloadedError("Too many password checks are waiting; nothing was changed. Try again shortly.")
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._threads.shutdown(wait=False)

    def _verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        try:
            return self._context.verify_and_update(password, password_hash)  # type: ignore[no-any-return]
        except PasswordValueError:
            # Longer than passlib accepts (4 KiB): no stored password can be that long.
            return False, None

    async def verify_dummy(self, password: str) -> None:
        """Spend the same time as a real check, so an unknown email is not told apart by timing."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(password, self._dummy_hash)


def _lowest_cpu_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICE)  # Linux: per thread
    except (AttributeError, OSError):
        logger.info("password hashing runs at normal CPU priority on this platform")


def _return_freed_blocks_to_the_os() -> None:
    """Once glibc has freed a large block it raises its mmap threshold and keeps such blocks in its heaps, so
    every hashing thread would hold a 19 MiB argon2 buffer for good; a fixed threshold hands them back."""
    with contextlib.suppress(AttributeError, OSError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


class TokenCodec:
    """Short-lived access JWTs, and opaque refresh tokens stored only as hashes."""

    def __init__(self, settings: Settings, key: str) -> None:
        self._key = key
        self._algorithm = settings.jwt_algorithm
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self.access_ttl = timedelta(minutes=settings.access_token_expire_minutes)
        self.refresh_ttl = timedelta(days=settings.refresh_token_expire_days)

    def issue_access(self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> str:
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self.access_ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "type": ACCESS_TOKEN_TYPE,
        }
        return jwt.encode(claims, self._key, algorithm=self._algorithm)

    def decode_access(self, token: str) -> AccessClaims:
        try:
            # One parse for header and claims (parsing is most of a token check's cost). The header is
            # judged after the signature, which changes no outcome: one key, one pinned algorithm.
            decoded = jwt.decode_complete(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
            header: dict[str, Any] = decoded["header"]
            claims: dict[str, Any] = decoded["payload"]
            if header.get("alg") != self._algorithm or _FORBIDDEN_HEADERS & header.keys():
                raise AuthenticationError()
            if claims["type"] != ACCESS_TOKEN_TYPE:
                raise AuthenticationError()
            # Every time claim must be a date; PyJWT only compares numbers, so 10**20 or -10**20 would pass it.
            for name in ("iat", "nbf"):
                if name in claims:
                    datetime.fromtimestamp(claims[name], UTC)
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        # OverflowError and OSError: a claim out of any date's range (`exp` = 10**20) signed with the real key.
        except (jwt.PyJWTError, ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
            raise AuthenticationError() from exc

    @staticmethod
    def new_refresh_token() -> str:
        return new_opaque_token()

    @staticmethod
    def hash_refresh_token(token: str) -> str:
        return hash_opaque_token(token)


def new_opaque_token() -> str:
    """A single-use secret for a client to hold (refresh and password-reset tokens): 256 random bits."""
    return secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """What is stored of an opaque token. It carries 256 random bits, so a fast hash is enough: nothing to
    brute-force."""
    return hashlib.sha256(token.encode()).hexdigest()


def resolve_signing_key(settings: Settings) -> str:
    """The configured key, or in development a generated one kept in a file beside the database."""
    if settings.jwt_secret_key is not None:
        return settings.jwt_secret_key.get_secret_value()
    if settings.environment == "production":
        raise RuntimeError("JWT_SECRET_KEY is required in production")
    path = _dev_key_path(settings.database_url)
    key = _read_or_create_key(path)
    logger.warning("JWT_SECRET_KEY is not set; using a generated development key", extra={"key_file": str(path)})
    return key


def _dev_key_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_name(".jwt-dev-key")
    return Path("data/.jwt-dev-key")


def _read_or_create_key(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            existing = path.read_text().strip()
            if len(existing) >= 32:
                return existing
            time.sleep(0.02)
        raise RuntimeError(f"development JWT key file {path} is empty or truncated") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(candidate)
    return candidate
