"""Exports carry roles and transfer mechanisms (issue 20 item 5): the recipients CSV, the register
workbook, and the Fides manifest (responsibility, transfers), read back by the Fides import."""

import csv
import io

import openpyxl
import pytest

from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.test_fides import export, post_yaml, systems_of

pytestmark = pytest.mark.anyio
SCC = {"mechanism": "scc_2021", "scc_module": 2, "tia_date": "2025-01-15", "tia_reference": "TIA-1"}


@pytest.fixture
async def recorded(client, auth) -> tuple[dict, dict]:
    """Harbor (US) receives under SCCs from IE; Group (CN) receives as an independent controller."""
    harbor = await make_vendor(client, auth, name="Harbor", country="US")
    contract = await make_contract(client, auth, harbor["id"], reference="DPA-H", expires_on="2030-12-31")
    sent = await make_disclosure(client, auth, harbor["id"], contract["id"], origin="IE")
    put = await client.put(f"/disclosures/{sent['id']}/transfer", json=SCC, headers=auth("editor"))
    assert put.status_code == 201, put.text
    group = await make_vendor(client, auth, name="Group", country="CN")
    nda = await make_contract(client, auth, group["id"], reference="NDA-G", kind="nda")
    given = await make_disclosure(
        client, auth, group["id"], nda["id"], role="independent_controller", origin="CN"
    )
    return sent, given


async def test_the_recipients_csv_carries_role_origin_and_mechanism(client, auth, recorded):
    response = await client.get("/exports/recipients.csv", headers=auth("viewer"))
    rows = {r["vendor_name"]: r for r in csv.DictReader(io.StringIO(response.text))}
    harbor, group = rows["Harbor"], rows["Group"]
    assert (harbor["role"], harbor["origin_country"], harbor["destination_country"]) == (
        "processor",
        "IE",
        "US",
    )
    assert harbor["transfer_mechanism"] == "scc_2021"
    assert (group["role"], group["origin_country"], group["transfer_mechanism"]) == (
        "independent_controller",
        "CN",
        "",
    )


async def test_the_register_workbook_has_a_transfers_sheet(client, auth, recorded):
    sent, _ = recorded
    response = await client.get("/exports/register.xlsx", headers=auth("viewer"))
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book["transfers"].values)
    header, [record] = rows[0], rows[1:]
    values = dict(zip(header, record, strict=True))
    assert (values["disclosure_id"], values["mechanism"], values["scc_module"]) == (sent["id"], "scc_2021", 2)
    assert values["tia_reference"] == "TIA-1" and values["country"] == "US"
    disclosures = list(book["disclosures"].values)
    roles = [dict(zip(disclosures[0], r, strict=True))["role"] for r in disclosures[1:]]
    assert sorted(roles) == ["independent_controller", "processor"]


async def test_fides_carries_responsibility_and_transfers_and_reads_the_role_back(client, auth, recorded):
    systems = systems_of(await export(client, auth))
    harbor, group = systems["Harbor"], systems["Group"]
    assert [getattr(r, "value", r) for r in harbor.responsibility] == ["Processor"]
    assert harbor.does_international_transfers is True and harbor.legal_basis_for_transfers == ["SCCs"]
    [facts] = harbor.meta["registry"]["declarations"].values()
    assert (facts["origin"], facts["transfer_mechanism"]) == ("IE", "scc_2021")
    assert [getattr(r, "value", r) for r in group.responsibility] == ["Controller"]
    assert group.does_international_transfers is False and not group.legal_basis_for_transfers

    # Read back: a foreign manifest that names only fideslang's responsibility gives the role.
    imported = await post_yaml(client, auth, FOREIGN)
    assert imported.status_code == 200, imported.text
    listed = await client.get("/disclosures", params={"role": "independent_controller"}, headers=auth())
    assert sorted(d["purpose"] for d in listed.json()["items"]) == [
        "essential.service.operations.support",
        "marketing",
    ]


FOREIGN = """
system:
  - fides_key: group
    name: Group
    system_type: Third Party
    responsibility: [Controller]
    privacy_declarations:
      - name: marketing
        data_categories: [user.name]
        data_use: marketing
        data_subjects: [customer]
        legal_basis_for_processing: Legal obligations
"""


async def test_the_recipients_pdf_names_the_role_and_the_mechanism(client, auth, recorded):
    from pypdf import PdfReader

    response = await client.get("/exports/recipients.pdf", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Processor (entrusted party)" in text and "Independent controller (another handler)" in text
    assert "from IE: Standard contractual clauses (2021)" in text
    assert "from CN:" not in text  # CN to CN is no transfer
