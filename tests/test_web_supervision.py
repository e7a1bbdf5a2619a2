"""Supervision in the web interface: the journal on a vendor's page, required clauses, the clause filter
on the vendor list, and the clause fields of the contract form."""

import pytest

from registry.tables import Change, JournalEntry
from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.test_conformance import EVERY_CLAUSE
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio


async def test_a_note_added_on_the_vendor_page(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], title="Main DPA")
    await sign_in(client)
    page = await client.get(f"/ui/vendors/{vendor['id']}")
    assert page.status_code == 200
    assert "No journal entries." in page.text
    assert f'<option value="contract:{contract["id"]}">Contract: Main DPA</option>' in page.text
    body = {
        "about": f"contract:{contract['id']}",
        "kind": "finding",
        "text": "Sub-processor list <b>not</b> sent",
        "csrf": csrf_of(page.text),
    }
    saved = await client.post(f"/ui/vendors/{vendor['id']}/journal", data=body)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/ui/vendors/{vendor['id']}#journal"
    [entry] = await JournalEntry.select()
    assert entry["object_type"] == "contract" and entry["object_id"] == contract["id"]
    assert entry["author"] == "person:editor-person" and entry["kind"] == "finding"
    page = await client.get(f"/ui/vendors/{vendor['id']}")
    assert "Journal (1)" in page.text
    assert "Sub-processor list &lt;b&gt;not&lt;/b&gt; sent" in page.text  # user text is text
    # In words (issue 21): the note names its record and its author; the history lists it with the
    # vendor's other changes.
    assert f"<strong>Finding</strong> about the contract “{contract['title']}” by editor-person," in page.text
    assert "editor-person added a journal note — <time" in page.text
    assert await Change.count().where(Change.object_type == "journal_entry") == 1


async def test_a_bad_note_keeps_what_was_typed(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    other = await make_vendor(client, auth, name="Other")
    foreign = await make_contract(client, auth, other["id"], title="Not theirs")
    await sign_in(client)
    csrf = csrf_of((await client.get(f"/ui/vendors/{vendor['id']}")).text)
    empty = await client.post(
        f"/ui/vendors/{vendor['id']}/journal",
        data={"about": f"vendor:{vendor['id']}", "kind": "warning", "text": "  ", "csrf": csrf},
    )
    assert empty.status_code == 400
    assert 'id="text-error"' in empty.text and 'aria-invalid="true"' in empty.text
    assert '<option value="warning" selected>' in empty.text
    elsewhere = await client.post(
        f"/ui/vendors/{vendor['id']}/journal",
        data={"about": f"contract:{foreign['id']}", "kind": "info", "text": "Kept text", "csrf": csrf},
    )
    assert elsewhere.status_code == 400
    assert "choose one of this vendor&#39;s records" in elsewhere.text
    assert "Kept text" in elsewhere.text
    forged = await client.post(
        f"/ui/vendors/{vendor['id']}/journal",
        data={"about": f"vendor:{vendor['id']}", "kind": "info", "text": "x", "csrf": "guess"},
    )
    assert forged.status_code == 403
    assert await JournalEntry.count() == 0


async def test_viewers_read_the_journal_but_do_not_write(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    await sign_in(client, name="viewer-person")
    page = await client.get(f"/ui/vendors/{vendor['id']}")
    assert page.status_code == 200 and "Journal (0)" in page.text
    assert "Add to the journal" not in page.text
    response = await client.post(
        f"/ui/vendors/{vendor['id']}/journal",
        data={"about": f"vendor:{vendor['id']}", "kind": "info", "text": "x", "csrf": csrf_of(page.text)},
    )
    assert response.status_code in (303, 403)
    assert await JournalEntry.count() == 0


async def test_required_clauses_on_the_vendor_page_and_the_filter(client, auth, people):  # noqa: F811
    gaps = await make_vendor(client, auth, name="Gappy")
    await make_contract(client, auth, gaps["id"], title="Thin NDA")
    complete = await make_vendor(client, auth, name="Complete")
    full = await make_contract(client, auth, complete["id"], title="Full DPA", **EVERY_CLAUSE)
    await sign_in(client, name="viewer-person")
    # No disclosure under it yet, so PIPL's categories are the one clause missing.
    page = await client.get(f"/ui/vendors/{complete['id']}")
    assert "lack 1 of 19 required clauses" in page.text
    assert "PIPL Art. 21: Agrees the categories" in page.text
    assert "Full DPA (active): 18 of 19 clauses" in page.text
    await make_disclosure(client, auth, complete["id"], full["id"])
    page = await client.get(f"/ui/vendors/{complete['id']}")
    assert "The contracts in force together have all 19 required clauses." in page.text
    assert "Full DPA (active): all clauses" in page.text

    page = await client.get(f"/ui/vendors/{gaps['id']}")
    assert "Required clauses" in page.text
    assert "The contracts in force together lack 18 of 19 required clauses:" in page.text
    assert "GDPR Art. 28(3)(a): Processes the data only on the controller" in page.text
    listed = await client.get("/ui/vendors", params={"conformance": "gaps"})
    assert ">Gappy</a>" in listed.text and ">Complete</a>" not in listed.text
    assert '<option value="gaps" selected>' in listed.text
    listed = await client.get("/ui/vendors", params={"conformance": "complete"})
    assert ">Gappy</a>" not in listed.text and ">Complete</a>" in listed.text


async def test_the_contract_form_records_the_clauses(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    await sign_in(client)
    form = await client.get(f"/ui/vendors/{vendor['id']}/contracts/new")
    assert 'name="assists_compliance"' in form.text and 'name="processing_method"' in form.text
    body = {
        "kind": "dpa",
        "title": "Web DPA",
        "signed_on": "2025-01-01",
        "effective_from": "2025-01-01",
        "end_of_contract": "delete",
        "deletion_deadline_days": "30",
        "documented_instructions": "on",
        "assists_compliance": "on",
        "processing_method": "Hosted storage",
        "csrf": csrf_of(form.text),
    }
    saved = await client.post(f"/ui/vendors/{vendor['id']}/contracts/new", data=body)
    assert saved.status_code == 303, saved.text
    [contract] = (await client.get("/contracts", headers=auth())).json()["items"]
    assert contract["documented_instructions"] is True and contract["assists_compliance"] is True
    assert contract["personnel_confidentiality"] is False
    assert contract["processing_method"] == "Hosted storage"
    result = (await client.get(f"/contracts/{contract['id']}/conformance", headers=auth())).json()
    present = {c["id"] for c in result["clauses"] if c["present"]}
    assert present == {"gdpr-28-3-a", "gdpr-28-3-f", "pipl-21-method", "pipl-21-instructions"}
