"""One-pass forms through HTTP (issue 21): every mistake of a form in one round, in words naming the
field's label and the rule, listed in a summary that links to each field; a chosen file held for the
retry (for its person only, then released); countries by name; a "saved" notice after each change;
the contract a disclosure defaults to; terminating says first what follows."""

import html
import re
from datetime import date, timedelta

import pytest

from registry.tables import Contract, HeldUpload, Vendor
from tests.conftest import ended_contract, make_contract, make_disclosure, make_vendor
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


def summary_of(page: str) -> list[str]:
    """The error summary's lines, in order."""
    block = page.split('id="error-summary"')[1].split("</div>")[0]
    items = re.findall(r"<li>(.*?)</li>", block)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


async def test_a_contract_with_three_mistakes_gets_three_errors_and_keeps_its_file(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    await make_contract(client, auth, vendor["id"], reference="DPA-1")
    await sign_in(client)
    url = f"/ui/vendors/{vendor['id']}/contracts/new"
    csrf = csrf_of((await client.get(url)).text)
    fields = {
        "csrf": csrf,
        "kind": "dpa",
        "title": "",  # 1: required
        "reference": "DPA-1",  # 2: another contract has it (the service's rule, checked before saving)
        "effective_from": "2025-06-01",
        "expires_on": "2025-01-31",  # 3: before the start (the service's rule too)
        "end_of_contract": "delete",
        "deletion_deadline_days": "30",
    }
    first = await client.post(url, data=fields, files={"document": ("dpa.pdf", PDF, "application/pdf")})
    assert first.status_code == 400
    assert summary_of(first.text) == [
        "Title: required.",
        "Reference: the contract “DPA” already has this reference.",
        "Last day in force: must not be before the day it is in force from.",
    ]
    for name in ("title", "reference", "expires_on"):
        assert f'id="{name}-error"' in first.text and f'href="#{name}"' in first.text
    assert 'tabindex="-1"' in first.text and "autofocus" in first.text  # the summary takes the focus
    # The file was held for the retry: the form names it, and nothing was saved.
    assert "Kept from your last try: dpa.pdf" in first.text
    handle = re.search(r'name="held_document" value="([^"]+)"', first.text).group(1)
    assert await Contract.count() == 1 and await HeldUpload.count() == 1

    fixed = {**fields, "title": "DPA 2025", "reference": "DPA-2", "expires_on": "", "held_document": handle}
    second = await client.post(url, data=fixed)  # the file is not chosen again
    assert second.status_code == 303, summary_of(second.text)
    stored = (await client.get("/contracts", headers=auth(), params={"vendor_id": vendor["id"]})).json()
    [saved] = [c for c in stored["items"] if c["reference"] == "DPA-2"]
    assert saved["document"]["filename"] == "dpa.pdf" and saved["document"]["size"] == len(PDF)
    assert await HeldUpload.count() == 0  # released once saved
    page = await client.get(second.headers["location"])
    assert '<p class="notice" role="status">The contract was saved.</p>' in page.text
    again = await client.get(second.headers["location"])
    assert "The contract was saved." not in again.text  # said once


async def test_a_held_file_is_only_its_persons(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    await sign_in(client)
    url = f"/ui/vendors/{vendor['id']}/contracts/new"
    csrf = csrf_of((await client.get(url)).text)
    fields = {
        "csrf": csrf,
        "kind": "dpa",
        "title": "",
        "end_of_contract": "delete",
        "deletion_deadline_days": "30",
    }
    refused = await client.post(url, data=fields, files={"document": ("dpa.pdf", PDF, "application/pdf")})
    handle = re.search(r'name="held_document" value="([^"]+)"', refused.text).group(1)
    client.cookies.clear()
    await sign_in(client, name="admin-person")
    other_csrf = csrf_of((await client.get(url)).text)
    taken = await client.post(
        url, data={**fields, "csrf": other_csrf, "title": "DPA", "held_document": handle}
    )
    assert taken.status_code == 303
    [contract] = (await client.get("/contracts", headers=auth())).json()["items"]
    assert contract["document"] is None  # another person's handle brings no file
    assert await HeldUpload.select(HeldUpload.person, HeldUpload.filename) == [
        {"person": "person:editor-person", "filename": "dpa.pdf"}
    ]


async def test_messages_name_the_label_and_the_rule(client, auth, people):  # noqa: F811
    await sign_in(client)
    csrf = csrf_of((await client.get("/ui/vendors/new")).text)
    body = {
        "csrf": csrf,
        "name": "x" * 201,
        "kind": "",
        "country": "XXX",
        "website": "northwind",
        "tags": "A B",
    }
    response = await client.post("/ui/vendors/new", data=body)
    assert response.status_code == 400
    assert summary_of(response.text) == [
        "Name: at most 200 characters.",
        "Kind: choose one of the options.",
        "Country: choose a country from the list, or type its two-letter code, such as IE.",
        "Website: a full web address, such as https://example.com.",
        "Tags: each one lower-case letters, digits, '.', '_' or '-', at most 40 characters.",
    ]
    assert "String should have" not in response.text and "Input should be" not in response.text
    assert await Vendor.count() == 0


async def test_a_country_is_chosen_by_its_name(client, auth, people):  # noqa: F811
    await sign_in(client)
    form = await client.get("/ui/vendors/new")
    assert 'list="countries"' in form.text and '<option value="Ireland"></option>' in form.text
    body = {"csrf": csrf_of(form.text), "name": "Northwind", "kind": "service_provider", "country": "ireland"}
    response = await client.post("/ui/vendors/new", data=body)
    assert response.status_code == 303
    vendor = await Vendor.select(Vendor.id, Vendor.country).first()
    assert vendor["country"] == "IE"
    edit = await client.get(f"/ui/vendors/{vendor['id']}/edit")
    assert 'value="Ireland"' in edit.text  # shown by name when editing too


async def test_a_disclosure_form_in_one_round(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], title="Hosting DPA")
    await make_contract(client, auth, vendor["id"], title="Old draft", signed_on=None)
    await sign_in(client)
    url = f"/ui/vendors/{vendor['id']}/disclosures/new"
    form = await client.get(url)
    # The one contract in force is chosen already; the picker can be searched and says what is ticked.
    assert f'<option value="{contract["id"]}" selected>Hosting DPA</option>' in form.text
    assert 'class="tree-filter"' in form.text and "Nothing ticked yet." in form.text
    body = {
        "csrf": csrf_of(form.text),
        "basis": "consent",
        "purpose": "essential.service",
        "categories": ["user.contact.email"],
        "data_subjects": [],
        "valid_from": "2025-06-01",
        "valid_to": "2025-05-31",
    }
    response = await client.post(url, data=body)
    assert response.status_code == 400
    assert summary_of(response.text) == [
        "Consent reference: required when the legal basis is consent.",
        "Data subjects: choose at least one.",
        "End date must not be before the start date.",
    ]
    assert "Ticked: User Contact Email" in response.text


async def test_terminating_says_what_follows_and_asks_to_confirm(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], title="Hosting DPA", deletion_deadline_days=45)
    await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from="2025-02-01")
    await sign_in(client)
    page = await client.get(f"/ui/contracts/{contract['id']}/terminate")
    follows = page.text.split('id="follows"')[1].split("</section>")[0]
    assert "The disclosure of User Contact Email (from 1 Feb 2025) ends on the last day in force." in follows
    assert "within 45 days of the last day in force" in follows
    due = date.today() + timedelta(days=45)  # for a termination today, until a day is typed
    assert f'data-days="45" data-after="terminated_on" aria-live="polite">{due.day} {due:%b %Y}<' in follows
    assert "Terminate the contract only if this is what you mean to happen." in follows
    ended = await client.post(
        f"/ui/contracts/{contract['id']}/terminate",
        data={"csrf": csrf_of(page.text), "terminated_on": "2025-06-30", "reason": "moved"},
    )
    assert ended.status_code == 303
    shown = await client.get(ended.headers["location"])
    assert "The contract was terminated" in shown.text
    assert "editor-person terminated the contract “Hosting DPA”" in shown.text


async def test_a_deletion_report_in_one_round(client, auth, people):  # noqa: F811
    await ended_contract(client, auth)  # backups covered: the report must say how they were handled
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    await sign_in(client)
    url = f"/ui/deletions/{deletion['id']}/confirm"
    form = await client.get(url)
    assert "The deletion of User Contact Email, due 30 Jul 2025; backups are in scope." in form.text
    body = {
        "csrf": csrf_of(form.text),
        "performed_by.name": "Ana Ruiz",
        "performed_by.title": "Head of IT",
        "performed_by.organisation": "Acme Hosting GmbH",
        "verified_by.name": "",
        "verified_by.title": "DPO",
        "verified_by.organisation": "Acme Hosting GmbH",
        "method_category": "x",
        "technique": "cryptographic_erase",
        "systems": "Support desk",
        "completed_on": "2025-06-01",
        "verification_method": "Sampled 50 ids",
        "verification_result": "No records found",
        "verification_outcome": "passed",
    }
    response = await client.post(url, data=body)
    assert response.status_code == 400
    assert summary_of(response.text) == [
        "Verified by: name: required.",
        "Method (NIST SP 800-88): choose one of the options.",
        "How backups were handled: required, as the contract covers backups.",
        "Last backup copy expires on: required, as the contract covers backups.",
        "Completed on: must not be before the contract ended (30 Jun 2025).",
    ]
    assert (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()["confirmations"] == []
