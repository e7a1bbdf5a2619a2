"""Words, not codes, on every page a person reads (issue 21): no taxonomy key, enum value, internal id,
actor code or ISO day in the visible text, outside the slots kept for specialists (small type
``<small class="key">`` / ``<small class="code">`` and ``title`` tooltips). The pages are those of the
web route table (as tests/test_web_authorization_matrix.py builds its list), over the demo data with a
recorded deletion report, an attestation and a journal note."""

import re
from html.parser import HTMLParser

import pytest

from registry.auth import WriteContext
from registry.demo import load_demo
from registry.tables import (
    Contract,
    DeletionObligation,
    Disclosure,
    SubprocessorEngagement,
    TaxonomyEntry,
    Vendor,
)
from tests.conftest import CONFIRMATION, make_contract, make_disclosure, make_vendor
from tests.test_web import people, sign_in  # noqa: F401 - the fixture is used by name
from tests.test_web_authorization_matrix import ui_routes

pytestmark = pytest.mark.anyio

# GET pages that answer something other than a page, or only a form a person has not filled in yet.
NOT_PAGES = {
    "/ui/static/{file_path:path}",
    "/ui/attestations/{serial:str}/pdf",
    "/ui/data/{name:str}",
    "/ui/lookup/export/{fmt:str}",  # files: CSV, XLSX, PDF
    "/ui/contracts/{contract_id:int}/document",  # the signed file as uploaded
}
# Path parameter → the table whose every row is visited.
ROWS = {
    "vendor_id": Vendor,
    "contract_id": Contract,
    "disclosure_id": Disclosure,
    "obligation_id": DeletionObligation,
    "engagement_id": SubprocessorEngagement,
}
SLOTS = {"key", "code"}  # <small class=...>: where a code may stand, in small type
CODE_WORDS = {"dpa", "nda", "msa", "sow"}  # contract kinds, which are not English words
INTERNAL_ID = re.compile(
    r"\b(?:vendor|contract|disclosure|deletion|obligation|attestation|journal[ _]entry|note|id)"
    r"(?: id)? #?\d+\b|\b(?:person|cli|key):\S",
    re.IGNORECASE,
)
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
DOTTED = re.compile(r"\b[a-z_]+(?:\.[a-z_]+)+\b")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes and aria-labels, without scripts, the small-type
    slots, notes as typed, or attributes (a ``title`` is the tooltip slot)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden: list[str] = []  # open elements whose text is not counted

    def handle_starttag(self, tag: str, attrs) -> None:
        found = dict(attrs)
        if found.get("aria-label"):
            self.parts.append(found["aria-label"])
        classes = set((found.get("class") or "").split())
        slot = tag == "small" and SLOTS & classes
        # "pre": what a person typed (notes), theirs to word; "US" in a note is no country code.
        if tag in ("script", "style") or slot or "pre" in classes:
            self.hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.hidden and self.hidden[-1] == tag:
            self.hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = VisibleText()
    parser.feed(page)
    # Text of different elements (table cells) apart: "Contract | 23 Oct 2022" is no "Contract 23".
    return " | ".join(" ".join(part.split()) for part in parser.parts if part.strip())


def codes_in(text: str, keys: set[str], countries: set[str]) -> list[str]:
    found = [m for m in DOTTED.findall(text) if m in keys]
    found += SNAKE.findall(text) + INTERNAL_ID.findall(text) + ISO_DAY.findall(text)
    found += [w for w in re.findall(r"\b[A-Za-z]+\b", text) if w in CODE_WORDS or w in countries]
    return found


async def demo_like(client, auth) -> None:
    """The demo data, a recorded deletion report, an attestation and a note (every kind of record)."""
    await load_demo(WriteContext(actor="cli:demo"))
    deletions = (await client.get("/deletions", headers=auth())).json()["items"]
    [first, *_] = [d for d in deletions if d["status"] in ("open", "overdue")]
    confirmed = await client.post(
        f"/deletions/{first['id']}/confirmations",
        json={**CONFIRMATION, "completed_on": first["ended_on"], "last_backup_expires_on": "2099-12-31"},
        headers=auth(),
    )
    assert confirmed.status_code == 201, confirmed.text
    issued = await client.post(f"/deletions/{first['id']}/attestation", headers=auth("editor"))
    assert issued.status_code == 201, issued.text
    await make_contract(client, auth, first["vendor_id"], title="Draft DPA", signed_on=None)


async def pages_to_read(app) -> list[str]:
    urls = []
    for method, path in sorted(ui_routes(app)):
        if method != "GET" or path in NOT_PAGES:
            continue
        names = re.findall(r"\{(\w+):\w+\}", path)
        if not names:
            urls.append(path)
            continue
        [name] = names
        for row in await ROWS[name].select(ROWS[name].id):
            urls.append(re.sub(r"\{\w+:\w+\}", str(row["id"]), path))
    return urls


async def test_no_page_shows_a_code_outside_the_small_type(client, auth, app, people):  # noqa: F811
    await demo_like(client, auth)
    keys = {row["key"] for row in await TaxonomyEntry.select(TaxonomyEntry.key)}
    countries = {row["country"] for row in await Vendor.select(Vendor.country)}
    await sign_in(client, name="admin-person")
    urls = await pages_to_read(app)
    urls.append("/ui/lookup?category=user.contact")  # with an answer
    assert len(urls) > 30, urls  # every vendor, contract, disclosure and deletion has its pages
    for url in urls:
        page = await client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        text = visible(page.text)
        found = codes_in(text, keys, countries)
        assert found == [], (url, [text[max(0, text.find(f) - 80) : text.find(f) + 40] for f in found])
    vendor = await Vendor.select(Vendor.id).where(Vendor.name == "Northwind Cloud Hosting").first()
    page = (await client.get(f"/ui/vendors/{vendor['id']}")).text
    # The words, with the codes kept for a specialist in small type or a tooltip.
    assert 'Ireland <small class="key">(IE)</small>' in page
    assert '<abbr title="dpa">Data processing agreement</abbr>' in page
    assert "Service provider" in visible(page) and "Active" in visible(page)
    assert re.search(
        r"The command line \(demo\) added the vendor “Northwind Cloud Hosting” — <time datetime=\"[^\"]+\">",
        page,
    )


async def test_the_checker_finds_what_it_looks_for():
    """The test above cannot pass by finding nothing: each kind of code is caught in plain text, and
    let through in the slots."""
    keys, countries = {"user.contact.email"}, {"IE"}
    for text in [
        "Email (user.contact.email)",
        "vendor 10: create",
        "by person:demo",
        "deletion 4",
        "service_provider",
        "2026-12-01",
        "Kind dpa",
        "Country IE",
    ]:
        assert codes_in(visible(f"<p>{text}</p>"), keys, countries), text
    slotted = '<p>Email <small class="key">(user.contact.email)</small> <abbr title="dpa">DPA</abbr></p>'
    assert codes_in(visible(slotted), keys, countries) == []


async def test_the_dashboard_says_the_reports_keys_and_days_in_words(client, auth, people):  # noqa: F811
    """The supervision report's sentences are the API's (keys, ISO days); the dashboard says them."""
    vendor = await make_vendor(client, auth, name="Meridian")
    await make_contract(client, auth, vendor["id"])
    consent = {"basis": "consent", "consent_reference": "Banner v4", "purpose": "marketing.advertising"}
    disclosure = await make_disclosure(client, auth, vendor["id"], None, **consent)
    # Records from before the rule (or imported) can lack the reference: the report says so.
    await Disclosure.update({Disclosure.consent_reference: None}).where(Disclosure.id == disclosure["id"])
    api = (await client.get("/reports/supervision", headers=auth())).json()
    assert any("marketing.advertising" in item["summary"] for item in api["items"])  # the API keeps keys
    await sign_in(client, name="viewer-person")
    page = (await client.get("/ui/")).text
    said = 'Advertising, Marketing or Promotion <small class="key">(marketing.advertising)</small>'
    assert f"Disclosure for {said} rests on consent but names no consent record" in page
    assert codes_in(visible(page), {"marketing.advertising"}, set()) == []
