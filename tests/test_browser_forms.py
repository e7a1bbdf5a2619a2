"""One-pass forms in Chromium (issue 21): a refused form's error summary takes the focus and links to
each field; the category picker filters as it is typed and says what is ticked; every page still
passes axe-core WCAG 2.1 AA; terminating shows the deletion's due date for the day typed. Fixtures and helpers are tests/test_browser.py's."""

import pytest

from tests.conftest import run_cli
from tests.test_browser import PASSWORD, SHOTS, WCAG, chromium, server  # noqa: F401 - fixture by name

pytestmark = pytest.mark.anyio


async def test_the_error_summary_takes_the_focus(server, database_url, engine_name):  # noqa: F811
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    run_cli(database_url, "people", "create", "ana", "--role", "admin", "--password-stdin", input_=PASSWORD)
    shots = SHOTS / engine_name
    shots.mkdir(parents=True, exist_ok=True)
    axe = Axe()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page()

        async def shot(name: str) -> None:
            await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            found = await axe.run(page, options=WCAG)
            assert found.violations_count == 0, (name, found.generate_snapshot())

        await page.goto(f"{server}/ui/login?next=/ui/vendors/new")
        await page.get_by_label("Name").fill("ana")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()

        # Two mistakes: both are listed at once, the summary has the focus, each line leads to its field.
        await page.get_by_label("Kind").select_option("service_provider")
        await page.get_by_label("Country").fill("Atlantis")
        await page.get_by_role("button", name="Save vendor").click()
        summary = page.locator("#error-summary")
        await expect(summary).to_be_focused()
        await expect(summary).to_contain_text("2 things to correct")
        await expect(summary).to_contain_text("Name: required.")
        await expect(summary).to_contain_text("Country: choose a country from the list")
        await shot("20-form-error-summary")
        await summary.get_by_role("link", name="Country: choose").click()
        await expect(page).to_have_url(f"{server}/ui/vendors/new#country")

        # Fixed in one more round, the country by its name; the vendor page says it was saved.
        await page.locator("#name").fill("Northwind Cloud Hosting")
        await page.get_by_label("Country").fill("Ireland")
        await page.get_by_role("button", name="Save vendor").click()
        await expect(page.get_by_role("status")).to_have_text("The vendor was saved.")
        await expect(page.locator(".facts")).to_contain_text("Ireland")
        await shot("21-saved-notice")

        # The category picker: typing filters the tree, and the ticked ones are named above it.
        await page.get_by_role("link", name="Add a disclosure").click()
        categories = page.locator("#categories")
        await categories.get_by_label("Find").fill("email")
        await expect(categories.get_by_role("checkbox", name="(user.contact.email)")).to_be_visible()
        await expect(categories.get_by_role("checkbox", name="(user.name)")).to_be_hidden()
        await categories.get_by_role("checkbox", name="(user.contact.email)").check()
        await expect(page.locator("#categories-ticked")).to_have_text("Ticked: User Contact Email")
        await shot("22-category-picker")

        # Terminating says first what follows; the deletion's due date follows the day typed.
        await page.go_back()
        await page.get_by_role("link", name="Add a contract").click()
        await page.get_by_label("Title").fill("Hosting DPA")
        await page.get_by_role("button", name="Save contract").click()
        await expect(page.get_by_role("status")).to_have_text("The contract was saved.")
        await page.get_by_role("link", name="Terminate").click()
        await expect(page.locator("#follows")).to_be_visible()
        await page.get_by_label("Last day in force").fill("2025-06-30")
        await expect(page.locator("#due-on")).to_have_text("30 Jul 2025")  # 30 days, the form's default
        await shot("23-terminate-follows")
        await browser.close()
