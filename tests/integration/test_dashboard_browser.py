"""The dashboard in a real browser: Chromium from the OS packages, driven by Playwright, against a real server.

Runs when TEST_CHROMIUM names the Chromium executable (`.ci/run` sets it); skipped otherwise. Each test
seeds its own shop through the API, and saves a screenshot under artifacts/screenshots/ (git-ignored).
"""

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Route, async_playwright, expect

from scripts.dashboard_screenshot import VIEWPORT, launch, sign_in
from tests.conftest import ROOT, Account, Database
from tests.servers import ServiceProcess

CHROMIUM = os.environ.get("TEST_CHROMIUM")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CUSTOMER_PASSWORD = "browser-password-123"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM, reason="TEST_CHROMIUM is not set (path of a Chromium executable)"),
]


@dataclass
class Shop:
    """What each test starts from: three products, and three orders of one customer (paid, pending, cancelled)."""

    admin: Account
    customer_email: str
    products: dict[str, dict[str, Any]]
    paid: str
    pending: str
    cancelled: str


@dataclass
class Tab:
    page: Page
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def count(self, path: str) -> int:
        return sum(1 for url in self.requests if httpx.URL(url).path == path)


@pytest.fixture(scope="module")
def server(database: Database) -> Iterator[ServiceProcess]:
    with ServiceProcess({"DATABASE_URL": database.url, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}) as service:
        yield service


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM
    async with async_playwright() as playwright:
        chromium = await launch(playwright, CHROMIUM)
        yield chromium
        await chromium.close()


@pytest.fixture
async def tab(browser: Browser, request: pytest.FixtureRequest, database: Database) -> AsyncIterator[Tab]:
    context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    page = await context.new_page()
    opened = Tab(page)

    def on_console(message: ConsoleMessage) -> None:
        # A CSP violation is reported on the console; so are failed fetches (401s on purpose), which are fine.
        if message.type == "error" and "Failed to load resource" not in message.text:
            opened.problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: opened.problems.append(f"uncaught: {error}"))
    page.on("request", lambda sent: opened.requests.append(sent.url))
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{request.node.originalname}-{database.backend}.png"), full_page=True)
    await context.close()
    assert opened.problems == [], "the page logged errors (a CSP violation?)"


@pytest.fixture
async def shop(server: ServiceProcess, admin: Account) -> Shop:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        admin_headers = await _login(http, admin.email, admin.password)
        products = {}
        for sku, name, price in (("B-MUG", "Ceramic mug", 1200), ("B-LAMP", "Desk lamp", 4999), ("B-TEA", "Tea", 899)):
            body = {"sku": sku, "name": name, "price_cents": price, "stock": 50}
            response = await http.post("/products", json=body, headers=admin_headers)
            assert response.status_code == 201, response.text
            products[sku] = response.json()
        email = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
        registered = await http.post("/auth/register", json={"email": email, "password": CUSTOMER_PASSWORD})
        assert registered.status_code == 201, registered.text
        customer_headers = await _login(http, email, CUSTOMER_PASSWORD)
        orders = []
        for sku, quantity in (("B-MUG", 2), ("B-LAMP", 1), ("B-TEA", 1)):
            body = {"items": [{"product_id": products[sku]["id"], "quantity": quantity}]}
            response = await http.post("/orders", json=body, headers=customer_headers)
            assert response.status_code == 201, response.text
            orders.append(response.json()["id"])
        for order_id, status in ((orders[0], "paid"), (orders[2], "cancelled")):
            response = await http.patch(f"/orders/{order_id}/status", json={"status": status}, headers=admin_headers)
            assert response.status_code == 200, response.text
    return Shop(admin, email, products, paid=orders[0], pending=orders[1], cancelled=orders[2])


async def _login(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await http.post("/auth/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _api(server: ServiceProcess, shop: Shop, path: str) -> Any:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        headers = await _login(http, shop.admin.email, shop.admin.password)
        response = await http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


async def _signed_in(tab: Tab, server: ServiceProcess, shop: Shop) -> Page:
    await sign_in(tab.page, server.base_url, shop.admin.email, shop.admin.password)
    await expect(tab.page.locator("#tile-revenue")).to_have_text("$24.00")
    await expect(tab.page.locator("#catalogue tbody tr")).to_have_count(3)
    return tab.page


async def _actions(page: Page, order_id: str) -> list[str]:
    buttons = page.locator(f'#orders tr[data-order-id="{order_id}"] button.action')
    return [await button.get_attribute("data-status") or "" for button in await buttons.all()]


async def test_an_admin_sees_the_seeded_figures(tab: Tab, server: ServiceProcess, shop: Shop) -> None:
    async with tab.page.expect_response(lambda r: "/analytics/revenue" in r.url) as revenue_answer:
        page = await _signed_in(tab, server, shop)
    await expect(page.locator("#tile-orders")).to_have_text("3")
    await expect(page.locator("#tile-aov")).to_have_text("$24.00")
    await expect(page.locator("#tile-customers")).to_have_text("1")
    await expect(page.locator("#tile-cancellation")).to_have_text("33.3%")
    await expect(page.locator("#tile-statuses")).to_have_text(
        "pending 1 · paid 1 · shipped 0 · delivered 0 · cancelled 1"
    )

    # The chart holds the API's revenue series, one bar per day of the default range (the last 30 days).
    answer = await revenue_answer.value
    expected = await _api(server, shop, httpx.URL(answer.url).raw_path.decode())
    chart = await page.evaluate(
        "() => { const c = Chart.getChart('revenue-chart');"
        " return {data: c.data.datasets[0].data, labels: c.data.labels, width: c.width}; }"
    )
    assert chart["data"] == [point["revenue_cents"] for point in expected["points"]]
    assert chart["labels"] == [point["period_start"][:10] for point in expected["points"]]
    assert len(chart["data"]) in {30, 31} and sum(chart["data"]) == 2400 and chart["width"] > 0
    await page.select_option("#range-interval", "month")
    await expect(page.locator("#revenue-title")).to_have_text("Revenue by month")
    assert sum(await page.evaluate("() => Chart.getChart('revenue-chart').data.datasets[0].data")) == 2400

    first_product = page.locator("#top-products tbody tr").first
    await expect(first_product).to_contain_text("Ceramic mug")
    await expect(first_product).to_contain_text("$24.00")
    await expect(page.locator("#top-customers tbody tr").first).to_contain_text(shop.customer_email)
    await expect(page.locator("#orders tbody tr")).to_have_count(3)
    await expect(page.locator("#orders td.customer").first).to_have_text(shop.customer_email)

    stored = await page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""], "tokens must live in the page's memory only"


async def test_an_order_moves_from_pending_to_paid_through_the_page(
    tab: Tab, server: ServiceProcess, shop: Shop
) -> None:
    page = await _signed_in(tab, server, shop)
    assert await _actions(page, shop.pending) == ["paid", "cancelled"]
    assert await _actions(page, shop.paid) == ["shipped", "cancelled"]
    assert await _actions(page, shop.cancelled) == []

    await page.click(f'#orders tr[data-order-id="{shop.pending}"] button[data-status="paid"]')
    await expect(page.locator(f'#orders tr[data-order-id="{shop.pending}"] .status')).to_have_text("paid")
    assert (await _api(server, shop, f"/orders/{shop.pending}"))["status"] == "paid"
    assert await _actions(page, shop.pending) == ["shipped", "cancelled"]
    # The figures follow: the order now counts as revenue.
    await expect(page.locator("#tile-revenue")).to_have_text("$73.99")
    await expect(page.locator("#notice")).to_contain_text("is now paid")


async def test_a_refused_status_change_shows_the_order_as_it_is_now(
    tab: Tab, server: ServiceProcess, shop: Shop
) -> None:
    page = await _signed_in(tab, server, shop)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
        headers = await _login(http, shop.admin.email, shop.admin.password)
        response = await http.post(f"/orders/{shop.pending}/cancel", headers=headers)
        assert response.status_code == 200, response.text

    await page.click(f'#orders tr[data-order-id="{shop.pending}"] button[data-status="paid"]')
    await expect(page.locator(f'#orders tr[data-order-id="{shop.pending}"] .status')).to_have_text("cancelled")
    await expect(page.locator("#notice")).to_contain_text("The order is cancelled now.")
    assert await _actions(page, shop.pending) == []
    assert (await _api(server, shop, f"/orders/{shop.pending}"))["status"] == "cancelled"
    await expect(page.locator("#tile-statuses")).to_contain_text("cancelled 2")


async def test_a_price_and_stock_edit_is_saved(tab: Tab, server: ServiceProcess, shop: Shop) -> None:
    page = await _signed_in(tab, server, shop)
    mug = shop.products["B-MUG"]["id"]
    row = page.locator(f'#catalogue tr[data-product-id="{mug}"]')
    await row.locator("input.price").fill("13.5")
    await row.locator("input.stock").fill("42")
    await row.locator("button.save").click()
    await expect(page.locator("#notice")).to_have_text("Saved B-MUG: $13.50, 42 in stock.")
    product = await _api(server, shop, f"/products/{mug}")
    assert (product["price_cents"], product["stock"]) == (1350, 42)

    row = page.locator(f'#catalogue tr[data-product-id="{mug}"]')
    await expect(row.locator("input.price")).to_have_value("13.50")
    await row.locator("input.price").fill("12.345")
    await row.locator("button.save").click()
    await expect(page.locator("#notice")).to_contain_text("the price must be an amount")
    assert (await _api(server, shop, f"/products/{mug}"))["price_cents"] == 1350


async def test_a_customer_is_refused(tab: Tab, server: ServiceProcess, shop: Shop) -> None:
    page = tab.page
    await sign_in(page, server.base_url, shop.customer_email, "not-the-password")
    await expect(page.locator("#sign-in-error")).to_have_text("Wrong email or password.")

    async with page.expect_response(lambda r: r.url.endswith("/auth/logout")) as logout:
        await sign_in(page, server.base_url, shop.customer_email, CUSTOMER_PASSWORD)
    await expect(page.locator("#sign-in-error")).to_contain_text("is not an admin account")
    assert (await logout.value).status == 204, "the session the page opened for the customer is closed"
    await expect(page.locator("#dashboard")).to_be_hidden()
    api_paths = {httpx.URL(url).path for url in tab.requests}
    assert not any(path.startswith(("/analytics/", "/orders", "/products")) for path in api_paths), api_paths


def _expired_copy(token: str) -> str:
    """The same access token, expired, signed with the server's key: the server itself refuses it."""
    claims = jwt.decode(token, options={"verify_signature": False})
    claims |= {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 60}
    return jwt.encode(claims, os.environ["JWT_SECRET_KEY"], algorithm="HS256")


async def test_an_expired_access_token_is_renewed_once(tab: Tab, server: ServiceProcess, shop: Shop) -> None:
    page = await _signed_in(tab, server, shop)
    first_token = ""
    expired_sent = 0

    async def expire_first_token(route: Route, sent: Request) -> None:
        nonlocal first_token, expired_sent
        token = sent.headers.get("authorization", "").removeprefix("Bearer ")
        first_token = first_token or token
        if token and token == first_token:
            expired_sent += 1
            await route.continue_(headers={**sent.headers, "authorization": f"Bearer {_expired_copy(token)}"})
        else:
            await route.continue_()

    await page.route("**/analytics/**", expire_first_token)
    refreshes_before = tab.count("/auth/refresh")
    await page.select_option("#range-interval", "week")
    await expect(page.locator("#revenue-title")).to_have_text("Revenue by week")
    await expect(page.locator("#tile-revenue")).to_have_text("$24.00")
    # Four reports hit the 401 at once; they share one renewal and each is retried once with the new token.
    assert expired_sent == 4
    assert tab.count("/auth/refresh") == refreshes_before + 1

    # A renewed token that is refused as well ends the session: no second renewal, no loop.
    async def expire_every_token(route: Route, sent: Request) -> None:
        token = sent.headers["authorization"].removeprefix("Bearer ")
        await route.continue_(headers={**sent.headers, "authorization": f"Bearer {_expired_copy(token)}"})

    await page.unroute("**/analytics/**")
    await page.route("**/analytics/**", expire_every_token)
    await page.click("#range button[type=submit]")
    await expect(page.locator("#sign-in-error")).to_have_text("Your session has ended; sign in again.")
    assert tab.count("/auth/refresh") == refreshes_before + 2
    await page.unroute("**/analytics/**")

    # When the session is gone (logged out elsewhere), the renewal fails and the page asks to sign in again.
    page = await _signed_in(tab, server, shop)
    current = await _current_token(page)
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.post(
            "/auth/logout", json={"refresh_token": "x"}, headers={"Authorization": f"Bearer {current}"}
        )
        assert response.status_code == 204
    await page.click("#range button[type=submit]")
    await expect(page.locator("#sign-in-error")).to_have_text("Your session has ended; sign in again.")
    await expect(page.locator("#dashboard")).to_be_hidden()
    assert tab.count("/auth/refresh") == refreshes_before + 3


async def _current_token(page: Page) -> str:
    """The access token the page sends now, read from its next API request."""
    async with page.expect_request(lambda r: "/orders" in r.url) as sent:
        await page.select_option("#orders-status", "pending")
    return (await sent.value).headers["authorization"].removeprefix("Bearer ")
