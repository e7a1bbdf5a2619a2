"""Exports: the whole register as JSON, XLSX and CSV (formula-safe), and the recipients register as PDF."""

import csv
import io
import zipfile

import openpyxl
import pytest
from pypdf import PdfReader

from registry.tables import Vendor
from tests.conftest import confirmed_deletion, make_contract, make_disclosure, make_vendor
from tests.test_web import people, sign_in  # noqa: F401 (people is a fixture)

pytestmark = pytest.mark.anyio

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
async def register(client, auth):
    deletion = await confirmed_deletion(client, auth)
    issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
    assert issued.status_code == 201
    vendor = await make_vendor(
        client, auth, name="<b>Formula</b> Ltd", notes=FORMULA, tags=["crm"], legal_name="Formula;=1+1 Ltd"
    )
    contract = await make_contract(client, auth, vendor["id"], title="+SUM(A1:A9)", reference="@REF")
    await make_disclosure(client, auth, vendor["id"], contract["id"], categories=["user.name"])
    return vendor


async def test_json_has_every_record(client, auth, register):
    response = await client.get("/exports/register.json", headers=auth("viewer"))
    assert response.status_code == 200
    data = response.json()
    assert data["controller"] == "Example Controller Ltd"
    assert [len(data[k]) for k in ("vendors", "contracts", "disclosures", "deletions", "attestations")] == [
        2,
        2,
        2,
        1,
        1,
    ]
    assert data["vendors"][1]["notes"] == FORMULA
    assert data["attestations"][0]["serial"].startswith("PRA-")


async def test_xlsx_cells_are_text_never_formulas(client, auth, register):
    response = await client.get("/exports/register.xlsx", headers=auth("viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="register-' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "vendors",
        "contracts",
        "disclosures",
        "transfers",
        "deletions",
        "attestations",
        "subprocessor_engagements",
    ]
    vendors = list(book["vendors"].iter_rows(values_only=True))
    header = vendors[0]
    notes = header.index("notes")
    assert vendors[2][notes] == FORMULA
    assert book["vendors"].cell(row=3, column=notes + 1).data_type == "s"
    contracts = list(book["contracts"].iter_rows())
    title = [c.value for c in contracts[0]].index("title")
    assert contracts[2][title].value == "+SUM(A1:A9)" and contracts[2][title].data_type == "s"
    deletions = list(book["deletions"].iter_rows(values_only=True))
    assert len(deletions) == 2 and "confirmations" in deletions[0]


async def test_csv_zip_is_formula_safe(client, auth, register):
    response = await client.get("/exports/register.zip", headers=auth("viewer"))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == sorted(
        f"{n}.csv"
        for n in (
            "vendors",
            "contracts",
            "disclosures",
            "transfers",
            "deletions",
            "attestations",
            "subprocessor_engagements",
        )
    )
    text = archive.read("vendors.csv").decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1]["notes"] == "'" + FORMULA
    assert rows[1]["name"] == "<b>Formula</b> Ltd"
    assert rows[1]["tags"] == "crm"
    # Every cell quoted: in locales where ";" separates cells, "Formula;=1+1" stays one cell.
    assert '"Formula;=1+1 Ltd"' in text
    contracts = list(
        csv.DictReader(io.StringIO(archive.read("contracts.csv").decode().removeprefix("\ufeff")))
    )
    assert contracts[1]["title"] == "'+SUM(A1:A9)" and contracts[1]["reference"] == "'@REF"


async def test_recipients_pdf(client, auth, register):
    response = await client.get(
        "/exports/recipients.pdf", params={"as_of": "2025-06-01"}, headers=auth("viewer")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Register of recipients" in text and "Example Controller Ltd" in text
    assert "Disclosures valid on 2025-06-01" in text
    assert "<b>Formula</b> Ltd" in text  # user text printed as text
    assert "Acme Hosting" in text and "user.contact.email" in text
    today = await client.get("/exports/recipients.pdf", headers=auth("viewer"))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(today.content)).pages)
    # The first contract was terminated in 2025: today only the second vendor receives data.
    assert "Acme Hosting" not in text and "<b>Formula</b> Ltd" in text


async def test_recipients_pdf_is_bounded(client, auth, register, monkeypatch):
    from registry.exports import controller

    monkeypatch.setattr(controller, "MAX_PDF_ROWS", 1)
    response = await client.get("/exports/recipients.pdf", params={"as_of": "2025-06-01"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "too_many_rows"


@pytest.mark.parametrize("path", ["register.json", "register.xlsx", "register.zip", "recipients.pdf"])
async def test_roles(client, auth, path):
    assert (await client.get(f"/exports/{path}", headers=auth("lookup"))).status_code == 403
    assert (await client.get(f"/exports/{path}")).status_code == 401


# Every start OWASP lists for CSV injection. Tab and CR cannot come in through the API (text is stripped
# and control characters are refused), but may be in older or imported rows: they are set via SQL.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
async def dangerous(client, auth) -> dict[int, str]:
    """One vendor, with a disclosure, per dangerous start: vendor id → its legal name."""
    names = {}
    for number, start in enumerate(FORMULA_STARTS):
        vendor = await make_vendor(client, auth, name=f"Vendor {number}")
        await make_disclosure(client, auth, vendor["id"], None, basis="consent", consent_reference="ref")
        names[vendor["id"]] = f"{start}1+cmd|' /C calc'!A{number}"
        await Vendor.update({Vendor.legal_name: names[vendor["id"]]}).where(Vendor.id == vendor["id"])
    return names


def legal_names(text: str, id_column: str, name_column: str) -> dict[int, str]:
    rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    return {int(row[id_column]): row[name_column] for row in rows}


def zipped_vendors(content: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(content)).read("vendors.csv").decode("utf-8")


async def test_every_formula_start_is_neutralised_in_every_csv(client, auth, dangerous, people):  # noqa: F811
    expected = {vendor_id: "'" + name for vendor_id, name in dangerous.items()}
    recipients = await client.get("/exports/recipients.csv", headers=auth("viewer"))
    assert legal_names(recipients.text, "vendor_id", "vendor_legal_name") == expected
    register = await client.get("/exports/register.zip", headers=auth("viewer"))
    assert legal_names(zipped_vendors(register.content), "id", "legal_name") == expected
    await sign_in(client, name="viewer-person")
    page_recipients = await client.get("/ui/data/recipients.csv")
    assert legal_names(page_recipients.text, "vendor_id", "vendor_legal_name") == expected
    page_register = await client.get("/ui/data/register.zip")
    assert legal_names(zipped_vendors(page_register.content), "id", "legal_name") == expected
    # The JSON keeps the text as it is: only spreadsheet cells need the guard.
    data = (await client.get("/exports/register.json", headers=auth("viewer"))).json()
    assert {v["id"]: v["legal_name"] for v in data["vendors"]} == dangerous


async def test_recipients_csv_cells_empty_lists_joined(client, auth):
    """A missing value is an empty cell (not "None"), a list one cell joined by ";" (mutation run)."""
    vendor = await make_vendor(client, auth, name="Cells Ltd")
    categories = ["user.contact.email", "user.name"]
    made = await make_disclosure(
        client, auth, vendor["id"], None, basis="consent", consent_reference="ref", categories=categories
    )
    response = await client.get("/exports/recipients.csv", headers=auth("viewer"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"), newline="")))
    row = next(r for r in rows if r["disclosure_id"] == str(made["id"]))
    assert sorted(row["categories"].split(";")) == categories and ";" in row["categories"]
    assert (row["contract_id"], row["contract_reference"], row["valid_to"]) == ("", "", "")
    assert (row["valid_from"], row["basis"]) == ("2025-02-01", "consent")
