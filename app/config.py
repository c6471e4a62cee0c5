"""Settings: the environment and `.env`, read once at start-up.
Sits beneath every layer; nothing here imports the rest of the app.
Turns environment strings into one validated, typed `Settings` object.
"""

import re
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Keys that appear in docs and examples; production must never sign with them.
EXAMPLE_JWT_KEYS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "dev-secret",
        "replace-with-at-least-32-random-bytes",
    }
)
MIN_JWT_KEY_BYTES = 32
# A random key of 32 characters from base64's alphabet has about 25 distinct ones; `"a" * 32` has one.
MIN_JWT_KEY_DISTINCT_CHARACTERS = 16
# An origin as browsers send it: scheme, host and optional port; no path, no trailing slash, no wildcard.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class Settings(BaseSettings):
    # A refused setting must not print the environment it came with (keys, database passwords).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./data/app.db"
    # Per worker process; 20 covers a worker's concurrent requests without opening overflow connections.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    database_connect_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=0)
    sqlite_busy_timeout_ms: int = Field(default=30000, ge=0)
    # A streaming replica of the primary for the analytics reports; they fall back to the primary while it fails.
    analytics_database_url: str | None = None

    jwt_secret_key: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    jwt_issuer: str = "order-service"
    jwt_audience: str = "order-service-api"
    access_token_expire_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=7, ge=1, le=365)

    first_admin_email: str | None = None
    first_admin_password: SecretStr | None = None

    redis_url: str | None = None
    login_max_failed_attempts: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    # The page a reset mail links to, with `?token=…` appended; the token's lifetime.
    password_reset_url: str = "http://127.0.0.1:8000/reset-password"  # noqa: S105 - a URL, not a secret
    password_reset_expire_minutes: int = Field(default=30, ge=1, le=1440)

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    idempotency_key_ttl_hours: int = Field(default=24, ge=24)

    # Comma-separated exact origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # When set, GET /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (per-route counts reveal volumes).
    metrics_token: SecretStr | None = None
    # Domain events to RabbitMQ (amqp://user:password@host:5672/vhost); none: nothing is published.
    events_url: str | None = None
    # Outgoing mail. Without SMTP_HOST, development writes mails to the log and production sends none.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    email_from: str = "shop@localhost"
    # The relay: how often an idle relay looks for new rows, the longest wait between two attempts at a message,
    # and how long sent rows are kept before the maintenance command deletes them.
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=10)
    outbox_max_backoff_seconds: float = Field(default=30.0, ge=1, le=3600)
    outbox_retention_days: int = Field(default=7, ge=1)
    # How long a claimed row stays with the relay that claimed it; a relay that died gives its rows up after it.
    outbox_lease_seconds: float = Field(default=30.0, ge=1, le=3600)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # argon2id cost; the defaults are OWASP's minimum (19 MiB, 2 passes, 1 lane).
    argon2_memory_kib: int = Field(default=19456, ge=19456)
    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_parallelism: int = Field(default=1, ge=1)
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    # Hashes running or waiting per worker; past it a request that needs one is a 503 with Retry-After.
    password_hash_queue: int = Field(default=32, ge=1, le=10_000)

    @field_validator(
        "jwt_secret_key",
        "first_admin_email",
        "first_admin_password",
        "redis_url",
        "metrics_token",
        "events_url",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "analytics_database_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [origin.strip() for origin in value.split(",") if origin.strip()]
        if not isinstance(value, list | tuple):
            return value
        for origin in value:
            if not isinstance(origin, str) or not _ORIGIN.match(origin):
                raise ValueError(f"CORS_ORIGINS: {origin!r} is not an origin like https://shop.example.com:8443")
        # Browsers send the host in lower case and leave the scheme's default port out: compare in that form.
        return tuple(o.lower().removesuffix(":443" if o.startswith("https") else ":80") for o in value)

    @property
    def mail_to_log(self) -> bool:
        """No mail server, in development: mails are written to the log instead."""
        return self.smtp_host is None and self.environment == "development"

    @model_validator(mode="after")
    def _refuse_weak_production_key(self) -> "Settings":
        if self.environment != "production":
            return self
        key = self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else ""
        if not key:
            raise ValueError("JWT_SECRET_KEY must be set when ENVIRONMENT=production")
        if key.lower() in EXAMPLE_JWT_KEYS:
            raise ValueError("JWT_SECRET_KEY is an example value; generate a random key")
        if len(key.encode()) < MIN_JWT_KEY_BYTES:
            raise ValueError(f"JWT_SECRET_KEY must be at least {MIN_JWT_KEY_BYTES} bytes")
        if len(set(key)) < MIN_JWT_KEY_DISTINCT_CHARACTERS:
            raise ValueError(
                f"JWT_SECRET_KEY must have at least {MIN_JWT_KEY_DISTINCT_CHARACTERS} distinct characters; "
                "generate a random key"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    """The environment's settings; refused ones stop the process with one line naming each problem, no traceback
    (the values themselves are never repeated: they may be keys or passwords)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SystemExit(f"Invalid settings: {describe_errors(exc)}") from None


def describe_errors(error: ValidationError) -> str:
    """`NAME: problem` for each refused setting, on one line."""
    described = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        names = ".".join(str(part) for part in item["loc"]).upper()
        described.append(f"{names}: {message}" if names else message)
    return "; ".join(described)
