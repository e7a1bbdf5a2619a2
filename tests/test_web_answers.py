"""Pages that answer what a person asks: the signed contract opens, a refused reference is marked."""

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
from pypdf import PdfReader

from tests.conftest import confirmed_deletion, ended_contract, make_contract, make_disclosure, make_vendor
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 - people is a fixture

pytestmark = pytest.mark.anyio

SIGNED = b"%PDF-1.7\n% the signed DPA\n%%EOF\n"


async def contract_with_document(client, auth) -> tuple[dict, dict]:
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], title="Hosting DPA")
    response = await client.put(
        f"/contracts/{contract['id']}/document",
        params={"filename": "dpa signed é.pdf"},
        content=SIGNED,
        headers={**auth("editor"), "Content-Type": "application/pdf"},
    )
    assert response.status_code == 200, response.text
    return vendor, contract


class TestSignedContract:
    async def test_opens_from_the_vendor_page(self, client, auth, people):  # noqa: F811
        vendor, contract = await contract_with_document(client, auth)
        await sign_in(client, name="viewer-person")
        page = (await client.get(f"/ui/vendors/{vendor['id']}")).text
        href = f"/ui/contracts/{contract['id']}/document"
        assert f'<a href="{href}" download>dpa signed é.pdf</a>' in page
        response = await client.get(href)
        assert response.status_code == 200
        assert response.content == SIGNED
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["x-content-type-options"] == "nosniff"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="dpa_signed_.pdf"')
        assert "filename*=UTF-8''dpa%20signed%20%C3%A9.pdf" in disposition

    async def test_opens_from_the_contract_page(self, client, auth, people):  # noqa: F811
        _, contract = await contract_with_document(client, auth)
        await sign_in(client, name="editor-person")
        page = (await client.get(f"/ui/contracts/{contract['id']}/edit")).text
        assert f'<a href="/ui/contracts/{contract["id"]}/document" download>dpa signed é.pdf</a>' in page

    async def test_needs_a_session_and_the_viewer_role(self, client, auth, people):  # noqa: F811
        _, contract = await contract_with_document(client, auth)
        href = f"/ui/contracts/{contract['id']}/document"
        anonymous = await client.get(href)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login")
        api_key = await client.get(href, headers=auth())
        assert api_key.status_code == 303  # a key opens the API, not pages
        await sign_in(client, name="lookup-person")
        refused = await client.get(href)
        assert refused.status_code == 403 and SIGNED not in refused.content

    async def test_a_contract_without_a_document_is_a_404_page(self, client, auth, people):  # noqa: F811
        vendor = await make_vendor(client, auth, name="Acme")
        contract = await make_contract(client, auth, vendor["id"])
        await sign_in(client, name="viewer-person")
        for href in (f"/ui/contracts/{contract['id']}/document", "/ui/contracts/99999999999/document"):
            response = await client.get(href)
            assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


async def test_a_taken_reference_marks_the_reference_field(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Acme")
    await make_contract(client, auth, vendor["id"], title="First DPA", reference="DPA-1")
    await sign_in(client)
    csrf = csrf_of((await client.get(f"/ui/vendors/{vendor['id']}/contracts/new")).text)
    fields = {
        "csrf": csrf,
        "kind": "dpa",
        "title": "Second DPA",
        "reference": "DPA-1",
        "end_of_contract": "delete",
        "deletion_deadline_days": "30",
    }
    response = await client.post(f"/ui/vendors/{vendor['id']}/contracts/new", data=fields)
    assert response.status_code == 400
    marked = re.search(r'<p class="error" id="reference-error">([^<]*)</p>', response.text)
    assert marked, response.text
    assert "First DPA" in marked.group(1)
    assert re.search(r'id="reference"[^>]*aria-invalid="true"', response.text)
    api = await client.post(
        "/contracts",
        json={"vendor_id": vendor["id"], "kind": "dpa", "title": "Third", "reference": "DPA-1"},
        headers=auth(),
    )
    assert api.status_code == 409
    assert [e["field"] for e in api.json()["errors"]] == ["reference"]


@pytest.fixture
async def march(client, auth) -> dict:
    """E-mail addresses went to one vendor in March 2026 only, to another before it and a third after."""
    made = {}
    for name, start, end in [
        ("=Acme", "2026-03-10", "2026-03-20"),
        ("Before", "2026-01-01", "2026-02-28"),
        ("After", "2026-04-01", None),
    ]:
        vendor = await make_vendor(client, auth, name=name)
        contract = await make_contract(client, auth, vendor["id"], title=f"{name} DPA", reference=f"R-{name}")
        await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from=start, valid_to=end)
        made[name] = (vendor, contract)
    return made


MARCH = {"category": "user.contact.email", "from": "2026-03-01", "to": "2026-03-31"}


class TestLookupOverAPeriod:
    async def test_one_look_up_answers_for_a_month(self, client, people, march):  # noqa: F811
        await sign_in(client, name="viewer-person")
        page = await client.get("/ui/lookup", params=MARCH)
        assert page.status_code == 200
        assert "1 recipient disclosure of" in page.text
        assert "between 1 Mar 2026 and 31 Mar 2026" in page.text
        vendor, contract = march["=Acme"]
        link = f'<a href="/ui/vendors/{vendor["id"]}#contract-{contract["id"]}">=Acme DPA</a>'
        assert link in page.text
        assert "Before DPA" not in page.text and "After DPA" not in page.text
        assert f'id="contract-{contract["id"]}"' in (await client.get(f"/ui/vendors/{vendor['id']}")).text
        # The same question on one day of it: nobody yet on the 1st.
        day = await client.get("/ui/lookup", params={"category": "user.contact.email", "as_of": "2026-03-01"})
        assert "0 recipient disclosures" in day.text

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"from": "2026-03-01"}, "Give both the first and the last day."),
            ({"from": "2026-03-31", "to": "2026-03-01"}, "The last day must not be before the first."),
            ({"from": "2026-02-30", "to": "2026-03-01"}, "The date must be written YYYY-MM-DD."),
        ],
    )
    async def test_a_bad_period_is_said_in_words(self, client, people, params, message):  # noqa: F811
        await sign_in(client, name="lookup-person")
        page = await client.get("/ui/lookup", params={"category": "user.contact.email", **params})
        assert page.status_code == 200 and message in page.text
        export = await client.get(
            "/ui/lookup/export/csv", params={"category": "user.contact.email", **params}
        )
        assert export.status_code == 422 and message in export.text

    async def test_exports_print_the_question_and_the_period(self, client, people, march):  # noqa: F811
        await sign_in(client, name="lookup-person")
        page = (await client.get("/ui/lookup", params=MARCH)).text
        assert (
            "/ui/lookup/export/csv?category=user.contact.email&amp;from=2026-03-01&amp;to=2026-03-31" in page
        )
        question = "Who received"
        csv_ = await client.get("/ui/lookup/export/csv", params=MARCH)
        assert csv_.status_code == 200 and csv_.headers["content-type"].startswith("text/csv")
        assert "attachment" in csv_.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(csv_.text)))
        assert (
            rows[0][0] == "Question"
            and rows[0][1].startswith(question)
            and "(user.contact.email)" in rows[0][1]
        )
        assert rows[1] == ["Period", "between 1 Mar 2026 and 31 Mar 2026 (any day of it)"]
        assert rows[4][0] == "Vendor" and [r[0] for r in rows[5:]] == ["'=Acme"]  # no formula runs on open
        assert rows[5][5:7] == ["'=Acme DPA", "R-=Acme"]
        xlsx = await client.get("/ui/lookup/export/xlsx", params=MARCH)
        assert xlsx.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet["A1"].value == "Question" and sheet["B1"].value.startswith(question)
        assert sheet["B2"].value.startswith("between 1 Mar 2026")
        assert sheet["A6"].value == "=Acme" and sheet["A6"].data_type == "s"  # text, not a formula
        pdf = await client.get("/ui/lookup/export/pdf", params=MARCH)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert question in text and "between 1 Mar 2026 and 31 Mar 2026" in text and "=Acme DPA" in text

    async def test_exports_need_a_session(self, client):
        response = await client.get("/ui/lookup/export/csv", params=MARCH)
        assert response.status_code == 303 and response.headers["location"].startswith("/ui/login")

    async def test_an_unknown_format_is_a_404(self, client, people):  # noqa: F811
        await sign_in(client, name="lookup-person")
        response = await client.get("/ui/lookup/export/docx", params=MARCH)
        assert response.status_code == 404 and "csv, xlsx or pdf" in response.text


async def test_the_recipients_pdf_takes_a_day(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Spring Mailer")
    contract = await make_contract(client, auth, vendor["id"])
    await make_disclosure(
        client, auth, vendor["id"], contract["id"], valid_from="2025-02-01", valid_to="2025-03-31"
    )
    await sign_in(client, name="viewer-person")
    assert 'action="/ui/data/recipients.pdf"' in (await client.get("/ui/data")).text
    then = await client.get("/ui/data/recipients.pdf", params={"as_of": "2025-03-01"})
    assert then.status_code == 200
    assert then.headers["content-disposition"] == 'attachment; filename="recipients-2025-03-01.pdf"'
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(then.content)).pages)
    assert "Spring Mailer" in text and "2025-03-01" in text
    today = await client.get("/ui/data/recipients.pdf")
    assert today.status_code == 200
    assert "Spring Mailer" not in " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(today.content)).pages
    )
    bad = await client.get("/ui/data/recipients.pdf", params={"as_of": "2025-02-30"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


class TestDashboardActions:
    async def test_items_link_to_the_form_that_settles_them(self, client, auth, people):  # noqa: F811
        from registry import clock
        from registry.tables import Vendor

        vendor, _ = await ended_contract(client, auth)  # its deletion is overdue
        [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
        holder = await make_vendor(client, auth, name="Holder")
        await make_contract(client, auth, holder["id"])
        await Vendor.update({Vendor.created_at: clock.now() - timedelta(days=60)}).where(Vendor.id > 0)
        await sign_in(client)
        page = (await client.get("/ui/")).text
        assert (
            f'<a class="action" href="/ui/deletions/{deletion["id"]}/confirm">Record a confirmation</a>'
            in page
        )
        review = f"/ui/vendors/{holder['id']}?note=review#journal"
        assert f'<a class="action" href="{review}">Record a review</a>' in page
        form = (await client.get(review.split("#")[0])).text
        assert '<option value="review" selected>' in form
        # A viewer cannot act: the item links the vendor only.
        await sign_in(client, name="viewer-person")
        assert 'class="action"' not in (await client.get("/ui/")).text.split('id="sev-gap"')[0]

    async def test_a_confirmed_deletion_is_attested_from_the_dashboard(self, client, auth, people):  # noqa: F811
        deletion = await confirmed_deletion(client, auth)
        await sign_in(client)
        page = (await client.get("/ui/")).text
        assert f'action="/ui/deletions/{deletion["id"]}/attestation"' in page
        response = await client.post(
            f"/ui/deletions/{deletion['id']}/attestation", data={"csrf": csrf_of(page)}
        )
        assert response.status_code == 303
        assert (await client.get("/attestations", headers=auth())).json()["total"] == 1

    async def test_a_new_vendor_is_not_due_a_review_on_its_first_day(self, client, auth, people):  # noqa: F811
        holder = await make_vendor(client, auth, name="Brand new")
        await make_contract(client, auth, holder["id"])
        await sign_in(client)
        assert "Never reviewed" not in (await client.get("/ui/")).text
