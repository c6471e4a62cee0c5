"""The benchmark's databases: created, migrated and bulk-seeded once per size, then reused.

A database per dataset size (`bench_orders_<N>`), so a quick run and a full run do not reseed each other. Its
description (COMMENT ON DATABASE) records what was loaded; a rerun with the same size only migrates to head and
removes what earlier benchmark runs added (orders placed after the seeded range, login sessions), so every run
starts from the same rows.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from scripts.bench.servers import ROOT

SERVER_URL = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password-1"  # noqa: S105 - a throwaway account in a throwaway database
BULK_PASSWORD = "bulk-password-123"  # noqa: S105 - scripts/bulk_seed.py's documented password
# Enough products that orders rarely queue on one product's row lock: the figure is the service's, not a queue's.
BENCH_PRODUCTS = 256
HUGE_STOCK = 2_000_000_000
SEED = 1
USERS = 10_000
PRODUCTS = 1_000
DAYS = 365


@dataclass(frozen=True)
class Dataset:
    name: str
    url: str
    orders: int
    until: datetime


def ensure(orders: int, env: dict[str, str]) -> Dataset:
    """The database holding `orders` seeded orders, created and loaded if it is not there yet."""
    name = f"bench_orders_{orders}"
    url = f"{SERVER_URL}/{name}"
    wanted = {"orders": orders, "users": USERS, "products": PRODUCTS, "days": DAYS, "seed": SEED,
              "generator": _generator_version()}  # fmt: skip
    meta = _read_meta(name)
    run_env = {**env, "DATABASE_URL": url}
    if meta is not None and {key: meta.get(key) for key in wanted} == wanted and meta.get("complete"):
        _migrate(run_env)
        print(f"  dataset {name}: reused ({orders:,} orders until {meta['until']}, {disk_size(name)} on disk)")
        return Dataset(name, url, orders, datetime.fromisoformat(meta["until"]))

    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    print(f"  dataset {name}: creating and seeding {orders:,} orders (once; later runs reuse it)")
    started = time.monotonic()
    with _server() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    _migrate(run_env)
    seed_args = ["--orders", str(orders), "--users", str(USERS), "--products", str(PRODUCTS), "--days", str(DAYS)]
    seed_args += ["--seed", str(SEED), "--until", until.isoformat()]
    _run([sys.executable, "scripts/seed_data.py", *seed_args], run_env)
    admin_env = {**run_env, "FIRST_ADMIN_EMAIL": ADMIN_EMAIL, "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD}
    _run([sys.executable, "-m", "app.db.init_db"], admin_env)
    _write_meta(name, {**wanted, "until": until.isoformat(), "complete": True})
    print(f"  dataset {name}: ready in {time.monotonic() - started:.0f} s, {disk_size(name)} on disk")
    return Dataset(name, url, orders, until)


def reset(dataset: Dataset) -> None:
    """Remove what earlier runs added and give the benchmark's products a stock that cannot run out."""
    with psycopg.connect(dataset.url, autocommit=True) as conn:
        deleted = conn.execute("DELETE FROM orders WHERE created_at >= %s", (dataset.until,)).rowcount
        conn.execute("DELETE FROM idempotency_keys")
        conn.execute("DELETE FROM login_sessions")
        outbox = conn.execute("DELETE FROM outbox").rowcount  # what an earlier run's relaying instance sent
        created = dataset.until - timedelta(days=1)
        for number in range(BENCH_PRODUCTS):
            conn.execute(
                "INSERT INTO products (id, sku, name, description, price_cents, stock, is_active, created_at, "
                "updated_at) VALUES (%s, %s, %s, NULL, %s, %s, true, %s, %s) "
                "ON CONFLICT (sku) DO UPDATE SET stock = EXCLUDED.stock, is_active = true",
                (uuid.uuid4(), f"BENCH-{number:03d}", f"Bench product {number:03d}", 500 + 7 * number,
                 HUGE_STOCK, created, created),
            )  # fmt: skip
        if deleted or outbox:
            conn.execute("VACUUM (ANALYZE) orders, order_items, order_status_changes, login_sessions, outbox")


def buyers(dataset: Dataset, count: int, *, skip: int = 0) -> list[str]:
    """Emails of seeded customers who have orders, in a fixed order."""
    query = """
        SELECT u.email FROM users u WHERE u.email LIKE %s AND u.role = 'customer'
        AND EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.created_at < %s)
        ORDER BY u.email LIMIT %s OFFSET %s
    """
    with psycopg.connect(dataset.url) as conn:
        rows = conn.execute(query, (f"bulk-{SEED}-%", dataset.until, count, skip)).fetchall()
    if len(rows) < count:
        raise RuntimeError(f"{dataset.name} has only {len(rows)} customers with orders; {count} needed")
    return [row[0] for row in rows]


def bench_product_ids(dataset: Dataset) -> list[str]:
    with psycopg.connect(dataset.url) as conn:
        rows = conn.execute("SELECT id FROM products WHERE sku LIKE 'BENCH-%%' ORDER BY sku").fetchall()
    return [str(row[0]) for row in rows]


def order_ids_by_user(dataset: Dataset, emails: list[str], per_user: int = 20) -> dict[str, list[str]]:
    """A few seeded orders of each of these customers (their newest), by email."""
    query = """
        SELECT u.email, o.id FROM users u
        JOIN LATERAL (SELECT id FROM orders WHERE user_id = u.id AND created_at < %s
                      ORDER BY created_at DESC LIMIT %s) o ON true
        WHERE u.email = ANY(%s)
    """
    found: dict[str, list[str]] = {email: [] for email in emails}
    with psycopg.connect(dataset.url) as conn:
        for email, order_id in conn.execute(query, (dataset.until, per_user, emails)).fetchall():
            found[email].append(str(order_id))
    return found


def disk_size(name: str) -> str:
    """What the dataset's database takes on disk (tables, indexes, rollups), as PostgreSQL counts it."""
    with _server() as conn:
        row = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", (name,)).fetchone()
    return str(row[0]) if row else "?"


def _generator_version() -> str:
    """A change to the generator changes the data, so it invalidates the datasets made with the old one."""
    return hashlib.sha256((ROOT / "scripts" / "bulk_seed.py").read_bytes()).hexdigest()[:12]


def _server() -> psycopg.Connection[Any]:
    return psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True)


def _read_meta(name: str) -> dict[str, Any] | None:
    with _server() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        meta = json.loads(row[0])
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


def _write_meta(name: str, meta: dict[str, Any]) -> None:
    with _server() as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(json.dumps(meta)))
        )


def _migrate(env: dict[str, str]) -> None:
    _run([sys.executable, "-m", "alembic", "upgrade", "head"], env, quiet=True)


def _run(command: list[str], env: dict[str, str], *, quiet: bool = False) -> None:
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=quiet, check=False)
    if result.returncode != 0:
        detail = (result.stderr or b"").decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command[:3])} failed ({result.returncode})\n{detail}")
