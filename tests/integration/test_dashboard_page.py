"""GET /admin serves the dashboard from the service itself, under a CSP that forbids inline script and style.

What the page does is tested in a real browser (test_dashboard_browser.py); these checks need no browser.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

from httpx import AsyncClient

from app.api.dashboard import DASHBOARD_CSP

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "app" / "dashboard"
OWN_SCRIPTS = sorted((PAGES / "static").glob("*.js"))


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.inline_attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in attrs if name in {"src", "href", "action"} and value]
        self.inline_attributes += [name for name, _ in attrs if name == "style" or name.startswith("on")]
        if tag == "style":
            self.inline_attributes.append("<style>")
        self._in_script = tag == "script" and "src" not in found

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _page() -> _Page:
    page = _Page()
    page.feed((PAGES / "index.html").read_text())
    return page


async def test_the_dashboard_is_an_html_page_under_its_own_csp(client: AsyncClient) -> None:
    response = await client.get("/admin")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp == DASHBOARD_CSP
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_the_page_has_no_inline_script_or_style_and_loads_nothing_from_elsewhere() -> None:
    page = _page()
    assert page.inline_scripts == []
    assert page.inline_attributes == []
    for url in page.urls:
        assert url.startswith("/admin/static/") or url == "data:,", url


async def test_every_asset_the_page_names_is_served_with_its_type(client: AsyncClient) -> None:
    imported = {
        f"/admin/static/{name}"
        for script in OWN_SCRIPTS
        for name in re.findall(r'^import .* from "\./([\w.-]+)";$', script.read_text(), flags=re.MULTILINE)
    }
    assets = {url for url in _page().urls if url.startswith("/admin/static/")} | imported
    assert "/admin/static/vendor/chart.umd.min.js" in assets
    assert "/admin/static/revenue-chart.js" in imported
    for url in sorted(assets):
        response = await client.get(url)
        assert response.status_code == 200, url
        expected = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(expected), url
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_nothing_outside_the_assets_folder_is_served(client: AsyncClient) -> None:
    for path in ("/admin/static/../../config.py", "/admin/static/%2e%2e/index.html", "/admin/static/nothing.js"):
        assert (await client.get(path)).status_code == 404, path


def test_the_scripts_never_store_tokens_where_they_outlive_the_page() -> None:
    for script in OWN_SCRIPTS:
        code = re.sub(r"^\s*//.*$", "", script.read_text(), flags=re.MULTILINE)
        for persistent in ("localStorage", "sessionStorage", "document.cookie", "indexedDB"):
            assert persistent not in code, (script.name, persistent)
        assert "innerHTML" not in code, f"{script.name}: build nodes with textContent, never markup from data"


def test_the_vendored_chart_library_keeps_its_licence_and_version() -> None:
    vendored = (PAGES / "static" / "vendor" / "chart.umd.min.js").read_text()
    assert vendored.startswith("/*!\n * Chart.js v4.6.1")
    assert "Released under the MIT License" in vendored[:300]
    assert "MIT License" in (PAGES / "static" / "vendor" / "chart.js-LICENSE.md").read_text()
