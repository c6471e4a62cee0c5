#!/usr/bin/env python
"""Sign in to the dashboard of a running service as an admin and save a screenshot of it.

Usage: `make run` in one terminal, then in another
`.venv/bin/python scripts/dashboard_screenshot.py docs/images/dashboard.png`
(BASE_URL, ADMIN_EMAIL, ADMIN_PASSWORD and CHROMIUM override the defaults of `make run` and Debian's
/usr/bin/chromium). Needs the dev requirements (Playwright for Python) and Chromium from the OS packages:
Playwright drives that executable and never downloads a browser of its own.
"""

import asyncio
import os
import sys
from pathlib import Path

from playwright.async_api import Browser, Page, Playwright, async_playwright, expect

# Headless and quiet: no GPU, no sandbox (CI runs as root), and none of the background connections
# (updates, sync, QUIC probes) that a closed network refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


async def launch(playwright: Playwright, executable: str) -> Browser:
    return await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, chromium_sandbox=False)


async def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    await page.goto(f"{base_url}/admin")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#sign-in-form button[type=submit]")


async def main(output: Path) -> None:
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
    email = os.environ.get("ADMIN_EMAIL", "admin@example.com")
    password = os.environ.get("ADMIN_PASSWORD", "admin-password-123")
    async with async_playwright() as playwright:
        browser = await launch(playwright, os.environ.get("CHROMIUM", "/usr/bin/chromium"))
        page = await browser.new_page(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        await sign_in(page, base_url, email, password)
        await expect(page.locator("#catalogue tbody tr").first).to_be_visible()
        await expect(page.locator("#tile-revenue")).not_to_have_text("\u2013")
        output.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(output), full_page=True)
        await browser.close()
    print(f"saved {output}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(Path(sys.argv[1])))
