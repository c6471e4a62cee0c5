"""The SQLite database: its files are readable by their owner only, and a commit is synced (power-cut safe)."""

import asyncio
import os
import stat
from pathlib import Path

from alembic import command
from sqlalchemy import text

from app.bootstrap import bootstrap
from app.config import Settings
from app.main import create_app
from tests.conftest import alembic_config, http_client


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_files_are_owner_only_and_every_commit_is_synced(tmp_path: Path) -> None:
    path = tmp_path / "data" / "app.db"
    url = f"sqlite:///{path}"
    previous = os.umask(0o022)  # the usual umask, which would make new files readable by everyone
    try:
        command.upgrade(alembic_config(url), "head")  # `alembic upgrade head` creates the file

        async def use() -> tuple[int, dict[str, int]]:
            container = bootstrap(Settings(database_url=url, environment="test"))
            try:
                async with http_client(create_app(container)) as http:
                    created = await http.post("/auth/register", json={"email": "a@example.com", "password": "x" * 12})
                    assert created.status_code == 201, created.text
                async with container.engine.connect() as connection:
                    synchronous = (await connection.execute(text("PRAGMA synchronous"))).scalar_one()
                modes = {p.name: _mode(p) for p in path.parent.iterdir() if p.name.startswith("app.db")}
                return synchronous, modes
            finally:
                await container.close()

        synchronous, modes = asyncio.run(use())
    finally:
        os.umask(previous)

    assert synchronous == 2  # FULL
    assert {"app.db", "app.db-wal", "app.db-shm"} <= set(modes)
    assert modes == dict.fromkeys(modes, 0o600)
