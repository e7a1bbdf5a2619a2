"""The vendor portal in a real browser: the link is read from the e-mail the real SMTP server received,
and Debian's Chromium (Playwright) fills the confirmation form, uploads evidence and submits it, on a
`registry serve` process. Skipped without Chromium, as tests/test_browser.py is (failed under CI)."""

import re

import httpx
import pytest

from tests.conftest import CONFIRMATION, Server
from tests.portal_helpers import PRIVACY
from tests.test_browser import SHOTS, WCAG, chromium

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4\n% wipe log of the support desk tenant\n"


@pytest.fixture
def server(settings, mailbox, keys):
    running = Server(settings, REGISTRY_PDF_WORKERS="1", **mailbox.env())
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def _terminated(http: httpx.AsyncClient, headers: dict) -> int:
    vendor = {
        "name": "Acme Hosting",
        "kind": "service_provider",
        "country": "DE",
        "privacy_contact": {"email": PRIVACY},
    }
    v = (await http.post("/vendors", json=vendor, headers=headers)).json()
    contract = {
        "vendor_id": v["id"],
        "kind": "dpa",
        "title": "DPA",
        "reference": "DPA-9",
        "backups_covered": True,
    }
    contract.update(signed_on="2025-01-01", effective_from="2025-01-01", confidentiality_equivalent=True)
    c = (await http.post("/contracts", json=contract, headers=headers)).json()
    disclosure = {
        "vendor_id": v["id"],
        "contract_id": c["id"],
        "categories": ["user.contact.email"],
        "data_subjects": ["customer"],
        "purpose": "essential.service.operations.support",
        "basis": "contract",
        "valid_from": "2025-02-01",
    }
    assert (await http.post("/disclosures", json=disclosure, headers=headers)).status_code == 201
    ended = {"terminated_on": "2025-06-30", "reason": "moved to another provider"}
    response = await http.post(f"/contracts/{c['id']}/terminate", json=ended, headers=headers)
    assert response.status_code == 200, response.text
    return (await http.get("/deletions", headers=headers)).json()["items"][0]["id"]


async def test_vendor_confirms_in_chromium(server, mailbox, auth, engine_name, tmp_path):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    async with httpx.AsyncClient(base_url=server.base) as http:
        deletion_id = await _terminated(http, auth())
    [message] = await mailbox.wait_for(to=PRIVACY)
    link = re.search(r"https?://\S+/portal/[A-Za-z0-9_-]+", message.get_body(("plain",)).get_content()).group(
        0
    )
    assert link.startswith(server.base)
    evidence = tmp_path / "wipe-log.pdf"
    evidence.write_bytes(PDF)
    shots = SHOTS / engine_name
    shots.mkdir(parents=True, exist_ok=True)
    c = CONFIRMATION

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(link)
        await expect(page.get_by_role("heading", name="Confirm the deletion")).to_be_visible()
        await page.screenshot(path=str(shots / "portal-01-request.png"), full_page=True)
        found = await Axe().run(page, options=WCAG)
        assert found.violations_count == 0, found.generate_snapshot()
        for field, value in [
            ("#performed_by-name", c["performed_by"]["name"]),
            ("#performed_by-title", c["performed_by"]["title"]),
            ("#performed_by-organisation", c["performed_by"]["organisation"]),
            ("#verified_by-name", c["verified_by"]["name"]),
            ("#verified_by-title", c["verified_by"]["title"]),
            ("#verified_by-organisation", c["verified_by"]["organisation"]),
            ("#systems", "Support desk tenant eu-1"),
            ("#backups_handling", c["backups_handling"]),
            ("#last_backup_expires_on", c["last_backup_expires_on"]),
            ("#completed_on", c["completed_on"]),
            ("#verification_method", c["verification_method"]),
            ("#verification_result", c["verification_result"]),
            ("#name", "Ana Ruiz"),
            ("#title", "Head of IT"),
            ("#email", "ana@acme.example"),
        ]:
            await page.locator(field).fill(value)
        await page.locator("#method_category").select_option(c["method_category"])
        await page.locator("#technique").select_option(c["technique"])
        await page.locator("#verification_outcome").select_option("passed")
        await page.locator("#evidence").set_input_files(str(evidence))
        await page.get_by_role("button", name="Submit the confirmation").click()
        # The declaration box was left empty: refused beside it, everything typed kept.
        await expect(page.locator("#on_behalf-error")).to_be_visible()
        await expect(page.locator("#performed_by-name")).to_have_value(c["performed_by"]["name"])
        await page.get_by_label("I confirm this on behalf of Acme Hosting").check()
        await page.locator("#evidence").set_input_files(str(evidence))  # chosen again, as the page asks
        await page.get_by_role("button", name="Submit the confirmation").click()
        await expect(page.get_by_role("status")).to_contain_text("your confirmation was received")
        await page.screenshot(path=str(shots / "portal-02-submitted.png"), full_page=True)
        await browser.close()

    async with httpx.AsyncClient(base_url=server.base) as http:
        [request] = (await http.get(f"/deletions/{deletion_id}/requests", headers=auth())).json()
    [submission] = request["submissions"]
    assert request["state"] == "submitted" and len(submission["files"]) == 1
    assert submission["declaration"]["name"] == "Ana Ruiz" and "Chrome" in submission["user_agent"]
