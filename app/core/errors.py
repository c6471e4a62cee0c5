"""Domain errors and the one place that turns every error into RFC 9457 problem+json.

Services raise the `AppError` subclasses below as plain Python exceptions; only the
handlers registered here know about HTTP.
"""

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.context import request_id_var

PROBLEM_JSON = "application/problem+json"
MAX_ERRORS = 50  # a 422 lists at most this many: its size must not grow with the request's
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
logger = logging.getLogger("app.errors")

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class AppError(Exception):
    status = 500
    slug = "internal-server-error"
    title = "Internal server error"

    def __init__(self, detail: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})

    def extra(self) -> dict[str, Any]:
        return {}


class BadRequestError(AppError):
    status, slug, title = 400, "bad-request", "Bad request"


class AuthenticationError(AppError):
    status, slug, title = 401, "not-authenticated", "Not authenticated"

    def __init__(self, detail: str = "Could not validate credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class PermissionDeniedError(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFoundError(AppError):
    status, slug, title = 404, "not-found", "Not found"


class ConflictError(AppError):
    """A 409; `errors` names the parts of the request in conflict, `allowed` what the state would allow."""

    status, slug, title = 409, "conflict", "Conflict"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self._extra: dict[str, Any] = {}
        if errors:
            self._extra["errors"] = [dict(error) for error in errors]
        if allowed is not None:
            self._extra["allowed"] = list(allowed)

    def extra(self) -> dict[str, Any]:
        return self._extra


class InvalidInputError(AppError):
    """A business-rule 422: the body parsed, but names something that cannot be used."""

    status, slug, title = 422, "validation-failed", "Validation failed"

    def __init__(self, detail: str, *, loc: Sequence[str | int], error_type: str) -> None:
        super().__init__(detail)
        self.errors = [{"loc": list(loc), "msg": detail, "type": error_type}]

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class RateLimitedError(AppError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class MailUnavailableError(AppError):
    """A route that must send mail, on a service that has no mail server configured (production without SMTP)."""

    status, slug, title = 503, "mail-unavailable", "Mail unavailable"


class OverloadedError(AppError):
    """A 503: this worker takes no more of some costly work now (password hashing); nothing was changed."""

    status, slug, title = 503, "service-unavailable", "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class DatabaseUnavailableError(Exception):
    """The database could not answer (refused, cut, timed out); raised from the driver's error, kept as the cause."""


class CommitOutcomeUnknownError(Exception):
    """The connection broke while a transaction was committing: it may have committed or not, nobody here knows.

    Raised from the driver's error, kept as the cause."""


OUTCOME_UNKNOWN_DETAIL = (
    "The connection to the database was lost while the change was being committed, so whether it was saved is "
    "unknown. Retry with the same Idempotency-Key, or check whether it took effect before trying again."
)


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:problem-type:{slug or _default_slug(status)}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    body.update(extra or {})
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _default_slug(status: int) -> str:
    return _TITLES.get(status, "error").lower().replace(" ", "-")


def validation_errors(raw: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors without `input`, `ctx` and `url`: the input may be a password."""
    return [{"loc": list(err.get("loc", ())), "msg": _message(err), "type": str(err.get("type", ""))} for err in raw]


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", ""))
    ctx = err.get("ctx")
    # A JSON syntax error says what was expected ("Expecting ',' delimiter"), never what was sent.
    if err.get("type") == "json_invalid" and isinstance(ctx, Mapping) and isinstance(ctx.get("error"), str):
        return f"{msg}: {ctx['error']}"
    return msg


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    exc = cast(AppError, exc)
    return problem_response(
        exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=exc.headers, extra=exc.extra()
    )


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    errors = validation_errors(cast(RequestValidationError, exc).errors()[:MAX_ERRORS])
    return problem_response(422, "The request is not valid.", slug="validation-failed", extra={"errors": errors})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(StarletteHTTPException, exc)
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and "Allow" in headers:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, detail, headers=headers)


def _allowed_methods(request: Request) -> str:
    # The router names only the first route that matched the path, but one path often has
    # several (GET and PATCH /users/me), and Allow must list them all.
    probe = {key: request.scope[key] for key in ("type", "path", "root_path") if key in request.scope}
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**probe, "method": method})[0] == Match.FULL for route in request.app.router.routes)
    ]
    return ", ".join(allowed)


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # The driver's error class and SQLSTATE say why (refused, too many clients, statement timeout)
    # without the message, which may quote statement values.
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    logger.warning(
        "database unavailable: %s",
        type(exc).__name__,
        extra={"cause": type(cause).__name__, "sqlstate": getattr(cause, "sqlstate", None)},
    )
    return problem_response(
        503, "The database is unavailable; nothing was changed. Try again shortly.", headers={"Retry-After": "5"}
    )


async def _outcome_unknown(_: Request, exc: Exception) -> JSONResponse:
    cause = exc.__cause__ or exc
    logger.warning(
        "database connection lost during commit; outcome unknown",
        extra={"cause": type(cause).__name__, "sqlstate": getattr(getattr(cause, "orig", None), "sqlstate", None)},
    )
    return problem_response(
        503, OUTCOME_UNKNOWN_DETAIL, slug="outcome-unknown", title="Outcome unknown", headers={"Retry-After": "5"}
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(CommitOutcomeUnknownError, _outcome_unknown)
    # Connection failures, pool exhaustion and statement timeouts: the dependency is down or
    # overloaded, not the request at fault. Anything else unexpected becomes a 500 in the
    # request middleware, which also logs it.
    for error in (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
        ConnectionError,
        DatabaseUnavailableError,
    ):
        app.add_exception_handler(error, _database_unavailable)
