"""Settings: production key rules, database URL mapping, the development key, environment names."""

import logging
import os
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from app.config import Settings
from app.core.security import TokenCodec, resolve_signing_key
from app.db.connect import async_url, sync_url
from tests.conftest import ROOT

GOOD_KEY = "0123456789abcdef-" + uuid.uuid4().hex  # 49 bytes, at least 17 distinct characters


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


# --- the production key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "JWT_SECRET_KEY must be set when ENVIRONMENT=production"),
        ("", "JWT_SECRET_KEY must be set when ENVIRONMENT=production"),
        ("s" * 31, "JWT_SECRET_KEY must be at least 32 bytes"),
        ("change-me", "JWT_SECRET_KEY is an example value"),
        ("Replace-With-At-Least-32-Random-Bytes", "JWT_SECRET_KEY is an example value"),
        ("secret", "JWT_SECRET_KEY is an example value"),
        ("a" * 32, "JWT_SECRET_KEY must have at least 16 distinct characters"),
        ("changeme" * 4, "JWT_SECRET_KEY must have at least 16 distinct characters"),
        ("0123456789abcde" * 3, "JWT_SECRET_KEY must have at least 16 distinct characters"),
    ],
    ids=["missing", "empty", "31-bytes", "example", "example-any-case", "secret", "one-letter", "repeated", "15-kinds"],
)
def test_production_refuses_a_weak_key(key, message):
    with pytest.raises(ValidationError) as caught:
        settings(environment="production", jwt_secret_key=key)
    assert message in str(caught.value)
    if key:
        # The refused key is not repeated in the error, which ends up in start-up logs.
        assert key not in str(caught.value).replace(message, "")


def test_production_accepts_a_strong_key():
    assert settings(environment="production", jwt_secret_key=GOOD_KEY).jwt_secret_key.get_secret_value() == GOOD_KEY
    # The rule counts bytes: 16 different three-byte characters are 48 bytes.
    settings(environment="production", jwt_secret_key="".join(chr(0x20AC + i) for i in range(16)))


@pytest.mark.parametrize("environment", ["development", "test"])
def test_other_environments_accept_any_key(environment):
    assert settings(environment=environment, jwt_secret_key="short").environment == environment


def test_production_start_up_stops_with_a_clear_message_that_leaks_nothing():
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "JWT_SECRET_KEY": "real-but-short-key",
        "DATABASE_URL": "postgresql://app:db-pass-123@db.internal/shop",
        "FIRST_ADMIN_PASSWORD": "bootstrap-pass-456",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "Invalid settings: JWT_SECRET_KEY must be at least 32 bytes"
    for secret in ("real-but-short-key", "db-pass-123", "bootstrap-pass-456"):
        assert secret not in result.stderr


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        (
            {"JWT_SECRET_KEY": "a" * 32},
            "Invalid settings: JWT_SECRET_KEY must have at least 16 distinct characters; generate a random key",
        ),
        (
            {"JWT_SECRET_KEY": GOOD_KEY, "DATABASE_POOL_SIZE": "many"},
            "Invalid settings: DATABASE_POOL_SIZE: Input should be a valid integer, unable to parse string as an "
            "integer",
        ),
    ],
    ids=["low-variety-key", "not-a-number"],
)
def test_a_refused_setting_stops_start_up_with_one_line_and_no_traceback(environ, line):
    env = {**os.environ, "ENVIRONMENT": "production", **environ}
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip() == line


def test_importing_the_app_builds_nothing(tmp_path):
    """No engine, no pool, no thread, no ./data/ until the server starts (app/bootstrap.py, in the lifespan)."""
    probe = "import threading, app.main\nassert app.main.app is not None\nprint(threading.active_count())\n"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": "sqlite:///./data/app.db",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("JWT_SECRET_KEY", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert list(tmp_path.iterdir()) == []


# --- the database URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("postgresql://u:p@db.example:5432/shop", "postgresql+psycopg"),
        ("postgres://u:p@db.example:5432/shop", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db.example/shop", "postgresql+psycopg"),
        ("postgresql+asyncpg://u:p@db.example/shop", "postgresql+psycopg"),
        ("sqlite:///./data/app.db", "sqlite+aiosqlite"),
        ("sqlite:////var/lib/app.db", "sqlite+aiosqlite"),
        ("sqlite://", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_get_the_async_driver(raw, driver):
    url = async_url(raw)
    assert url.drivername == driver
    plain = raw.split("://", 1)[1]
    assert url.render_as_string(hide_password=False).split("://", 1)[1] == plain


def test_sync_url_for_tooling():
    assert sync_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"
    assert sync_url("sqlite:///x.db").drivername == "sqlite"


@pytest.mark.parametrize("raw", ["mysql://u:p@h/db", "oracle://h/db"])
def test_unsupported_databases_are_refused(raw):
    with pytest.raises(ValueError, match="unsupported database backend"):
        async_url(raw)


# --- the development key --------------------------------------------------------------------------


def test_development_generates_a_key_beside_the_sqlite_file_and_reuses_it(tmp_path, caplog):
    dev = settings(environment="development", jwt_secret_key=None, database_url=f"sqlite:///{tmp_path}/db/app.db")
    with caplog.at_level(logging.WARNING, logger="app.security"):
        first = resolve_signing_key(dev)
    key_file = tmp_path / "db" / ".jwt-dev-key"
    assert key_file.read_text() == first
    assert len(first.encode()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert any("JWT_SECRET_KEY is not set" in record.getMessage() for record in caplog.records)
    assert first not in caplog.text

    # The next start (another process, another worker) signs with the same key.
    again = resolve_signing_key(dev)
    assert again == first
    now, user_id, session_id = datetime.now(UTC), uuid.uuid4(), uuid.uuid4()
    token = TokenCodec(dev, first).issue_access(user_id=user_id, session_id=session_id, now=now)
    assert TokenCodec(dev, again).decode_access(token).user_id == user_id


def test_each_database_gets_its_own_development_key(tmp_path):
    keys = {
        resolve_signing_key(
            settings(environment="development", jwt_secret_key=None, database_url=f"sqlite:///{tmp_path}/{name}/a.db")
        )
        for name in ("one", "two")
    }
    assert len(keys) == 2


def test_a_configured_key_wins_over_the_file(tmp_path):
    dev = settings(environment="development", jwt_secret_key=GOOD_KEY, database_url=f"sqlite:///{tmp_path}/a.db")
    assert resolve_signing_key(dev) == GOOD_KEY
    assert not (tmp_path / ".jwt-dev-key").exists()


# --- environment names and defaults ---------------------------------------------------------------


def test_defaults_follow_the_contract(monkeypatch):
    for name in list(os.environ):
        if name in {field.upper() for field in Settings.model_fields}:
            monkeypatch.delenv(name)
    defaults = settings()
    assert defaults.environment == "development"
    assert defaults.database_url == "sqlite:///./data/app.db"
    assert defaults.jwt_algorithm == "HS256"
    assert (defaults.access_token_expire_minutes, defaults.refresh_token_expire_days) == (15, 7)
    assert (defaults.login_max_failed_attempts, defaults.login_lockout_seconds) == (5, 900)
    assert defaults.redis_url is None
    assert defaults.currency == "USD"
    assert (defaults.log_level, defaults.log_format) == ("INFO", "json")
    assert defaults.first_admin_email is None and defaults.first_admin_password is None


def test_environment_variables_are_read(monkeypatch):
    values = {
        "ENVIRONMENT": "production",
        "JWT_SECRET_KEY": GOOD_KEY,
        "DATABASE_URL": "postgresql://u:p@db/shop",
        "ACCESS_TOKEN_EXPIRE_MINUTES": "5",
        "REFRESH_TOKEN_EXPIRE_DAYS": "30",
        "FIRST_ADMIN_EMAIL": "root@example.com",
        "FIRST_ADMIN_PASSWORD": "bootstrap-password",
        "REDIS_URL": "redis://cache:6379/1",
        "LOGIN_MAX_FAILED_ATTEMPTS": "7",
        "LOGIN_LOCKOUT_SECONDS": "60",
        "CURRENCY": "EUR",
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "console",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    loaded = settings()
    assert loaded.environment == "production"
    assert loaded.database_url == "postgresql://u:p@db/shop"
    assert (loaded.access_token_expire_minutes, loaded.refresh_token_expire_days) == (5, 30)
    assert loaded.first_admin_password.get_secret_value() == "bootstrap-password"
    assert "bootstrap-password" not in repr(loaded) and GOOD_KEY not in repr(loaded)
    assert (loaded.login_max_failed_attempts, loaded.login_lockout_seconds, loaded.currency) == (7, 60, "EUR")
    assert (loaded.redis_url, loaded.log_level, loaded.log_format) == ("redis://cache:6379/1", "DEBUG", "console")


@pytest.mark.parametrize(
    "values",
    [
        {"argon2_memory_kib": 1024},
        {"argon2_time_cost": 1},
        {"currency": "usd"},
        {"login_max_failed_attempts": 0},
        {"access_token_expire_minutes": 0},
        {"log_format": "xml"},
        {"environment": "staging"},
    ],
    ids=["weak-argon2-memory", "weak-argon2-time", "currency-case", "no-attempts", "zero-ttl", "log-format", "env"],
)
def test_invalid_values_are_refused(values):
    with pytest.raises(ValidationError):
        settings(**values)
