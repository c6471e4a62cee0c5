"""The admin dashboard at /admin: one HTML page and its static assets, served as files.

The page signs in and reads everything through the public API with a bearer token, so nothing here
touches data. Its Content-Security-Policy allows only the service's own scripts and styles.
"""

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

DASHBOARD_URL = "/admin"
ASSETS_URL = "/admin/static"
_PAGES = Path(__file__).resolve().parent.parent / "dashboard"

DASHBOARD_CSP = (
    "default-src 'none'; "
    "script-src 'self'; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    # The sign-in form is handled by the script; without it, the form must not send the password anywhere.
    "form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get(DASHBOARD_URL, response_class=FileResponse)
async def get_dashboard() -> FileResponse:
    """The dashboard page; its script signs the admin in and calls the API."""
    return FileResponse(_PAGES / "index.html", media_type="text/html; charset=utf-8")


def install_dashboard(app: FastAPI) -> str:
    """Serve /admin and its assets; returns the CSP those pages need."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=_PAGES / "static"), name="dashboard-static")
    return DASHBOARD_CSP
