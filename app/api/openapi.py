"""The OpenAPI document, in one place: what each route declares, and what every route may answer besides.

Routes declare the problems their own rules give with `problem_responses(...)`. `install_openapi` completes the
document: error responses are `application/problem+json` with the `Problem` schema; every operation that
reaches a service (and so the database) may answer 503, every operation may answer 413 (a body over the limit,
sent even where none is expected), and every operation with a body may answer 400 (bytes that cannot be
decoded). Every response declares `X-Request-ID`; 401s `WWW-Authenticate`, 429s and 503 problems
`Retry-After`. Routes where the token is optional (the public catalogue) say so with an empty security
requirement.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.deps import SERVICE_PROVIDERS, get_optional_caller
from app.schemas.common import Problem

_PROBLEM_REF = "#/components/schemas/Problem"
_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": _PROBLEM_REF}}}
_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests",
    503: "A dependency is unavailable",
}


_STRING = {"schema": {"type": "string"}, "required": True}
_REQUEST_ID = {"X-Request-ID": {"description": "The caller's sane id, else a new one; also in error bodies", **_STRING}}
_STATUS_HEADERS = {
    "401": {"WWW-Authenticate": {"description": "Always `Bearer`", **_STRING}},
    "429": {"Retry-After": {"description": "Seconds until a retry can succeed", **_STRING}},
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying", **_STRING}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problem+json bodies its own rules may answer with."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            optional_auth = _operations_depending_on(app, {get_optional_caller})
            # Whatever reaches a service may find the database unavailable.
            uses_database = _operations_depending_on(app, SERVICE_PROVIDERS)
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _complete(operation, database=(path, method.upper()) in uses_database)
                    if (path, method.upper()) in optional_auth:
                        # The token is optional here: anonymous callers are served too.
                        operation["security"] = [{}, *operation.get("security", [])]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(operation: dict[str, Any], *, database: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        responses.setdefault("400", {"description": "Body not decodable", "content": dict(_PROBLEM_CONTENT)})
    # The request envelope refuses any body over the limit, whatever the route, before it is read.
    responses.setdefault("413", {"description": "Body too large", "content": dict(_PROBLEM_CONTENT)})
    if database:
        responses.setdefault("503", {"description": "The database is unavailable", "content": dict(_PROBLEM_CONTENT)})
    for status, response in responses.items():
        headers = {**_REQUEST_ID, **_STATUS_HEADERS.get(status, {})}
        if int(status) >= 400 and _is_problem(response):
            response["content"] = dict(_PROBLEM_CONTENT)
            if status == "503":
                headers.update(_RETRY_AFTER)
        response["headers"] = {**response.get("headers", {}), **headers}


def _is_problem(response: dict[str, Any]) -> bool:
    return any(media.get("schema", {}).get("$ref") == _PROBLEM_REF for media in response.get("content", {}).values())


def _operations_depending_on(app: FastAPI, targets: set[Callable[..., Any]]) -> set[tuple[str, str]]:
    """(path, method) of every operation whose dependencies reach one of `targets`."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and _depends_on(route.dependant, targets):
            found.update((route.path_format, method) for method in route.methods or ())
    return found


def _depends_on(dependant: Dependant, targets: set[Callable[..., Any]]) -> bool:
    return any(sub.call in targets or _depends_on(sub, targets) for sub in dependant.dependencies)
