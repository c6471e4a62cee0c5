"""Alembic migrations round-trip and match the models; `python -m app.db.init_db` bootstraps the admin.

Every test here works on a scratch database of its own, never on the shared test database.
"""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from app.db.connect import sync_url
from app.models import Base
from tests.conftest import (
    BACKENDS,
    ROOT,
    Database,
    _create_pg_database,
    alembic_config,
    http_client,
    make_settings,
)

APP_TABLES = {table.name for table in Base.metadata.sorted_tables}


@pytest.fixture(params=BACKENDS)
def scratch_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    url, drop = _create_pg_database(request.getfixturevalue("pg_server_url"))
    try:
        yield url
    finally:
        drop()


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url):
    config = alembic_config(scratch_url)
    head = ScriptDirectory.from_config(config).get_current_head()

    command.upgrade(config, "head")
    assert tables(scratch_url) >= APP_TABLES
    assert revision(scratch_url) == head

    command.downgrade(config, "base")
    assert tables(scratch_url) - {"alembic_version"} == set()
    assert revision(scratch_url) is None

    command.upgrade(config, "head")
    assert tables(scratch_url) >= APP_TABLES
    assert revision(scratch_url) == head


def test_migrations_match_the_models(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")
    engine = create_engine(sync_url(scratch_url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def outbox_storage_parameters(url: str) -> list[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            options = connection.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'outbox'")).scalar()
            return sorted(options or [])
    finally:
        engine.dispose()


def test_the_outbox_is_vacuumed_after_a_thousand_changed_rows_on_postgresql(scratch_url):
    if not scratch_url.startswith("postgresql"):
        pytest.skip("a storage parameter of PostgreSQL")
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    assert outbox_storage_parameters(scratch_url) == [
        "autovacuum_analyze_scale_factor=0",
        "autovacuum_analyze_threshold=1000",
        "autovacuum_vacuum_scale_factor=0",
        "autovacuum_vacuum_threshold=1000",
    ]
    command.downgrade(config, "0009")
    assert outbox_storage_parameters(scratch_url) == []


def test_the_history_is_one_line(scratch_url):
    script = ScriptDirectory.from_config(alembic_config(scratch_url))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1
    assert [rev.revision for rev in script.walk_revisions()][-2:] == ["0002", "0001"]


# --- python -m app.db.init_db ---------------------------------------------------------------------


def run_init_db(database_url: str, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "FIRST_ADMIN_EMAIL": email,
        "FIRST_ADMIN_PASSWORD": password,
        "LOG_LEVEL": "INFO",
    }
    return subprocess.run(
        [sys.executable, "-m", "app.db.init_db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def admins(url: str) -> list[tuple[str, str, str, bool]]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT email, role, password_hash, is_active FROM users"))
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


ADMIN_EMAIL, ADMIN_PASSWORD = "Root.Admin@Example.com", "bootstrap-password-123"


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory) -> tuple[str, list[subprocess.CompletedProcess[str]], list[list[tuple]]]:
    """A migrated scratch SQLite database after init_db ran twice (the second time with another password)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bootstrap') / 'bootstrap.db'}"
    command.upgrade(alembic_config(url), "head")
    runs, states = [], []
    for password in (ADMIN_PASSWORD, "a-different-password"):
        runs.append(run_init_db(url, ADMIN_EMAIL, password))
        states.append(admins(url))
    return url, runs, states


def test_init_db_creates_the_first_admin_once(bootstrapped):
    _, runs, (after_first, after_second) = bootstrapped
    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    assert [(row[0], row[1], row[3]) for row in after_first] == [("root.admin@example.com", "admin", True)]
    assert after_second == after_first
    for run in runs:
        output = run.stdout + run.stderr
        assert ADMIN_PASSWORD not in output and "a-different-password" not in output
        assert "$argon2" not in output


async def test_the_first_admin_can_log_in(bootstrapped, app_factory):
    url = bootstrapped[0]
    application = app_factory(make_settings(Database(backend="sqlite", url=url)))
    async with http_client(application) as http:
        response = await http.post("/auth/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert response.status_code == 200, response.text
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        assert (await http.get("/users/me", headers=headers)).json()["role"] == "admin"
        assert (await http.get("/users", headers=headers)).status_code == 200


def test_init_db_without_settings_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'bootstrap.db'}"
    command.upgrade(alembic_config(url), "head")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FIRST_ADMIN_")}
    env.update({"DATABASE_URL": url, "ENVIRONMENT": "test"})
    result = subprocess.run(
        [sys.executable, "-m", "app.db.init_db"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert admins(url) == []
    assert "FIRST_ADMIN_EMAIL" in result.stdout + result.stderr
