"""The OpenAPI document, completed so that it declares every response a route can give.

Error responses are `application/problem+json` with the `Problem` schema; every operation that reads
the database may answer 503, and every operation with a body may answer 413.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_PROBLEM_REF = "#/components/schemas/Problem"
_PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": _PROBLEM_REF}}}
_WITHOUT_DATABASE = {"/health/live", "/health/ready", "/metrics"}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    _complete(path, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if int(status) >= 400 and _is_problem(response):
            response["content"] = dict(_PROBLEM_CONTENT)
    if "requestBody" in operation:
        responses.setdefault("413", {"description": "Body too large", "content": dict(_PROBLEM_CONTENT)})
    if path not in _WITHOUT_DATABASE:
        responses.setdefault(
            "503", {"description": "The database is unavailable", "content": dict(_PROBLEM_CONTENT)}
        )


def _is_problem(response: dict[str, Any]) -> bool:
    return any(
        media.get("schema", {}).get("$ref") == _PROBLEM_REF for media in response.get("content", {}).values()
    )
