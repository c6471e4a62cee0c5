"""The floor the service is measured against: the benchmark's routes with nothing but the necessary work.

A bare ASGI callable (no framework, no ORM, no middleware, no logging) over a psycopg 3 async pool. Per
request it does what the service must do and no more: the same JWT checks (PyJWT, pinned algorithm, the
same required claims, issuer, audience and `type`), the same one-query session check, the same SQL
statements as the service's repositories, JSON out. Reads run in autocommit (no BEGIN/ROLLBACK round
trips); writes run in one transaction. It serves only the routes the benchmark drives, for no one else.

    uvicorn scripts.bench.floor:app --workers 2 --loop uvloop --http httptools

Environment: DATABASE_URL (postgresql://...), JWT_SECRET_KEY, and optionally JWT_ALGORITHM, JWT_ISSUER,
JWT_AUDIENCE, DATABASE_POOL_SIZE, DATABASE_MAX_OVERFLOW, DATABASE_STATEMENT_TIMEOUT_MS, CURRENCY.
"""

import base64
import json
import os
import re
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from scripts.bench import floor_sql as sql

KEY = os.environ.get("JWT_SECRET_KEY", "")
ALGORITHM = os.environ.get("JWT_ALGORITHM", "HS256")
ISSUER = os.environ.get("JWT_ISSUER", "order-service")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "order-service-api")
CURRENCY = os.environ.get("CURRENCY", "USD")
REQUIRED = ["sub", "exp", "iat", "jti", "iss", "aud", "type", "sid"]
FORBIDDEN_HEADERS = frozenset({"kid", "jku", "x5u", "x5c", "jwk"})
ORDER_PATH = re.compile(r"^/orders/([0-9a-fA-F-]{36})(/history)?$")

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class Raw:
    """A JSON body already built (by the database), sent as it is."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class HttpError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class Floor:
    def __init__(self) -> None:
        self.pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        try:
            status, body = await self._route(scope, receive)
        except HttpError as exc:
            status, body = exc.status, {"status": exc.status, "detail": exc.detail}
        payload = body.payload if isinstance(body, Raw) else json.dumps(body, separators=(",", ":")).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _pool(self) -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
        if self.pool is None:
            raise RuntimeError("the pool opens at start-up")
        return self.pool

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = _open_pool()
                await self.pool.open(wait=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, Any]:
        method, path = scope["method"], scope["path"]
        if path == "/health/live":
            return 200, {"status": "ok"}
        token = _bearer(scope)
        if path == "/products" and method == "GET":
            return 200, await self._products(token)
        if token is None:
            raise HttpError(401, "Not authenticated.")
        if path == "/users/me":
            if method == "GET":
                return 200, await self._me(token)
            return 200, await self._rename(token, await _json_body(receive))
        if path == "/orders":
            if method == "POST":
                return 201, await self._place(token, await _json_body(receive))
            return 200, await self._orders(token)
        if path == "/analytics/summary":
            return 200, await self._summary(token, scope["query_string"].decode())
        match = ORDER_PATH.match(path)
        if match and method == "GET":
            order_id = uuid.UUID(match.group(1))
            return 200, await (self._history(token, order_id) if match.group(2) else self._order(token, order_id))
        raise HttpError(404, "Not found.")

    async def _principal(self, token: str, conn: AsyncConnection[Any]) -> tuple[uuid.UUID, str]:
        """The caller's id and role, if the token's session and user are live."""
        user_id, session_id = _decode(token)
        params = {"session_id": session_id, "user_id": user_id, "now": _now()}
        row = await (await conn.execute(sql.LIVE_ROLE, params)).fetchone()
        if row is None:
            raise HttpError(401, "Could not validate credentials")
        return user_id, row[0]

    async def _me(self, token: str) -> Raw:
        user_id, session_id = _decode(token)
        params = {"session_id": session_id, "user_id": user_id, "now": _now()}
        async with self._pool().connection() as conn:
            row = await (await conn.execute(sql.LIVE_PROFILE, params)).fetchone()
        if row is None:
            raise HttpError(401, "Could not validate credentials")
        return Raw(row[1].encode())

    async def _products(self, token: str | None) -> dict[str, Any]:
        async with self._pool().connection() as conn:
            admin = token is not None and (await self._principal(token, conn))[1] == "admin"
            query = sql.PRODUCTS_ALL if admin else sql.PRODUCTS_ACTIVE
            row = await (await conn.execute(query, {"limit": 21, "currency": CURRENCY})).fetchone()
        return _page(json.loads(row[0] if row else "[]"), lambda item: (item["id"],))

    async def _orders(self, token: str) -> dict[str, Any]:
        async with self._pool().connection() as conn:
            user_id, _ = await self._principal(token, conn)
            row = await (await conn.execute(sql.ORDERS_OF_USER, {"user_id": user_id, "limit": 21})).fetchone()
        return _page(json.loads(row[0] if row else "[]"), lambda item: (item["created_at"], item["id"]))

    async def _order(self, token: str, order_id: uuid.UUID) -> Any:
        async with self._pool().connection() as conn:
            user_id, role = await self._principal(token, conn)
            row = await (await conn.execute(sql.ORDER, {"order_id": order_id})).fetchone()
        order = json.loads(row[0]) if row else None
        if order is None or (role != "admin" and order["user_id"] != str(user_id)):
            raise HttpError(404, "No such order.")
        return order

    async def _history(self, token: str, order_id: uuid.UUID) -> Any:
        async with self._pool().connection() as conn:
            user_id, role = await self._principal(token, conn)
            row = await (await conn.execute(sql.HISTORY, {"order_id": order_id})).fetchone()
        if row is None or (role != "admin" and row[0] != user_id):
            raise HttpError(404, "No such order.")
        return Raw(row[1].encode())

    async def _rename(self, token: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or set(body) != {"full_name"} or not isinstance(body["full_name"], str):
            raise HttpError(422, "The request is not valid.")
        async with self._pool().connection() as conn:
            user_id, _ = await self._principal(token, conn)
            async with conn.transaction():
                row = await (await conn.execute(sql.USER_BY_ID, (user_id,))).fetchone()
                await conn.execute(sql.RENAME_USER, (body["full_name"], _now(), user_id))
        if row is None:
            raise HttpError(401, "Could not validate credentials")
        return _user((*row[:2], body["full_name"], *row[3:]))

    async def _place(self, token: str, body: Any) -> dict[str, Any]:
        lines = _order_lines(body)
        async with self._pool().connection() as conn:
            user_id, _ = await self._principal(token, conn)
            now = _now()
            read = await conn.execute(sql.PRODUCTS_FOR_ORDER, {"ids": list(lines), "currency": CURRENCY})
            catalogue = {uuid.UUID(product["id"]): product for product in json.loads((await read.fetchone())[0])}
            if len(catalogue) != len(lines) or any(catalogue[pid]["stock"] < qty for pid, qty in lines.items()):
                raise HttpError(409, "Insufficient stock.")
            order_id = uuid.uuid4()
            items = [
                {"product_id": str(pid), "sku": catalogue[pid]["sku"], "name": catalogue[pid]["name"],
                 "unit_price_cents": catalogue[pid]["price_cents"], "quantity": qty,
                 "line_total_cents": catalogue[pid]["price_cents"] * qty}
                for pid, qty in lines.items()
            ]  # fmt: skip
            total = sum(item["line_total_cents"] for item in items)
            rows = [{"id": str(uuid.uuid4()), "position": position, **item} for position, item in enumerate(items)]
            params = {
                "lines": json.dumps(rows),
                "order_id": order_id,
                "user_id": user_id,
                "status": "pending",
                "currency": CURRENCY,
                "total_cents": total,
                "now": now,
                "change_id": uuid.uuid4(),
                "changed_by": user_id,
                "idempotency_key": None,
                "claimed_at": None,
                "answer_status": None,
                "answer_body": None,
                "messages": "[]",  # as the service without EVENTS_URL or a mail server: no outbox rows
            }
            # As the service does: one statement, outside any transaction.
            servable, _ = await (await conn.execute(sql.PLACE, params)).fetchone()
            if not servable:
                raise HttpError(409, "Insufficient stock.")
        return {
            "id": str(order_id), "user_id": str(user_id), "status": "pending", "currency": CURRENCY,
            "total_cents": total, "items": items, "created_at": _iso(now), "updated_at": _iso(now),
        }  # fmt: skip

    async def _summary(self, token: str, query: str) -> dict[str, Any]:
        params = dict(urllib.parse.parse_qsl(query))
        end = datetime.fromisoformat(params["end"]) if "end" in params else _now()
        start = datetime.fromisoformat(params["start"]) if "start" in params else end - timedelta(days=30)
        if end <= start:
            raise HttpError(422, "end must be later than start.")
        async with self._pool().connection() as conn:
            if (await self._principal(token, conn))[1] != "admin":
                raise HttpError(403, "This action needs the admin role.")
            # As the service's analytics do: never prepared, so each run is planned for its own range.
            as_of = await (await conn.execute(sql.DATA_AS_OF, prepare=False)).fetchone() or (end,)
            statement, params = sql.summary(start, end)
            cursor = await conn.execute(statement.encode(), params, prepare=False)
            row = await cursor.fetchone() or ()
        return sql.summary_body(start, end, as_of[0], row)


def _open_pool() -> AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]:
    size = int(os.environ.get("DATABASE_POOL_SIZE", "20"))
    overflow = int(os.environ.get("DATABASE_MAX_OVERFLOW", "10"))
    # Like SQLAlchemy's QueuePool: `size` connections kept, up to `size + overflow` while busy.
    timeout = os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "5000")
    return AsyncConnectionPool(
        os.environ["DATABASE_URL"],
        min_size=size,
        max_size=size + overflow,
        open=False,
        kwargs={"autocommit": True, "options": f"-c statement_timeout={timeout} -c timezone=UTC"},
    )


def _decode(token: str) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        decoded = jwt.decode_complete(
            token, KEY, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, options={"require": REQUIRED}
        )
        header, claims = decoded["header"], decoded["payload"]
        if header.get("alg") != ALGORITHM or FORBIDDEN_HEADERS & header.keys():
            raise HttpError(401, "Could not validate credentials")
        if claims["type"] != "access":
            raise HttpError(401, "Could not validate credentials")
        datetime.fromtimestamp(claims["exp"], UTC)
        return uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise HttpError(401, "Could not validate credentials") from exc


def _bearer(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token if scheme.lower() == "bearer" and token else None
    return None


async def _json_body(receive: Receive) -> Any:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    try:
        return json.loads(b"".join(chunks))
    except ValueError as exc:
        raise HttpError(422, "The request is not valid.") from exc


def _order_lines(body: Any) -> dict[uuid.UUID, int]:
    try:
        lines = {uuid.UUID(line["product_id"]): int(line["quantity"]) for line in body["items"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise HttpError(422, "The request is not valid.") from exc
    if not 1 <= len(lines) == len(body["items"]) <= 50 or not all(1 <= q <= 1000 for q in lines.values()):
        raise HttpError(422, "The request is not valid.")
    return lines


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _page(rows: list[Any], position: Callable[[Any], tuple[Any, ...]]) -> dict[str, Any]:
    items = rows[:20]
    cursor = _cursor(*position(items[-1])) if len(rows) > 20 else None
    return {"items": items, "next_cursor": cursor}


def _cursor(*values: Any) -> str:
    raw = json.dumps([value.hex if isinstance(value, uuid.UUID) else value for value in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _user(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": str(row[0]), "email": row[1], "full_name": row[2], "role": row[4], "is_active": row[5],
            "created_at": _iso(row[6])}  # fmt: skip


app = Floor()
