#!/usr/bin/env python
"""What refusing the worst request bodies costs: each kind sent to each route that takes a body, in process.

Builds the app on a scratch SQLite database, signs an admin in (so the admin routes validate the body rather than
answer 401) and sends each body `--repeat` times through the ASGI interface, as a client would, without a network.
Prints, per kind of body, the costliest route's median CPU time (the process's, threads included: what a busy
machine does not inflate the way it does wall time) and the largest answer: the figures in docs/tradeoffs.md
("Hostile input and contract fuzzing"). Run it on an idle machine: `.venv/bin/python scripts/body_cost.py`.
"""

import argparse
import asyncio
import json
import logging
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command
from alembic.config import Config
from httpx import ASGITransport, AsyncClient

from app.bootstrap import bootstrap
from app.config import Settings
from app.core.middleware import MAX_BODY_BYTES
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
ROOM = MAX_BODY_BYTES - 4096  # what a body may fill and stay under the 413 limit
ADMIN = ("body-cost-admin@example.com", "body-cost-password")
# Every route with a JSON body; ids in paths are random (the body is refused before anything is looked up).
ROUTES = [
    ("POST", "/auth/register"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("PATCH", "/users/me"),
    ("POST", "/users/me/password"),
    ("PATCH", f"/users/{uuid.uuid4()}"),
    ("POST", "/products"),
    ("PATCH", f"/products/{uuid.uuid4()}"),
    ("POST", "/orders"),
    ("PATCH", f"/orders/{uuid.uuid4()}/status"),
]


def members(count: int, value: str = "0") -> str:
    return "{" + ",".join(f'"m{i}":{value}' for i in range(count)) + "}"


def bodies() -> dict[str, bytes]:
    """The worst of each kind: as large as the limits let it be."""
    per_member = ROOM // 256 - 16
    return {
        "an empty object (the floor: token check, routing)": b"{}",
        "60,000 unknown members": members(60_000).encode(),
        "257 members of ~4 KiB strings (1 MiB)": members(257, json.dumps("x" * per_member)).encode(),
        "256 unknown members (validated)": members(256).encode(),
        "4 objects of 255 members in a list": ('{"items":[' + ",".join([members(255)] * 4) + "]}").encode(),
        "an array of 10,000 integers": ('{"items":[' + ",".join(["1"] * 10_000) + "]}").encode(),
        "an array of 10,000 floats": ('{"items":[' + ",".join(["1.5e300"] * 10_000) + "]}").encode(),
        "an array of 10,000 empty objects": ('{"items":[' + ",".join(["{}"] * 10_000) + "]}").encode(),
        "an array of 500,000 integers (commas refused)": ("[" + ",".join(["0"] * (ROOM // 2 - 1)) + "]").encode(),
        "a 1 MiB string in every text field": json.dumps(
            {k: "x" * (ROOM // 8) for k in ("email", "full_name", "sku", "name", "description", "refresh_token")}
        ).encode(),
        "1 MiB of \\u escapes in one string": ('{"full_name":"' + "\\u00e9" * (ROOM // 6) + '"}').encode(),
        "10,000 nested arrays": b"[" * 10_000 + b"]" * 10_000,
    }


def login_forms() -> dict[str, bytes]:
    return {
        "a login form of 1,000 fields": "&".join(f"f{i}=x" for i in range(1000)).encode(),
        "a login form of 100,000 fields": "&".join(f"f{i}=x" for i in range(100_000)).encode()[:ROOM],
        "a login form with a 1 MiB password": b"username=a%40example.com&password=" + b"x" * (ROOM - 40),
    }


async def timed(send: Callable[[], object], repeat: int) -> tuple[float, int, int]:
    durations, size, status = [], 0, 0
    for _ in range(repeat):
        started = time.process_time()
        response = await send()  # type: ignore[misc]
        durations.append(time.process_time() - started)
        size, status = max(size, len(response.content)), response.status_code  # type: ignore[attr-defined]
    return statistics.median(durations) * 1000, size, status


async def measure(url: str, repeat: int) -> None:
    key = secrets.token_urlsafe(48)
    settings = Settings(_env_file=None, database_url=url, environment="test", jwt_secret_key=key, log_level="WARNING")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    container = bootstrap(settings)
    await container.start()
    try:
        await container.services.users.ensure_admin(email=ADMIN[0], password=ADMIN[1])
        async with AsyncClient(transport=ASGITransport(app=create_app(container)), base_url="http://t") as http:
            login = await http.post("/auth/login", data={"username": ADMIN[0], "password": ADMIN[1]})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}", "Content-Type": "application/json"}
            print(f"{'body':48} {'worst route':28} {'CPU ms':>9} {'answer bytes':>12} statuses")
            for label, content in bodies().items():
                results = {}
                for method, path in ROUTES:
                    results[f"{method} {path[:20]}"] = await timed(
                        lambda m=method, p=path, c=content: http.request(m, p, content=c, headers=auth), repeat
                    )
                _report(label, results)
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            for label, content in login_forms().items():
                results = {"POST /auth/login": await timed(
                    lambda c=content: http.post("/auth/login", content=c, headers=form), repeat
                )}  # fmt: skip
                _report(label, results)
    finally:
        await container.close()


def _report(label: str, results: dict[str, tuple[float, int, int]]) -> None:
    route, (ms, _, _) = max(results.items(), key=lambda item: item[1][0])
    largest = max(size for _, size, _ in results.values())
    statuses = sorted({status for _, _, status in results.values()})
    print(f"{label:48} {route:28} {ms:9.2f} {largest:12} {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per body and route (the median is shown)")
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/body-cost.db"
        config = Config(str(ROOT / "alembic.ini"))
        config.set_main_option("script_location", str(ROOT / "alembic"))
        config.attributes.update(database_url=url, configure_logger=False)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        command.upgrade(config, "head")
        asyncio.run(measure(url, repeat))


if __name__ == "__main__":
    main()
