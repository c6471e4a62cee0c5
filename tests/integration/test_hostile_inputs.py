"""Hostile input on every route, driven by the OpenAPI document so that new fields and routes are covered.

Every body field, query parameter, path parameter and header parameter the document names gets values
that are too long (past the limit, 10 000 characters, about 1 MiB), of the wrong type, out of range
(10**30, 2**64, NaN, Infinity, 1e309), full of control characters, lone surrogates, or not UTF-8 at all;
every body gets malformed whole (invalid UTF-8, UTF-16, 10 000 nested arrays or objects, duplicate
names, truncated, empty, the wrong content type, over 1 MiB).

Whatever is sent: never a 5xx; every error is problem+json with a status the operation declares; a value
the document refuses is a 422 whose `errors` point at it; and a refused request writes nothing (every
table is counted before and after). The statuses for each kind of malformed request are listed in
docs/api_contracts.md ("Choices where the contract is silent").
"""

import copy
import json
import re
import urllib.parse
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient
from sqlalchemy import select

from app.core.middleware import MAX_BODY_BYTES
from app.core.strict_json import StrictJSONRoute
from app.models import Base
from tests.conftest import Account, login
from tests.integration.shop import make_product, place_ok

ONE_MIB_ISH = MAX_BODY_BYTES - 4096  # a string that keeps the whole body just under the 413 limit
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Raw:
    """JSON text spliced into a body as is: literals json.dumps would not write (NaN, 1e309)."""

    text: str


@dataclass
class Baseline:
    """A request the operation accepts; each hostile request changes exactly one thing in it."""

    path: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    ends_session: bool = False  # a request that goes through ends the caller's session (logout)


@dataclass
class World:
    admin: Account
    customer: Account
    product_id: str
    order_id: str


def baselines(world: World) -> dict[str, Baseline]:
    """Every operation of the document must be here (test_every_operation_has_a_baseline)."""
    customer, product, order = (
        {"user_id": world.customer.id},
        {"product_id": world.product_id},
        {"order_id": world.order_id},
    )
    product_fields = {"name": "Mug", "description": "350 ml", "price_cents": 1200, "stock": 5}
    return {
        "POST /auth/register": Baseline(body={"email": "hostile@example.com", "password": "long-enough-1"}),
        "POST /auth/login": Baseline(body={"username": "nobody@example.com", "password": "wrong-password-1"}),
        "POST /auth/refresh": Baseline(body={"refresh_token": "not-a-refresh-token"}),
        "POST /auth/password-reset": Baseline(body={"email": "nobody@example.com"}),
        # A token the service never issued: whatever else is sent, no password changes.
        "POST /auth/password-reset/confirm": Baseline(
            body={"token": "not-a-reset-token", "new_password": "long-enough-3"}
        ),
        "POST /auth/logout": Baseline(body={"refresh_token": "not-a-refresh-token"}, ends_session=True),
        "GET /users/me": Baseline(),
        "PATCH /users/me": Baseline(body={"full_name": "Ada"}),
        # A wrong current password: whatever else is sent, the password never changes.
        "POST /users/me/password": Baseline(body={"current_password": "wrong-1", "new_password": "long-enough-2"}),
        # A wrong password: whatever else is sent, the account is never erased.
        "DELETE /users/me": Baseline(body={"password": "wrong-password-1"}),
        "GET /users/me/export": Baseline(),
        "GET /users": Baseline(),
        "GET /users/{user_id}": Baseline(path=customer),
        "PATCH /users/{user_id}": Baseline(path=customer, body={"full_name": "Bob", "role": "customer"}),
        # An account that does not exist (404): erasing the world's customer would end the run's accounts.
        "DELETE /users/{user_id}": Baseline(path={"user_id": "5e0f8a52-3b1c-4d2e-9f6a-7b8c9d0e1f2a"}),
        "GET /products": Baseline(),
        "POST /products": Baseline(body={"sku": "HOSTILE-1", **product_fields}),
        "GET /products/{product_id}": Baseline(path=product),
        "PATCH /products/{product_id}": Baseline(path=product, body={**product_fields, "is_active": True}),
        "POST /orders": Baseline(body={"items": [{"product_id": world.product_id, "quantity": 1}]}),
        "GET /orders": Baseline(),
        "GET /orders/{order_id}": Baseline(path=order),
        "GET /orders/{order_id}/history": Baseline(path=order),
        "POST /orders/{order_id}/cancel": Baseline(path=order),
        "PATCH /orders/{order_id}/status": Baseline(path=order, body={"status": "paid"}),
        "GET /analytics/summary": Baseline(),
        "GET /analytics/revenue": Baseline(),
        "GET /analytics/top-products": Baseline(),
        "GET /analytics/top-customers": Baseline(),
        "GET /health/live": Baseline(),
        "GET /health/ready": Baseline(),
        "GET /metrics": Baseline(),
    }


# --- the document ---------------------------------------------------------------------------------


@dataclass
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    document: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def declared(self) -> set[int]:
        return {int(status) for status in self.spec["responses"]}

    @property
    def media_type(self) -> str | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return next(iter(content), None)

    def body_schema(self) -> dict[str, Any]:
        return resolve(self.document, self.spec["requestBody"]["content"][self.media_type]["schema"])

    def parameters(self, location: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (p["name"], resolve(self.document, p["schema"]))
            for p in self.spec.get("parameters", [])
            if p["in"] == location
        ]


def operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, spec, document)
        for path, item in document["paths"].items()
        for method, spec in item.items()
    ]


def resolve(document: dict[str, Any], schema: Any) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return resolve(document, document["components"]["schemas"][name])
        return {key: resolve(document, value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolve(document, item) for item in schema]
    return schema


def without_null(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    variants = schema.get("anyOf")
    if not variants:
        return schema, schema.get("type") == "null"
    rest = [v for v in variants if v.get("type") != "null"]
    merged = {**{k: v for k, v in schema.items() if k != "anyOf"}, **(rest[0] if len(rest) == 1 else {"anyOf": rest})}
    return merged, len(rest) < len(variants)


def body_slots(schema: dict[str, Any], loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every field of a body, nested ones included (arrays through their first element)."""
    for name, sub in schema.get("properties", {}).items():
        yield (*loc, name), sub
        inner, _ = without_null(sub)
        if inner.get("type") == "object":
            yield from body_slots(inner, (*loc, name))
        if inner.get("type") == "array" and inner["items"].get("type") == "object":
            yield from body_slots(inner["items"], (*loc, name, 0))


# --- hostile values -------------------------------------------------------------------------------

CONTROL = ["\x00", "a\x00b", "\x1b[2J\x1b[31mred", "\x7f", "line\r\nInjected: header", "\x08\x07"]
SURROGATES = ["\ud800", "a\udfffb"]
ODD_TEXT = [
    "' OR '1'='1' --",
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "\u202eevil\u200b\ufeff",
    "\U0001f600" * 50,
    "a\x00b\x1b[31mc\x7fdefgh",
]
HUGE = [10**30, -(10**30), 2**64, -(2**63) - 1]
LITERALS = [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e309"), Raw("-1e309"), Raw("1" * 200)]
WRONG_TYPES: dict[str, list[Any]] = {
    "string": [12345, 1.5, True, [], {}, ["a"], {"$ne": ""}],
    "integer": ["1", "one", 1.5, 1.0, True, [], {}, [1]],
    "boolean": ["true", "false", "yes", "off", 1, 0, [], {}],
    "array": ["x", 1, {}, True],
    "object": ["x", 1, [], True],
}


def json_values(schema: dict[str, Any], current: Any) -> list[Any]:
    inner, _ = without_null(schema)
    kind = inner.get("type", "string")
    values: list[Any] = [None, *LITERALS, *HUGE, *WRONG_TYPES.get(kind, [])]
    if kind == "string":
        values += ["", "x" * 10_000, "x" * ONE_MIB_ISH, *CONTROL, *SURROGATES, *ODD_TEXT]
        values += ["x" * (inner["maxLength"] + 1)] if "maxLength" in inner else []
        values += ["not-a-uuid", "00000000-0000-0000-0000-00000000000g"] if inner.get("format") == "uuid" else []
        values += ["NOT_A_VALUE", str(inner["enum"][0]).upper()] if "enum" in inner else []
    if kind == "integer":
        values += [inner.get("minimum", 0) - 1, inner.get("maximum", 10**20) + 1]
    if kind == "array":
        # 300 lines stay within the body's member limit; longer lists are refused whole (oversized_json below).
        values += [[], [current[0]] * (inner.get("maxItems", 0) + 1), [current[0]] * 300]
    return values


def text_values() -> list[str]:
    return ["", "x" * 10_000, "x" * ONE_MIB_ISH, *CONTROL, *ODD_TEXT, "%", "%G0"]


def refused_by_document(schema: dict[str, Any], value: Any) -> bool:
    """True when the document itself says the value is invalid (so the answer must be a 422)."""
    inner, nullable = without_null(schema)
    if isinstance(value, Raw):
        return True
    if value is None:
        return not nullable
    kind = inner.get("type", "string")
    expected = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}[kind]
    if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
        return True  # JSON integers only: 1.0 counts as a float here, as the service reads it
    if kind == "integer":
        return not inner.get("minimum", -(10**40)) <= value <= inner.get("maximum", 10**40)
    if kind == "array":
        return not inner.get("minItems", 0) <= len(value) <= inner.get("maxItems", 10**9)
    if kind == "string":
        return _text_refused(inner, value) or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    return False


def _text_refused(schema: dict[str, Any], value: str) -> bool:
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9):
        return True
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return True
    if "enum" in schema and value not in schema["enum"]:
        return True
    if schema.get("format") == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return True
    if schema.get("type") == "integer":
        if not re.fullmatch(r"[+-]?\d{1,30}", value.strip()):
            return True
        return not schema.get("minimum", -(10**40)) <= int(value) <= schema.get("maximum", 10**40)
    return False


def with_value(body: dict[str, Any], loc: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target: Any = changed
    for key in loc[:-1]:
        target = target[key]
    target[loc[-1]] = value
    return changed


def dumps(body: Any) -> bytes:
    """JSON with Raw literals spliced in; lone surrogates are written as \\u escapes."""
    raws: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            token = f"raw-{uuid.uuid4().hex}"
            raws[token] = value.text
            return token
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body))
    for token, literal in raws.items():
        text = text.replace(f'"{token}"', literal)
    return text.encode()


def value_at(body: Any, loc: tuple[Any, ...]) -> Any:
    for key in loc:
        body = body[key] if isinstance(body, list) else (body or {}).get(key)
    return body


# --- sending and judging --------------------------------------------------------------------------


class Hostile:
    """Sends hostile requests and collects every broken promise, so that one run shows them all."""

    def __init__(self, client: AsyncClient, app: FastAPI, world: World) -> None:
        self.client, self.app, self.world = client, app, world
        self.failures: list[str] = []
        self.counts: Counter[str] = Counter()

    async def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, so that an UPDATE shows as well as an INSERT or a DELETE."""
        async with self.app.state.container.session_factory() as session:
            return {
                table.name: sorted((tuple(row) for row in (await session.execute(select(table))).all()), key=repr)
                for table in Base.metadata.sorted_tables
            }

    async def unchanged(self, before: dict[str, list[tuple[Any, ...]]], what: str) -> None:
        after = await self.rows()
        changed = sorted(name for name in after if after[name] != before[name])
        if changed:
            self.failures.append(f"{what}: refused requests changed the tables {changed}")

    async def send(
        self,
        op: Operation,
        kind: str,
        label: str,
        *,
        url: str | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        headers: list[tuple[str, str | bytes]] | None = None,
        expect: set[int] | None = None,
        loc: tuple[Any, ...] | None = None,
        token: str | None = None,
        routed: bool = True,
    ) -> None:
        """`loc`: the document refuses what was sent there, so the answer must be a 422 naming it."""
        self.counts[kind] += 1
        all_headers: list[tuple[str, str | bytes]] = [
            ("authorization", f"Bearer {token or self.world.admin.access_token}")
        ]
        all_headers += [("content-type", content_type)] if content_type else []
        all_headers += headers or []
        response = await self.client.request(
            op.method,
            url or self.url(op),
            content=content,
            headers=all_headers,  # type: ignore[arg-type]
        )
        problem = self.judge(op, response, expect=expect, loc=loc, routed=routed)
        if problem:
            self.failures.append(f"{op.key} [{kind}: {label[:80]!r}] -> {response.status_code}: {problem}")

    def judge(
        self, op: Operation, response: Any, *, expect: set[int] | None, loc: tuple[Any, ...] | None, routed: bool
    ) -> str | None:
        status = response.status_code
        if status >= 500:
            return "a server error"
        if status >= 400:
            if not response.headers.get("content-type", "").startswith("application/problem+json"):
                return f"not problem+json: {response.headers.get('content-type')}"
            body = response.json()
            if body.get("status") != status or body.get("request_id") != response.headers.get("x-request-id"):
                return f"a malformed problem: {body}"
        if routed and status not in op.declared:
            return f"undeclared status (declared: {sorted(op.declared)})"
        if expect is not None and status not in expect:
            return f"expected {sorted(expect)}: {response.text[:300]}"
        if loc is not None:
            if status != 422:
                return f"expected a 422 at {list(loc)}: {response.text[:300]}"
            errors = response.json()["errors"]
            if not any(e["loc"][: len(loc)] == list(loc) for e in errors):
                return f"no error at {list(loc)}: {errors}"
        return None

    def url(self, op: Operation, *, path: dict[str, str] | None = None, query: str = "") -> str:
        values = {**baselines(self.world)[op.key].path, **(path or {})}
        url = op.path
        for name, value in values.items():
            url = url.replace("{" + name + "}", value)
        return f"{url}?{query}" if query else url

    async def fresh_token(self) -> str:
        admin = self.world.admin
        return str((await login(self.client, admin.email, admin.password))["access_token"])


@pytest.fixture
async def world(client: AsyncClient, admin: Account, customer: Account) -> World:
    product = await make_product(client, admin)
    order = await place_ok(client, customer, (product["id"], 1))
    return World(admin=admin, customer=customer, product_id=product["id"], order_id=order["id"])


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest, database: Any) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    if counts:
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        _report(request, f"hostile inputs on {database.backend}: {sum(counts.values())} requests ({detail})")


def _report(request: pytest.FixtureRequest, line: str) -> None:
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\n{line}")


@pytest.fixture
async def hostile(client: AsyncClient, app: FastAPI, world: World, tally: Counter[str]) -> AsyncIterator[Hostile]:
    sender = Hostile(client, app, world)
    yield sender
    tally.update(sender.counts)
    assert not sender.failures, f"{len(sender.failures)} broken promises:\n" + "\n".join(sender.failures[:60])


def document_operations(app: FastAPI) -> list[Operation]:
    return operations(app.openapi())


# --- the tests ------------------------------------------------------------------------------------


async def test_every_operation_has_a_baseline(app: FastAPI, world: World) -> None:
    assert {op.key for op in document_operations(app)} == set(baselines(world))


def test_every_route_with_a_body_reads_json_strictly(app: FastAPI) -> None:
    lax = [
        route.path
        for context in iter_route_contexts(app.routes)
        if isinstance(route := context.original_route, APIRoute) and route.body_field is not None
        if not isinstance(route, StrictJSONRoute)
    ]
    assert not lax, f"routers with bodies must use route_class=StrictJSONRoute: {lax}"


async def test_hostile_body_fields(app: FastAPI, world: World, hostile: Hostile) -> None:
    for op in document_operations(app):
        if op.media_type is None:
            continue
        base = baselines(world)[op.key]
        assert base.body is not None, op.key
        refused, legal = field_cases(op, base.body)
        before = await hostile.rows()
        for label, content, where in refused:
            await hostile.send(op, "body field", label, content=content, content_type=op.media_type, loc=where)
        await hostile.unchanged(before, op.key)
        # Odd but valid values (control characters in a password, SQL in a name) may be taken: no 5xx.
        for label, content in legal:
            token = await hostile.fresh_token() if base.ends_session else None
            await hostile.send(op, "body field", label, content=content, content_type=op.media_type, token=token)


def field_cases(
    op: Operation, base: dict[str, Any]
) -> tuple[list[tuple[str, bytes, tuple[Any, ...]]], list[tuple[str, bytes]]]:
    """(refused: label, body, where the 422 must point), (valid by the document: label, body)."""
    refused: list[tuple[str, bytes, tuple[Any, ...]]] = []
    legal: list[tuple[str, bytes]] = []
    schema = op.body_schema()
    for loc, field_schema in body_slots(schema):
        if op.media_type == FORM:
            for text in text_values():
                # A form has no null and no empty value: an empty field is an absent one.
                absent_but_required = not text and loc[-1] in schema.get("required", [])
                content = _form(with_value(base, loc, text))
                if absent_but_required or (text and _text_refused(without_null(field_schema)[0], text)):
                    refused.append((f"{loc}={text[:40]!r}", content, ("body", *loc)))
                else:
                    legal.append((f"{loc}={text[:40]!r}", content))
            continue
        for value in json_values(field_schema, value_at(base, loc)):
            content, label = dumps(with_value(base, loc, value)), f"{loc}={str(value)[:40]!r}"
            if refused_by_document(field_schema, value):
                # A literal that JSON itself refuses (NaN, 1e309) is reported where parsing stopped.
                refused.append((label, content, ("body",) if isinstance(value, Raw) else ("body", *loc)))
            else:
                legal.append((label, content))
    return refused, legal


def _form(body: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode(body).encode()


QUERY_TEXT = [urllib.parse.quote(text, safe="") for text in text_values() if len(text) <= 10_000]
QUERY_RAW = ["%FF%FE", "%ED%A0%80", "%00", "%G0", "%", "-1", "0", "1e3", "1.5", "NaN", "Infinity", "9" * 50, "0x10"]
QUERY_DATES = [
    "1700000000",
    "2026-02-30",
    "2026-11-26T25:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
]


async def test_hostile_query_parameters(app: FastAPI, hostile: Hostile) -> None:
    before = await hostile.rows()
    for op in document_operations(app):
        for name, schema in op.parameters("query"):
            inner, _ = without_null(schema)
            dates = [urllib.parse.quote(d, safe="") for d in QUERY_DATES] if inner.get("format") == "date-time" else []
            for raw in [*QUERY_TEXT, *QUERY_RAW, *dates]:
                text = urllib.parse.unquote(raw, errors="replace")
                refused = inner.get("format") == "date-time" or _text_refused(inner, text)
                url = hostile.url(op, query=f"{name}={raw}")
                await hostile.send(
                    op, "query parameter", f"{name}={raw}", url=url, loc=("query", name) if refused else None
                )
            # Repeated parameters: the last one counts, like any other value.
            await hostile.send(
                op, "query parameter", f"{name} twice", url=hostile.url(op, query=f"{name}=1&{name}=%00")
            )
    await hostile.unchanged(before, "query parameters")


def path_values() -> list[str]:
    other = uuid.uuid4()
    return [
        "1", "0", "-1", "null", "undefined", "true", "1e309", "NaN", "%27%20OR%20%271%27%3D%271", "%00", "%FF%FE",
        "a" * 10_000, urllib.parse.quote("\U0001f600"), "00000000-0000-0000-0000-00000000000g", "%2E%2E",
        "..%2F..%2Fetc%2Fpasswd", str(other).upper(), other.hex, "{" + str(other) + "}", f"urn:uuid:{other}",
    ]  # fmt: skip


async def test_hostile_path_parameters(app: FastAPI, hostile: Hostile, world: World) -> None:
    before = await hostile.rows()
    for op in document_operations(app):
        base = baselines(world)[op.key]
        content = dumps(base.body) if op.media_type == JSON else None
        for name, _ in op.parameters("path"):
            for raw in path_values():
                text = urllib.parse.unquote(raw, errors="replace")
                url = hostile.url(op, path={name: raw})
                if "/" in text:  # no longer this route: a plain 404 or 405
                    await hostile.send(
                        op,
                        "path parameter",
                        raw,
                        url=url,
                        content=content,
                        content_type=JSON,
                        expect={404, 405},
                        routed=False,
                    )
                elif _is_uuid(text):  # a well-formed id of nothing
                    await hostile.send(
                        op, "path parameter", raw, url=url, content=content, content_type=JSON, expect={404, 422}
                    )
                else:
                    await hostile.send(
                        op, "path parameter", raw, url=url, content=content, content_type=JSON, loc=("path", name)
                    )
    await hostile.unchanged(before, "path parameters")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


HEADER_VALUES: list[str | bytes] = ["k" * 256, "k" * 10_000, "", "k\x01", "\x7f", b"\xff\xfe", "caf\u00e9".encode()]


async def test_hostile_header_parameters(app: FastAPI, world: World, hostile: Hostile) -> None:
    before = await hostile.rows()
    for op in document_operations(app):
        base = baselines(world)[op.key]
        for name, _ in op.parameters("header"):
            for value in HEADER_VALUES:
                await hostile.send(
                    op, "header", repr(value), content=dumps(base.body), content_type=JSON,
                    headers=[(name, value)], loc=("header", name),
                )  # fmt: skip
    await hostile.unchanged(before, "header parameters")


def malformed_json(body: dict[str, Any]) -> list[tuple[str, bytes, str | None, set[int]]]:
    text = json.dumps(body)
    first = next(iter(body))
    duplicate = text[:-1] + f", {json.dumps(first)}: {json.dumps(body[first])}}}"
    multipart = b'--hostile\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--hostile--\r\n'
    return [
        ("not UTF-8", b'{"x": "\xff\xfe\xfd"}', JSON, {400}),
        ("UTF-16", text.encode("utf-16"), JSON, {400}),
        ("10 000 nested arrays", b"[" * 10_000 + b"]" * 10_000, JSON, {400}),
        ("10 000 nested objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, JSON, {400}),
        ("500 nested arrays", b"[" * 500 + b"]" * 500, JSON, {422}),
        ("a duplicate name", duplicate.encode(), JSON, {422}),
        ("empty", b"", JSON, {422}),
        ("whitespace only", b" \n\t ", JSON, {422}),
        ("truncated", text[:-1].encode(), JSON, {422}),
        ("trailing garbage", (text + "}").encode(), JSON, {422}),
        ("two documents", (text + text).encode(), JSON, {422}),
        ("single quotes", text.replace('"', "'").encode(), JSON, {422}),
        ("a comment", (text[:-1] + " /* hi */}").encode(), JSON, {422}),
        ("a top-level array", f"[{text}]".encode(), JSON, {422}),
        ("a top-level string", b'"x"', JSON, {422}),
        ("a top-level null", b"null", JSON, {422}),
        ("a top-level NaN", b"NaN", JSON, {422}),
        ("a top-level 1e309", b"1e309", JSON, {422}),
        ("JSON as text/plain", text.encode(), "text/plain", {422}),
        ("a form", b"a=b&c=d", FORM, {422}),
        ("multipart", multipart, "multipart/form-data; boundary=hostile", {422}),
        ("multipart without a boundary", multipart, "multipart/form-data", {422}),
        ("XML", b"<a>b</a>", "application/xml", {422}),
        ("JSON without a content type", text.encode(), None, {422}),
        ("over 1 MiB", b" " * (MAX_BODY_BYTES + 1), JSON, {413}),
    ]


async def test_malformed_json_bodies(app: FastAPI, world: World, hostile: Hostile) -> None:
    before = await hostile.rows()
    for op in document_operations(app):
        base = baselines(world)[op.key]
        if op.media_type != JSON or base.body is None:
            continue
        for label, content, content_type, expect in malformed_json(base.body):
            await hostile.send(op, "whole body", label, content=content, content_type=content_type, expect=expect)
        await hostile.send(op, "whole body", "chunked, over 1 MiB", content=_chunked(), content_type=JSON, expect={413})  # type: ignore[arg-type]
    await hostile.unchanged(before, "malformed JSON bodies")


def _members(count: int) -> dict[str, int]:
    return {f"m{i}": i for i in range(count)}


def oversized_json(body: dict[str, Any]) -> list[tuple[str, bytes, str | None]]:
    """Bodies refused as a whole before validation (422 `json_invalid`, the message saying why)."""
    nested = {**body, next(iter(body)): {"deep": [_members(257)]}}
    return [
        ("257 members", dumps(_members(257)), "more than 256 members"),
        ("257 members, nested in a list in a member", dumps(nested), "more than 256 members"),
        ("5 objects of 250 members", dumps({**body, "x": [_members(250)] * 5}), "more than 1024 members in all"),
        ("10,001 values", dumps({**body, "x": list(range(10_001))}), "more than 10000 values"),
        ("60,000 members", dumps(_members(60_000)), "more than 10000 values"),
    ]


async def test_oversized_json_is_refused_before_validation_and_errors_are_capped(
    app: FastAPI, world: World, hostile: Hostile
) -> None:
    """No body costs more than a few milliseconds to refuse: its size decides before pydantic sees it, and a 422
    lists at most 50 errors (scripts/body_cost.py measures the worst of each kind)."""
    before = await hostile.rows()
    headers = {"Authorization": f"Bearer {world.admin.access_token}", "Content-Type": JSON}
    for op in document_operations(app):
        base = baselines(world)[op.key]
        if op.media_type != JSON or base.body is None:
            continue
        for label, content, why in oversized_json(base.body):
            response = await hostile.client.request(op.method, hostile.url(op), content=content, headers=headers)
            errors = response.json().get("errors", [])
            if response.status_code != 422 or [e["type"] for e in errors] != ["json_invalid"] or why not in str(errors):
                hostile.failures.append(f"{op.key} [{label}] -> {response.status_code}: {response.text[:200]}")
        # Unknown members within the limit go through to validation: 250 errors, of which 50 are listed.
        response = await hostile.client.request(
            op.method, hostile.url(op), content=dumps({**base.body, **_members(250)}), headers=headers
        )
        if response.status_code != 422 or len(response.json()["errors"]) != 50:
            hostile.failures.append(f"{op.key} [250 unknown members] -> {response.status_code}: {response.text[:200]}")
    await hostile.unchanged(before, "oversized JSON bodies")


async def _chunked() -> AsyncIterator[bytes]:
    for _ in range(17):
        yield b" " * 65536


async def test_malformed_login_forms(app: FastAPI, hostile: Hostile) -> None:
    [op] = [op for op in document_operations(app) if op.key == "POST /auth/login"]
    cut_multipart = b'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na'
    cases: list[tuple[str, bytes, str | None, set[int]]] = [
        ("JSON instead of a form", b'{"username": "a@example.com", "password": "x"}', JSON, {422}),
        ("a form as text/plain", b"username=a&password=b", "text/plain", {422}),
        ("multipart without a boundary", b"--x\r\n", "multipart/form-data", {400}),
        ("multipart cut short", cut_multipart, "multipart/form-data; boundary=x", {422}),
        ("a form that is not UTF-8", b"username=\xff\xfe%40x&password=\xfd", FORM, {401}),
        ("duplicate fields", b"username=a%40x.io&username=b&password=p&password=q", FORM, {401}),
        ("an empty form", b"", FORM, {422}),
        ("no content type", b"username=a&password=b", None, {422}),
        ("2000 fields", "&".join(f"f{i}=x" for i in range(2000)).encode() + b"&username=a&password=b", FORM, {400}),
        ("over 1 MiB", b"username=" + b"x" * MAX_BODY_BYTES, FORM, {413}),
    ]
    before = await hostile.rows()
    for label, content, content_type, expect in cases:
        await hostile.send(op, "whole body", label, content=content, content_type=content_type, expect=expect)
    await hostile.unchanged(before, "malformed login forms")


async def test_hostile_authorization_and_request_id_headers(app: FastAPI, world: World, hostile: Hostile) -> None:
    [me] = [op for op in document_operations(app) if op.key == "GET /users/me"]
    token = world.admin.access_token
    for value in [
        "Bearer " + "a" * 10_000, b"Bearer \xff\xfe", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", token,
        f"Bearer {token} extra", f"Bearer {world.admin.refresh_token}", f"Bearer {token[:-3]}",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "Bearer \x00",
    ]:  # fmt: skip
        hostile.counts["header"] += 1
        response = await hostile.client.get("/users/me", headers=[("authorization", value)])  # type: ignore[list-item]
        problem = hostile.judge(me, response, expect={401}, loc=None, routed=True)
        if problem or response.headers.get("www-authenticate") != "Bearer":
            hostile.failures.append(f"Authorization {str(value)[:40]!r} -> {response.status_code}: {problem}")
    for value in ["r" * 10_000, "\x00", "a b"]:
        hostile.counts["header"] += 1
        response = await hostile.client.get("/health/live", headers={"X-Request-ID": value})
        if response.status_code != 200 or not re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]):
            hostile.failures.append(f"X-Request-ID {value[:20]!r} -> {response.status_code}")
