"""Every main page on a phone (390×844) and a laptop (1366×768) in Chromium: the page never scrolls
sideways (tables scroll inside their own box), the menu folds behind "Menu" on the phone, and each page
keeps passing axe-core's WCAG 2.1 A and AA rules. Screenshots: test-artifacts/screenshots/layout/."""

import re

import pytest

from tests.conftest import run_cli
from tests.test_browser import PASSWORD, SHOTS, WCAG, chromium, server  # noqa: F401 - server is a fixture

pytestmark = [pytest.mark.anyio, pytest.mark.engine_independent]

PHONE, LAPTOP = (390, 844), (1366, 768)
# name -> path; {vendor} is the demo's vendor with the most on its page.
PAGES = {
    "dashboard": "/ui/",
    "vendors": "/ui/vendors",
    "vendor": "/ui/vendors/{vendor}",
    "vendor-new": "/ui/vendors/new",
    "contract-new": "/ui/vendors/{vendor}/contracts/new",
    "disclosure-new": "/ui/vendors/{vendor}/disclosures/new",
    "lookup": "/ui/lookup?category=user.contact&from=2025-01-01&to=2026-12-31",
    "data": "/ui/data",
    "verify": "/ui/verify",
    "verdict": "/attestations/PRA-2026-000001/verify",
    "subprocessors": "/public/subprocessors.html",
}
SIDEWAYS = "document.scrollingElement.scrollWidth - window.innerWidth"
# What sticks out, when something does: the first few elements whose right edge passes the window's.
WIDEST = (
    "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth)"
    ".slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
)
# The widest box that scrolls inside itself (a table's wrapper), and by how much.
INNER_SCROLL = (
    "Math.max(0, ...[...document.querySelectorAll('.scroll')].map(e => e.scrollWidth - e.clientWidth))"
)


@pytest.fixture
def demo(server, database_url):  # noqa: F811 - the fixture imported above
    """The demo register (vendors, contracts, disclosures, deletions in every state) and a person."""
    run_cli(database_url, "demo")
    run_cli(database_url, "users", "create", "ana", "--role", "admin", "--password-stdin", input_=PASSWORD)
    return server


async def sign_in(page, base: str) -> None:
    await page.goto(f"{base}/ui/login")
    await page.get_by_label("Name").fill("ana")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/ui/")


async def richest_vendor(page, base: str) -> int:
    await page.goto(f"{base}/ui/vendors?q=Northwind+Cloud")
    href = await page.get_by_role("link", name="Northwind Cloud Hosting").get_attribute("href")
    return int(re.search(r"/ui/vendors/(\d+)", href)[1])


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390x844", "1366x768"])
async def test_no_page_scrolls_sideways(demo, size):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright, expect

    shots = SHOTS / "layout"
    shots.mkdir(parents=True, exist_ok=True)
    width, height = size
    axe = Axe()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": width, "height": height})
        await sign_in(page, demo)
        vendor = await richest_vendor(page, demo)
        inner = {}
        for name, path in PAGES.items():
            await page.goto(demo + path.format(vendor=vendor))
            await page.screenshot(path=str(shots / f"{width}x{height}-{name}.png"), full_page=True)
            assert await page.evaluate(SIDEWAYS) <= 0, (name, size, await page.evaluate(WIDEST))
            inner[name] = await page.evaluate(INNER_SCROLL)
            found = await axe.run(page, options=WCAG)
            assert found.violations_count == 0, (name, size, found.generate_snapshot())
        menu = page.get_by_text("Menu", exact=True)
        vendors_link = page.get_by_role("link", name="Vendors", exact=True)
        await page.goto(f"{demo}/ui/")
        if size == PHONE:
            # The vendor page's tables are wider than a phone: they scroll in their box, the page does not.
            assert inner["vendor"] > 0, inner
            await expect(vendors_link).to_be_hidden()
            await menu.click()
            await expect(vendors_link).to_be_visible()
            await page.screenshot(path=str(shots / f"{width}x{height}-menu-open.png"), full_page=True)
            assert await page.evaluate(SIDEWAYS) <= 0
            await vendors_link.click()
            await page.wait_for_url(f"{demo}/ui/vendors")
        else:
            await expect(menu).to_be_hidden()
            await expect(vendors_link).to_be_visible()
            box = await page.locator(".bar").bounding_box()
            assert box["height"] < 80, box  # brand, menu and sign-out on one line
        await browser.close()
