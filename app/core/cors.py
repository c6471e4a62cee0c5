"""CORS for browser clients on other origins, with Starlette's middleware, configured from `CORS_ORIGINS`.

Bearer tokens only: credentials (cookies) are never allowed, so no origin can make a browser send them.
"""

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from app.core.errors import problem_response

ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE")
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
EXPOSED_HEADERS = ("X-Request-ID", "Retry-After", "Idempotent-Replayed")
PREFLIGHT_MAX_AGE_SECONDS = 600


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware, but a refused preflight is a problem+json 400 like every other error."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith(("access-control-", "vary"))}
        return problem_response(400, f"The CORS preflight was refused: {refused} not allowed.", headers=headers)


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Answer preflights and label responses for the listed origins; nothing at all when there are none."""
    if not origins:
        return
    app.add_middleware(
        ProblemCORSMiddleware,
        allow_origins=list(origins),
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_SECONDS,
    )
