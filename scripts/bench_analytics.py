#!/usr/bin/env python
"""Median latency of each analytics endpoint through HTTP, against the same SQL run directly with psycopg.

Run against a PostgreSQL database that is migrated and bulk-seeded (scripts/seed_data.py --orders N):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/analytics_bench \\
        .venv/bin/python scripts/bench_analytics.py --runs 30 [--explain]

It creates a benchmark admin if absent, starts uvicorn (one worker) on a free port unless `--url` names a
running service, calls every endpoint over a 30-day and a 365-day window ending at `--until` (default: the
next UTC midnight after the newest order), and replays each endpoint's captured SQL statements over one
psycopg connection (no prepared statements, like psql; the read side's planner settings). It stops the server
it started.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.bootstrap import bootstrap  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db.connect import READ_PLANNER_OPTIONS, sync_url  # noqa: E402
from app.db.reader import ReadQuery  # noqa: E402
from app.schemas.analytics import RevenueInterval  # noqa: E402
from app.services.analytics_service import AnalyticsService  # noqa: E402
from scripts.processes import free_port  # noqa: E402

ADMIN_EMAIL = "analytics-bench-admin@example.com"
ADMIN_PASSWORD = "analytics-bench-password"  # noqa: S105 - a throwaway account in a benchmark database
ENDPOINTS: dict[str, tuple[str, dict[str, str]]] = {
    "summary": ("/analytics/summary", {}),
    "revenue day": ("/analytics/revenue", {"interval": "day"}),
    "revenue week": ("/analytics/revenue", {"interval": "week"}),
    "revenue month": ("/analytics/revenue", {"interval": "month"}),
    "top-products": ("/analytics/top-products", {"limit": "10"}),
    "top-customers": ("/analytics/top-customers", {"limit": "10"}),
}
WINDOWS = {"30 days": timedelta(days=30), "365 days": timedelta(days=365)}
Statement = tuple[str, Any]


def _service_call(name: str, start: datetime, end: datetime) -> Callable[[AnalyticsService], Awaitable[Any]]:
    path, params = ENDPOINTS[name]
    if path.endswith("summary"):
        return lambda service: service.get_summary(start=start, end=end)
    if path.endswith("revenue"):
        interval = RevenueInterval(params["interval"])
        return lambda service: service.get_revenue(start=start, end=end, interval=interval)
    if path.endswith("top-products"):
        return lambda service: service.list_top_products(start=start, end=end, limit=10)
    return lambda service: service.list_top_customers(start=start, end=end, limit=10)


async def _prepare(settings: Settings, cases: dict[tuple[str, str], tuple[datetime, datetime]]) -> dict[Any, Any]:
    """Ensure the admin; capture the SQL every endpoint runs, by calling its service once."""
    container = bootstrap(settings)
    captured: list[Statement] = []
    reader = container.reader
    run = reader.all

    async def capture(query: ReadQuery, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        sql, constants = query.compiled(reader.dialect)
        captured.append((sql, {**constants, **(params or {})}))
        return await run(query, params)

    reader.all = capture  # type: ignore[method-assign]
    statements: dict[Any, Any] = {}
    try:
        await container.services.users.ensure_admin(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        for (name, window), (start, end) in cases.items():
            captured.clear()
            await _service_call(name, start, end)(container.services.analytics)
            statements[(name, window)] = list(captured)
    finally:
        await container.close()
    return statements


@contextmanager
def _server(url: str | None, database_url: str) -> Iterator[str]:
    if url:
        yield url
        return
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    env.setdefault("JWT_SECRET_KEY", secrets.token_urlsafe(48))
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


def _median_pair(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[float, float]:
    """Medians of both actions, run alternately so both see the same background load."""
    samples: tuple[list[float], list[float]] = ([], [])
    for run in range(runs + 3):  # the first three warm caches and plans
        for action, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            action()
            if run >= 3:
                into.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def _measure(
    base: str, conninfo: str, cases: dict[Any, tuple[datetime, datetime]], statements: dict[Any, list[Statement]],
    runs: int,
) -> dict[Any, tuple[float, float]]:  # fmt: skip
    medians = {}
    sql_side = psycopg.connect(conninfo, autocommit=True, options=READ_PLANNER_OPTIONS)  # as the service's reads
    with httpx.Client(base_url=base, timeout=60) as http, sql_side as conn:
        login = http.post("/auth/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        conn.execute("SET timezone = 'UTC'")
        for key, (start, end) in cases.items():
            path, params = ENDPOINTS[key[0]]
            query = {**params, "start": start.isoformat(), "end": end.isoformat()}

            def call(path: str = path, query: dict[str, str] = query) -> None:
                http.get(path, params=query).raise_for_status()

            def replay(batch: list[Statement] = statements[key]) -> None:
                for sql, sql_params in batch:
                    conn.execute(sql, sql_params, prepare=False).fetchall()

            medians[key] = _median_pair(call, replay, runs)
    return medians


def _explain(conninfo: str, statements: dict[Any, list[Statement]]) -> None:
    with psycopg.connect(conninfo, autocommit=True, options=READ_PLANNER_OPTIONS) as conn:
        conn.execute("SET timezone = 'UTC'")
        for key, batch in statements.items():
            for sql, params in batch:
                plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params, prepare=False).fetchall()
                print(f"\n-- {key[0]}, {key[1]}\n" + "\n".join(row[0] for row in plan))


def _default_until(conninfo: str) -> datetime:
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT max(created_at) FROM orders").fetchone()
    newest = row[0] if row and row[0] else datetime.now(UTC)
    return newest.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--url", help="a running service to measure instead of starting one")
    parser.add_argument("--until", type=datetime.fromisoformat, help="end of both windows (default: see above)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of each statement")
    args = parser.parse_args()
    settings = Settings()
    conninfo = sync_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    until = (args.until or _default_until(conninfo)).astimezone(UTC)
    cases = {(name, label): (until - span, until) for label, span in WINDOWS.items() for name in ENDPOINTS}
    statements = asyncio.run(_prepare(settings, cases))
    if args.explain:
        _explain(conninfo, statements)
    with _server(args.url, settings.database_url) as base:
        medians = _measure(base, conninfo, cases, statements, args.runs)
    print(f"\nmedians of {args.runs} runs, windows ending {until.isoformat()}")
    print(f"{'endpoint':<16}{'window':<10}{'HTTP ms':>10}{'SQL ms':>10}{'ratio':>8}")
    for (name, window), (http_ms, sql_ms) in medians.items():
        print(f"{name:<16}{window:<10}{http_ms:>10.1f}{sql_ms:>10.1f}{http_ms / sql_ms:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
