"""Swagger UI served from the service itself, with its assets from the `fastapi-offline` package.

The page's one inline script is allowed by its hash, so the documentation pages run under a
Content-Security-Policy without 'unsafe-inline' scripts.
"""

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/docs-static"
_ASSETS = Path(fastapi_offline.__file__).parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def install_docs(app: FastAPI) -> str:
    """Serve /docs and its assets; returns the CSP those pages need."""
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_js_url=f"{STATIC_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_URL}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_URL}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": True},
    ).body
    redirect = get_swagger_ui_oauth2_redirect_html().body
    html = bytes(page).decode()
    hashes = {_sha256(s) for s in _INLINE_SCRIPT.findall(html) + _INLINE_SCRIPT.findall(bytes(redirect).decode())}

    app.mount(STATIC_URL, StaticFiles(directory=_ASSETS), name="docs-static")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(html)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return HTMLResponse(bytes(redirect).decode())

    script_src = " ".join(f"'sha256-{h}'" for h in sorted(hashes))
    return (
        "default-src 'none'; "
        f"script-src 'self' {script_src}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def _sha256(script: str) -> str:
    return base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
