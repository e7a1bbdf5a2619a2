"""Subscribing and objecting in a real browser: Debian's Chromium (Playwright) on a `registry serve`
process whose own scheduler sends the notice; links read from the e-mails the real SMTP server
received; no token in the server's log. Skipped without Chromium, as tests/test_browser.py is."""

import re
from datetime import timedelta

import httpx
import pytest

from registry import clock
from tests.conftest import Server
from tests.subscriber_helpers import CUSTOMER, LINK, text_of
from tests.test_browser import SHOTS, WCAG, chromium

pytestmark = pytest.mark.anyio


@pytest.fixture
def server(settings, mailbox, keys, tmp_path):
    env = {**mailbox.env(), "REGISTRY_SCHEDULER_INTERVAL_SECONDS": "0.5", "REGISTRY_ACCESS_LOG": "true"}
    running = Server(settings, log=tmp_path / "server.log", REGISTRY_PDF_WORKERS="1", **env)
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def _new_subprocessor(http: httpx.AsyncClient, headers: dict) -> None:
    """A public vendor whose first disclosure starts in 5 days: a short-notice addition."""
    vendor = {"name": "Nimbus Mail", "kind": "service_provider", "country": "IE", "public": True}
    v = (await http.post("/vendors", json=vendor, headers=headers)).json()
    contract = {"vendor_id": v["id"], "kind": "dpa", "title": "DPA", "signed_on": "2025-01-01"}
    contract.update(effective_from="2025-01-01", confidentiality_equivalent=True)
    c = (await http.post("/contracts", json=contract, headers=headers)).json()
    disclosure = {
        "vendor_id": v["id"],
        "contract_id": c["id"],
        "categories": ["user.contact.email"],
        "data_subjects": ["customer"],
        "purpose": "essential.service.operations.support",
        "basis": "contract",
        "valid_from": (clock.today() + timedelta(days=5)).isoformat(),
    }
    assert (await http.post("/disclosures", json=disclosure, headers=headers)).status_code == 201


def _link(message, kind: str) -> str:
    found = re.search(rf"https?://\S+/public/{kind}/[A-Za-z0-9_-]+", text_of(message)).group(0)
    assert LINK.search(found)
    return found


async def test_subscribe_confirm_and_object_in_chromium(server, mailbox, auth, engine_name, tmp_path):
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright, expect

    executable = chromium()
    shots = SHOTS / engine_name
    shots.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"{server.base}/public/subprocessors.html")
        await page.get_by_role("link", name="subscribe by e-mail").click()
        await expect(page.get_by_role("heading", name="Subscribe to sub-processor changes")).to_be_visible()
        found = await Axe().run(page, options=WCAG)
        assert found.violations_count == 0, found.generate_snapshot()
        await page.get_by_label("Your e-mail address").fill(CUSTOMER)
        await page.get_by_role("button", name="Subscribe").click()
        await expect(page.get_by_role("status")).to_contain_text("confirmation link is on its way")
        [confirmation] = await mailbox.wait_for(to=CUSTOMER)
        await page.goto(_link(confirmation, "confirm"))
        await page.get_by_role("button", name="Confirm my subscription").click()
        await expect(page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()

        async with httpx.AsyncClient(base_url=server.base) as http:
            await _new_subprocessor(http, auth())
        [_, notice] = await mailbox.wait_for(to=CUSTOMER, count=2)  # the server's scheduler sent it
        assert "(short notice)" in notice["Subject"] and notice["List-Unsubscribe-Post"]
        await page.goto(_link(notice, "object"))
        await expect(page.get_by_role("heading", name=re.compile("Object to a change"))).to_be_visible()
        found = await Axe().run(page, options=WCAG)
        assert found.violations_count == 0, found.generate_snapshot()
        await page.get_by_label("Why you object (optional)").fill("We do not accept transfers outside the EU")
        await page.get_by_role("button", name="Send my objection").click()
        await expect(page.get_by_role("status")).to_contain_text("Your objection was recorded")
        await page.screenshot(path=str(shots / "notices-01-objection.png"), full_page=True)
        await browser.close()

    async with httpx.AsyncClient(base_url=server.base) as http:
        [objection] = (await http.get("/objections", headers=auth("viewer"))).json()
    assert objection["reason"] == "We do not accept transfers outside the EU" and objection["short_notice"]
    logged = (tmp_path / "server.log").read_text()
    assert "/public/object/<token>" in logged
    for message, kind in ((confirmation, "confirm"), (notice, "object")):
        assert _link(message, kind).rsplit("/", 1)[1] not in logged
