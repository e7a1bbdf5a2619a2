"""The web interface in a real browser: Debian's Chromium driven by Playwright through the main flow, on
a `registry serve` process. A screenshot of each page is kept in test-artifacts/screenshots/<engine>/.

Under CI=true a missing Chromium fails the run; elsewhere the test is skipped with the install hint.
"""

import os
import shutil
from pathlib import Path

import httpx
import pytest

from tests.conftest import CONFIRMATION, Server, run_cli

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"
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
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    run_cli(database_url, "users", "create", "ana", "--role", "admin", "--password-stdin", input_=PASSWORD)
    key = run_cli(database_url, "keys", "create", "setup", "--role", "admin").stdout.strip()
    api = httpx.AsyncClient(base_url=server, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    shots = SHOTS / engine_name
    shots.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page(accept_downloads=True)

        async def shot(name: str) -> None:
            await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

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

        # A contract and a disclosure (through the API, until their forms land), then the lookup page.
        contract = (
            await api.post(
                "/contracts",
                json={
                    "vendor_id": vendor_id,
                    "kind": "dpa",
                    "title": "Data processing agreement",
                    "reference": "DPA-7",
                    "signed_on": "2025-01-01",
                    "effective_from": "2025-01-01",
                    "confidentiality_equivalent": True,
                    "backups_covered": True,
                },
            )
        ).json()
        disclosure = await api.post(
            "/disclosures",
            json={
                "vendor_id": vendor_id,
                "contract_id": contract["id"],
                "categories": ["user.contact.email", "user.name"],
                "data_subjects": ["customer"],
                "purpose": "essential.service",
                "basis": "contract",
                "valid_from": "2025-02-01",
            },
        )
        assert disclosure.status_code == 201, disclosure.text
        await page.get_by_role("link", name="Lookup").click()
        await page.get_by_label("Data category").select_option("user.contact")
        await page.get_by_label("On").fill("2025-06-01")
        await page.get_by_role("button", name="Look up").click()
        await expect(page.locator("#recipients")).to_contain_text("Acme <Hosting> GmbH")
        await expect(page.locator("#recipients")).to_contain_text("DPA-7")
        await shot("05-lookup")

        # Terminate, confirm deletion, issue the attestation; download it from the vendor page.
        ended = await api.post(
            f"/contracts/{contract['id']}/terminate", json={"terminated_on": "2025-06-30", "reason": "moved"}
        )
        assert ended.status_code == 200, ended.text
        deletion = (await api.get("/deletions", params={"vendor": vendor_id})).json()["items"][0]
        confirmed = await api.post(f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION)
        assert confirmed.status_code == 201, confirmed.text
        issued = await api.post(f"/deletions/{deletion['id']}/attestation")
        assert issued.status_code == 201, issued.text
        serial = issued.json()["serial"]
        await page.goto(f"{server}/ui/vendors/{vendor_id}")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name=serial).click()
        download = await download_info.value
        saved = tmp_path / f"{serial}.pdf"
        await download.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF-")
        await shot("06-vendor-with-attestation")

        # Anyone can verify it on the public page, signed in or not.
        public = await browser.new_page()
        await public.goto(f"{server}/ui/verify")
        await public.get_by_label("Attestation (PDF)").set_input_files(str(saved))
        await public.get_by_role("button", name="Verify").click()
        await expect(public.get_by_role("heading", name="Valid")).to_be_visible()
        await expect(public.get_by_role("status")).to_contain_text(serial)
        await public.screenshot(path=str(shots / "07-verify-valid.png"), full_page=True)
        tampered = tmp_path / "tampered.pdf"
        data = bytearray(saved.read_bytes())
        data[len(data) // 2] ^= 0x01
        tampered.write_bytes(bytes(data))
        await public.get_by_label("Attestation (PDF)").set_input_files(str(tampered))
        await public.get_by_role("button", name="Verify").click()
        await expect(public.get_by_role("heading", name="Altered or forged")).to_be_visible()
        await public.screenshot(path=str(shots / "08-verify-tampered.png"), full_page=True)

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
    await api.aclose()
