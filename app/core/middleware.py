"""The request envelope: request id, body limit, hardening headers, access log, metrics, crash guard.

A single pure-ASGI middleware, so every request pays for one wrapper, not a stack of them.
"""

import logging
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import request_id_var, user_id_var
from app.core.errors import problem_response
from app.core.metrics import observe_request

MAX_BODY_BYTES = 1024 * 1024
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"

SECURITY_HEADERS: Mapping[bytes, bytes] = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
    b"cache-control": b"no-store",
    # Browsers honour it only over HTTPS (behind the TLS-terminating proxy), so plain-HTTP development is unaffected.
    b"strict-transport-security": b"max-age=63072000; includeSubDomains",
}

access_log = logging.getLogger("app.access")


class RequestEnvelopeMiddleware:
    """`page_csps` pairs path prefixes with the Content-Security-Policy of the HTML pages served under them
    (Swagger UI, the dashboard); every other path gets the API's locked-down policy."""

    def __init__(self, app: ASGIApp, *, page_csps: Sequence[tuple[tuple[str, ...], str]] = ()) -> None:
        self.app = app
        self.page_csps = [(prefixes, csp.encode()) for prefixes, csp in page_csps]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, send, csp=_content_security_policy(scope["path"], self.page_csps))
        request_id_token, user_id_token = request_id_var.set(exchange.request_id), user_id_var.set(None)
        try:
            await exchange.serve(self.app, receive)
        finally:
            exchange.record()
            user_id_var.reset(user_id_token)
            request_id_var.reset(request_id_token)


class _Exchange:
    """One request and its response, as the envelope sees them."""

    def __init__(self, scope: Scope, send: Send, *, csp: bytes) -> None:
        self.scope = scope
        self.request_id = _request_id(scope)
        self._send = send
        self._csp = csp
        self._started = time.perf_counter()
        self.status = 500
        self.responded = False

    async def send(self, message: Message) -> None:
        """Pass the response on, with the hardening headers, the CSP and the request id added."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.responded = True
            headers = [(k, v) for k, v in message.get("headers", []) if k not in SECURITY_HEADERS]
            headers.extend(SECURITY_HEADERS.items())
            headers.append((b"content-security-policy", self._csp))
            headers.append((b"x-request-id", self.request_id.encode()))
            message["headers"] = headers
        await self._send(message)

    async def serve(self, app: ASGIApp, receive: Receive) -> None:
        """Refuse a body declared too large, count one streamed past the limit, and turn a crash into a 500."""
        try:
            if _declared_length(self.scope) > MAX_BODY_BYTES:
                await _too_large()(self.scope, receive, self.send)
            else:
                await app(self.scope, _limited(receive), self.send)
        except Exception:  # noqa: BLE001 - the last line of defence: log it, answer a bland 500
            access_log.exception("unhandled error")
            if not self.responded:
                await problem_response(500, "An unexpected error occurred.")(self.scope, receive, self.send)

    def record(self) -> None:
        """The request's metrics and its one access log line (no body, no query string, no token)."""
        elapsed = time.perf_counter() - self._started
        route = _route_template(self.scope)
        observe_request(self.scope["method"], route, self.status, elapsed)
        access_log.info(
            "request",
            extra={
                "method": self.scope["method"],
                "route": route,
                "status": self.status,
                "duration_ms": round(elapsed * 1000, 2),
                "user_id": user_id_var.get(),
            },
        )


def _content_security_policy(path: str, page_csps: Sequence[tuple[tuple[str, ...], bytes]]) -> bytes:
    for prefixes, csp in page_csps:
        if path.startswith(prefixes):
            return csp
    return _API_CSP


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _declared_length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _too_large() -> Any:
    return problem_response(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.")


def _limited(receive: Receive) -> Receive:
    """Count streamed (chunked) bodies too; FastAPI turns the HTTPException into a 413 problem."""
    received = 0

    async def wrapper() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise HTTPException(413, f"The request body exceeds {MAX_BODY_BYTES} bytes.")
        return message

    return wrapper


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path is not None else "<unmatched>"
