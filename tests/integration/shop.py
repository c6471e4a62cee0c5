"""Helpers for the catalogue and order tests: make products and orders through the API, watch the pool."""

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import event

from app.db.reader import ReadQuery


async def make_product(client: AsyncClient, admin: Any, **fields: Any) -> dict[str, Any]:
    body = {"sku": f"SKU-{uuid.uuid4().hex[:10]}", "name": "Widget", "price_cents": 1250, "stock": 100, **fields}
    response = await client.post("/products", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def get_product(client: AsyncClient, admin: Any, product_id: str) -> dict[str, Any]:
    response = await client.get(f"/products/{product_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def stock_of(client: AsyncClient, admin: Any, product_id: str) -> int:
    return int((await get_product(client, admin, product_id))["stock"])


async def place(client: AsyncClient, account: Any, *lines: tuple[str, int], key: str | None = None) -> Any:
    headers = dict(account.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"items": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]}
    return await client.post("/orders", json=body, headers=headers)


async def place_ok(client: AsyncClient, account: Any, *lines: tuple[str, int]) -> dict[str, Any]:
    response = await place(client, account, *lines)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def all_orders(client: AsyncClient, account: Any, **params: Any) -> list[dict[str, Any]]:
    """Every page of GET /orders for this caller."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/orders", params=query, headers=account.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@dataclass
class PoolWatch:
    peak: int = 0
    current: int = 0


@contextmanager
def watch_connections(app: FastAPI) -> Iterator[PoolWatch]:
    """Count database connections checked out at once, to prove requests really overlapped."""
    watch = PoolWatch()
    pool = app.state.container.engine.sync_engine.pool

    def on_checkout(*_: Any) -> None:
        watch.current += 1
        watch.peak = max(watch.peak, watch.current)

    def on_checkin(*_: Any) -> None:
        watch.current -= 1

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    try:
        yield watch
    finally:
        event.remove(pool, "checkout", on_checkout)
        event.remove(pool, "checkin", on_checkin)


@contextmanager
def recording_reads(app: FastAPI) -> Iterator[list[str]]:
    """The text of every statement the app's read side sends meanwhile, in order."""
    reader = app.state.container.reader
    statements: list[str] = []
    run = reader.all

    async def recording(query: ReadQuery, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        statements.append(query.compiled(reader.dialect)[0])
        return await run(query, params)

    reader.all = recording  # the queries call `one`, which calls `all`
    try:
        yield statements
    finally:
        del reader.all
