"""The OpenAPI document, in one place: what each route declares, and what every route may answer besides.

Routes declare a sentence as their `summary` (the docstring becomes the description) and the problems their own
rules give with `problem_responses(...)`; app/schemas/examples.py gives an example for each body and answer model,
which `install_openapi` puts on every operation using that model, and a form, which has no model of its own, names
its example on the route with `form_example(...)`. Operation ids are the route functions' names (`operation_id`),
and every tag is described in `TAGS`; tests/unit/test_openapi_document.py holds the document to all of that.
`install_openapi` completes the document: error responses are `application/problem+json` with the `Problem` schema;
every operation that reaches a service (and so the database) may answer 503, every operation may answer 413 (a body
over the limit, sent even where none is expected), and every operation with a body may answer 400 (bytes that cannot
be decoded). Every response declares `X-Request-ID`; 401s `WWW-Authenticate`, 429s and 503 problems `Retry-After`.
Routes where the token is optional (the public catalogue) say so with an empty security requirement.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.deps import SERVICE_PROVIDERS, get_optional_caller
from app.schemas import examples
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

TAGS: list[dict[str, Any]] = [
    {
        "name": "auth",
        "description": "Accounts and sessions: register, sign in with the OAuth2 password flow, renew the token "
        "pair and sign out. Access tokens are short-lived JWTs; refresh tokens are opaque and single-use.",
    },
    {"name": "users", "description": "The caller's own account; every account, for admins."},
    {
        "name": "products",
        "description": "The catalogue: anyone may read it (admins also see inactive products), admins change it. "
        "Prices are integer cents in the store currency.",
    },
    {
        "name": "orders",
        "description": "Placing orders (safe to retry with an `Idempotency-Key`), reading them, and moving them "
        "through pending → paid → shipped → delivered, or cancelled. Customers see only their own.",
    },
    {
        "name": "analytics",
        "description": "Sales reports for admins over a half-open range [start, end) of UTC time, computed by "
        "the database. Amounts are integer cents in the store currency.",
    },
    {
        "name": "operations",
        "description": "Liveness, readiness and Prometheus metrics; no user token needed (`/metrics` asks for "
        "`METRICS_TOKEN` as a bearer token when that is set).",
    },
]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problem+json bodies its own rules may answer with."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }


def form_example(example: dict[str, Any]) -> dict[str, Any]:
    """A route's `openapi_extra=`: the example of its form body (a form has no schema class to carry one)."""
    return {"requestBody": {"content": {"application/x-www-form-urlencoded": {"example": example}}}}


def operation_id(route: APIRoute) -> str:
    """The app's `generate_unique_id_function`: an operation is known by its route function's name (`place_order`),
    which is what generated clients call their methods."""
    return route.name


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes, tags=TAGS
            )
            optional_auth = _operations_depending_on(app, {get_optional_caller})
            # Whatever reaches a service may find the database unavailable.
            uses_database = _operations_depending_on(app, SERVICE_PROVIDERS)
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _complete(operation, database=(path, method.upper()) in uses_database)
                    if (path, method.upper()) in optional_auth:
                        # The token is optional here: anonymous callers are served too.
                        operation["security"] = [{}, *operation.get("security", [])]
            _add_examples(app, schema)
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


def _add_examples(app: FastAPI, schema: dict[str, Any]) -> None:
    """The example of each route's body and success answer, by model; an example the route gives itself stays.
    Added to the finished document, where FastAPI no longer drops nulls or pydantic sorts keys."""
    schema["components"]["schemas"]["Problem"]["examples"] = [examples.PROBLEM]
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        body: Any = route.body_field.field_info.annotation if route.body_field else None
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            _set_example(operation.get("requestBody", {}), examples.REQUESTS.get(body))
            answer = operation["responses"].get(str(route.status_code or 200), {})
            _set_example(answer, examples.RESPONSES.get(route.response_model))


def _set_example(part: dict[str, Any], example: dict[str, Any] | None) -> None:
    for media_type, media in part.get("content", {}).items():
        if example is not None and media_type.endswith("json") and "example" not in media and "examples" not in media:
            media["example"] = example


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
