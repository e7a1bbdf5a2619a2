"""The web interface in a real browser: Debian's Chromium driven by Playwright through the main flow, on
a `registry serve` process. A screenshot of each page is kept in test-artifacts/screenshots/<engine>/.

Under CI=true a missing Chromium fails the run; elsewhere the test is skipped with the install hint.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import Server, run_cli

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
SHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium not found; CI needs it (apt-get install chromium)")
        pytest.skip("Chromium not found: apt-get install chromium")
    return found


@pytest.fixture
def server(settings):
    running = Server(settings, REGISTRY_PDF_WORKERS="1")
    running.start()
    try:
        yield running.base
    finally:
        running.stop()


async def test_main_flow_in_chromium(server, database_url, engine_name, tmp_path):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    run_cli(database_url, "users", "create", "ana", "--role", "admin", "--password-stdin", input_=PASSWORD)
    shots = SHOTS / engine_name
    shots.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page(accept_downloads=True)

        axe = Axe()

        async def shot(name: str, on=None) -> None:
            """Keep a screenshot of the page, and hold it to WCAG 2.1 A and AA (axe-core: labels,
            contrast, landmarks, names of controls...)."""
            target = on or page
            await target.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            found = await axe.run(target, options=WCAG)
            assert found.violations_count == 0, (name, found.generate_snapshot())

        # Sign in: the dashboard redirects to the sign-in page and back.
        await page.goto(f"{server}/ui/")
        await expect(page).to_have_url(f"{server}/ui/login?next=/ui")
        await shot("01-sign-in")
        await page.get_by_label("Name").fill("ana")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="What needs attention")).to_be_visible()
        await shot("02-dashboard")

        # Add a vendor: a wrong country is reported beside the field, and nothing typed is lost.
        await page.get_by_role("link", name="New vendor").click()
        await page.locator("#name").fill("Acme <Hosting> GmbH")
        await page.get_by_label("Kind").select_option("service_provider")
        await page.get_by_label("Country").fill("XX")
        await page.get_by_label("Notes").fill("Support desk provider")
        await page.get_by_role("button", name="Save vendor").click()
        await expect(page.locator("#country-error")).to_be_visible()
        await expect(page.locator("#name")).to_have_value("Acme <Hosting> GmbH")
        await expect(page.get_by_label("Notes")).to_have_value("Support desk provider")
        await shot("03-vendor-form-error")
        await page.get_by_label("Country").fill("DE")
        await page.get_by_role("button", name="Save vendor").click()
        await expect(page.get_by_role("heading", name="Acme <Hosting> GmbH")).to_be_visible()
        vendor_id = int(page.url.rsplit("/", 1)[1])
        await shot("04-vendor")

        # The edit form shows the record as stored.
        await page.get_by_role("link", name="Edit vendor").click()
        await expect(page.locator("#name")).to_have_value("Acme <Hosting> GmbH")
        await expect(page.get_by_label("Notes")).to_have_value("Support desk provider")
        await shot("04a-vendor-edit")
        await page.goto(f"{server}/ui/vendors/{vendor_id}")

        # The vendor list follows the search as it is typed (htmx), without reloading the page.
        await page.get_by_role("link", name="Vendors").click()
        await page.evaluate("window.sameDocument = true")
        await page.get_by_label("Search").fill("zzz")
        await expect(page.locator("#results")).to_contain_text("0 vendors")
        await page.get_by_label("Search").fill("hosting")
        await expect(page.locator("#results")).to_contain_text("Acme <Hosting> GmbH")
        assert await page.evaluate("window.sameDocument === true")
        await expect(page).to_have_url(f"{server}/ui/vendors?q=hosting&kind=&status=&conformance=")
        await shot("04b-vendor-search")
        await page.goto(f"{server}/ui/vendors/{vendor_id}")

        # A contract with its signed document.
        await page.get_by_role("link", name="Add a contract").click()
        await page.get_by_label("Kind").select_option("dpa")
        await page.get_by_label("Title").fill("Data processing agreement")
        await page.get_by_label("Reference").fill("DPA-7")
        await page.get_by_label("Signed on").fill("2025-01-01")
        await page.get_by_label("In force from").fill("2025-01-01")
        await page.get_by_label("Confidentiality obligations equivalent").check()
        await page.get_by_label("The deletion duty covers backups").check()
        signed = tmp_path / "dpa-7.pdf"
        signed.write_bytes(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n")
        await page.get_by_label("Signed contract").set_input_files(str(signed))
        await shot("05-contract-form")
        await page.get_by_role("button", name="Save contract").click()
        await expect(page.get_by_role("cell", name="dpa-7.pdf", exact=False)).to_be_visible()

        # A disclosure: categories and data subjects picked from the taxonomy trees.
        await page.get_by_role("link", name="Add a disclosure").click()
        await page.get_by_label("Contract").select_option(label="Data processing agreement (DPA-7)")
        await page.get_by_label("Legal basis").select_option("contract")
        await page.get_by_label("Purpose (data use)").select_option("essential.service")
        await page.get_by_role("checkbox", name="(user.contact.email)").check()
        await page.get_by_role("checkbox", name="(user.name)").check()
        await page.get_by_role("checkbox", name="(customer)").check()
        await page.locator("#valid_from").fill("2025-02-01")
        await shot("06-disclosure-form")
        await page.get_by_role("button", name="Save disclosure").click()
        await expect(page.get_by_role("cell", name="user.contact.email, user.name")).to_be_visible()
        await shot("07-vendor-with-contract")

        # Who held contact data on 2025-06-01?
        await page.get_by_role("link", name="Lookup").click()
        await page.get_by_label("Data category").select_option("user.contact")
        await page.get_by_label("On").fill("2025-06-01")
        await page.get_by_role("button", name="Look up").click()
        await expect(page.locator("#recipients")).to_contain_text("Acme <Hosting> GmbH")
        await expect(page.locator("#recipients")).to_contain_text("DPA-7")
        await shot("08-lookup")

        # Terminate the contract; record the vendor's deletion report; issue and download the attestation.
        await page.goto(f"{server}/ui/vendors/{vendor_id}")
        await page.get_by_role("link", name="Terminate").click()
        await page.get_by_label("Last day in force").fill("2025-06-30")
        await page.get_by_label("Reason").fill("Service moved in-house")
        await shot("09a-terminate-form")
        await page.get_by_role("button", name="Terminate contract").click()
        await page.get_by_role("link", name="Record confirmation").click()
        for label, value in {
            "Performed by: name": "Ana Ruiz",
            "Performed by: title": "Head of IT",
            "Performed by: organisation": "Acme Hosting GmbH",
            "Verified by: name": "Tom Lee",
            "Verified by: title": "Data Protection Officer",
            "Verified by: organisation": "Acme Hosting GmbH",
            "Systems covered": "Support desk tenant eu-1",
            "How backups were handled": "Backup sets encrypted per tenant; the key was destroyed",
            "Last backup copy expires on": "2025-09-30",
            "Completed on": "2025-07-10",
            "Verification method": "Queries for 50 sampled user ids",
            "Verification result": "No records found",
        }.items():
            await page.get_by_label(label).fill(value)
        await page.get_by_label("Method (NIST SP 800-88)").select_option("purge")
        await page.get_by_label("Technique").select_option("cryptographic_erase")
        await page.get_by_label("Verification outcome").select_option("passed")  # required since issue 17
        await shot("09b-confirmation-form")
        await page.get_by_role("button", name="Record confirmation").click()
        await page.get_by_role("button", name="Issue attestation").click()
        link = page.get_by_role("link", name="PRA-")
        await expect(link).to_be_visible()
        serial = (await link.inner_text()).strip()
        async with page.expect_download() as download_info:
            await link.click()
        download = await download_info.value
        saved = tmp_path / f"{serial}.pdf"
        await download.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF-")
        await shot("10-vendor-with-attestation")

        # A review in the vendor's journal: user text stays text.
        await page.get_by_label("About").select_option(label="The vendor, Acme <Hosting> GmbH")
        await page.locator("#kind").select_option("review")
        await page.get_by_label("Note", exact=True).fill("Annual review <b>done</b>: certificates current")
        await page.get_by_role("button", name="Add to the journal").click()
        await expect(page.locator(".journal")).to_contain_text(
            "Annual review <b>done</b>: certificates current"
        )
        await expect(page.get_by_role("heading", name="Journal (1)")).to_be_visible()
        await shot("10c-vendor-journal")

        # The dashboard is the supervision report: the backups were to expire on 2025-09-30, and
        # nothing since says they did.
        await page.goto(f"{server}/ui/")
        overdue = page.locator("section", has=page.get_by_role("heading", name="Overdue (1)"))
        await expect(overdue).to_contain_text("Backups not followed up")
        await expect(overdue).to_contain_text("Acme <Hosting> GmbH")
        await shot("10d-dashboard-report")

        # Import a spreadsheet: a dry run first (the default), then for real; then the registers out.
        await page.get_by_role("link", name="Import and export").click()
        sheet = tmp_path / "vendors.csv"
        sheet.write_text("name,kind,country\r\nQuill Translation,contractor,FR\r\n")
        await page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(str(sheet))
        await page.get_by_role("button", name="Import").click()
        await expect(page.get_by_role("status")).to_contain_text("Dry run: nothing was written")
        await shot("10e-import-dry-run")
        await page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(str(sheet))
        await page.get_by_label("Dry run").uncheck()
        await page.get_by_role("button", name="Import").click()
        await expect(page.get_by_role("status")).to_contain_text("Imported")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="The whole register (XLSX").click()
        assert (await (await download_info.value).path()).read_bytes().startswith(b"PK")
        await page.goto(f"{server}/ui/vendors/{vendor_id}")

        # Printable: navigation, forms and buttons give way to the record itself.
        await page.emulate_media(media="print")
        await expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
        await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        await expect(page.get_by_role("heading", name="Contracts")).to_be_visible()
        await page.pdf(path=str(shots / "10b-vendor-printed.pdf"))
        await page.emulate_media(media="screen")

        # Anyone can verify it on the public page, signed in or not.
        public = await browser.new_page()
        await public.goto(f"{server}/ui/verify")
        await public.get_by_label("Attestation (PDF)").set_input_files(str(saved))
        await public.get_by_role("button", name="Verify").click()
        await expect(public.get_by_role("heading", name="Valid")).to_be_visible()
        await expect(public.get_by_role("status")).to_contain_text(serial)
        await shot("11-verify-valid", public)
        tampered = tmp_path / "tampered.pdf"
        data = bytearray(saved.read_bytes())
        data[len(data) // 2] ^= 0x01
        tampered.write_bytes(bytes(data))
        await public.get_by_label("Attestation (PDF)").set_input_files(str(tampered))
        await public.get_by_role("button", name="Verify").click()
        await expect(public.get_by_role("heading", name="Altered or forged")).to_be_visible()
        await shot("12-verify-tampered", public)

        # The public sub-processor list needs no sign-in either.
        await public.goto(f"{server}/public/subprocessors.html")
        await expect(public.get_by_role("heading", level=1)).to_contain_text("Sub-processors")
        await shot("13-public-subprocessors", public)

        # Keyboard: the skip link is the first stop and leads to the content.
        await page.goto(f"{server}/ui/vendors")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#main")).to_be_focused()

        # Sign out: the pages ask to sign in again.
        await page.get_by_role("button", name="Sign out").click()
        await expect(page).to_have_url(f"{server}/ui/login")
        await page.goto(f"{server}/ui/vendors")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await browser.close()
