"""Roles and transfers through the web interface and the demo data (issue 20): the transfer record
form, the dashboard's transfer items, the role on the disclosure form, the demo's records."""

import pytest

from registry.auth import WriteContext
from registry.demo import load_demo
from registry.tables import Change, Transfer
from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 - the fixture is used by name
from tests.test_web_forms import summary_of

pytestmark = pytest.mark.anyio


async def us_disclosure(client, auth) -> dict:
    vendor = await make_vendor(client, auth, name="Meridian", country="US")
    contract = await make_contract(client, auth, vendor["id"], expires_on="2030-12-31")
    return await make_disclosure(
        client, auth, vendor["id"], contract["id"], origin="IE", valid_from="2025-02-01"
    )


async def allowed(client, auth, disclosure: dict) -> dict:
    body = {"vendor": disclosure["vendor_id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    return (await client.post("/lookup/check", json=body, headers=auth("lookup"))).json()


async def test_the_dashboard_flags_a_transfer_until_the_form_records_sccs(client, auth, people):  # noqa: F811
    disclosure = await us_disclosure(client, auth)
    await sign_in(client)
    dashboard = await client.get("/ui/")
    assert "Transfer without a mechanism" in dashboard.text
    assert "no transfer mechanism is recorded for data from Ireland to United States" in dashboard.text
    assert (await allowed(client, auth, disclosure))["allowed"] is False
    vendor_page = await client.get(f"/ui/vendors/{disclosure['vendor_id']}")
    assert "From Ireland: no mechanism recorded" in vendor_page.text
    assert "Processor (entrusted party)" in vendor_page.text

    url = f"/ui/disclosures/{disclosure['id']}/transfer"
    csrf = csrf_of((await client.get(url)).text)
    refused = await client.post(url, data={"csrf": csrf, "mechanism": "scc_2021"})
    assert refused.status_code == 400
    assert any("SCC module" in line and "module 1, 2, 3 or 4" in line for line in summary_of(refused.text))
    assert await Transfer.count() == 0
    fields = {
        "csrf": csrf,
        "mechanism": "scc_2021",
        "scc_module": "2",
        "tia_date": "2025-01-15",
        "tia_reference": "TIA-7",
        "tia_review_by": "2030-01-15",
    }
    saved = await client.post(url, data=fields)
    assert saved.status_code == 303, summary_of(saved.text)
    [change] = await Change.select(Change.actor).where(Change.object_type == "transfer")
    assert change["actor"] == "person:editor-person"
    assert (await allowed(client, auth, disclosure))["allowed"] is True
    assert "Transfer without a mechanism" not in (await client.get("/ui/")).text
    page = (await client.get(f"/ui/vendors/{disclosure['vendor_id']}")).text
    assert "From Ireland: Standard contractual clauses (2021)" in page
    edit = await client.get(url)
    assert 'value="TIA-7"' in edit.text


async def test_the_disclosure_form_records_the_role(client, auth, people):  # noqa: F811
    vendor = await make_vendor(client, auth, name="Group", country="CN")
    await sign_in(client)
    url = f"/ui/vendors/{vendor['id']}/disclosures/new"
    page = await client.get(url)
    assert "Independent controller (another handler)" in page.text
    fields = {
        "csrf": csrf_of(page.text),
        "role": "independent_controller",
        "basis": "consent",
        "consent_reference": "Separate consent v3",
        "purpose": "essential.service",
        "categories": ["user.name"],
        "data_subjects": ["customer"],
        "valid_from": "2025-02-01",
        "origin": "CN",
    }
    saved = await client.post(url, data=fields)
    assert saved.status_code == 303, summary_of(saved.text)
    [disclosure] = (await client.get("/disclosures", headers=auth())).json()["items"]
    assert (disclosure["role"], disclosure["origin"], disclosure["country"]) == (
        "independent_controller",
        "CN",
        "CN",
    )


async def _vendor_named(client, auth, name: str) -> dict:
    found = (await client.get("/vendors", params={"limit": 100}, headers=auth())).json()["items"]
    return next(v for v in found if v["name"] == name)


async def test_the_demo_records_roles_and_transfers(client, auth):
    await load_demo(WriteContext(actor="cli:demo"))
    report = (await client.get("/reports/supervision", headers=auth())).json()["items"]
    processon = await _vendor_named(client, auth, "ProcessOn Group Holdings")
    clauses = [
        i for i in report if i["kind"] == "contract_clauses_missing" and i["vendor_id"] == processon["id"]
    ]
    assert all("Art. 28(3)" not in i["summary"] and "Art. 21" not in i["summary"] for i in clauses)
    conformance = (await client.get(f"/vendors/{processon['id']}/conformance", headers=auth())).json()
    assert not [c for c in conformance["missing_clauses"] if c.startswith(("gdpr-28", "pipl-21", "pipl-23"))]
    lumen = await _vendor_named(client, auth, "Lumen Legal Agents LLP")
    lumen_clauses = (await client.get(f"/vendors/{lumen['id']}/conformance", headers=auth())).json()
    assert "gdpr-28-3-a" in lumen_clauses["missing_clauses"]  # a processor: still held to Art. 28(3)

    meridian = await _vendor_named(client, auth, "Meridian Analytics")
    flagged = [i for i in report if i["kind"] == "transfer_without_mechanism"]
    assert [i["vendor_id"] for i in flagged] == [meridian["id"]]
    body = {"vendor": meridian["id"], "categories": ["user.behavior"]}
    answer = (await client.post("/lookup/check", json=body, headers=auth("lookup"))).json()
    assert answer["allowed"] is False and "no transfer mechanism" in answer["reasons"][0]
    [lumen_disclosure] = (
        await client.get("/disclosures", params={"vendor_id": lumen["id"]}, headers=auth())
    ).json()["items"]
    record = (await client.get(f"/disclosures/{lumen_disclosure['id']}/transfer", headers=auth())).json()
    assert (record["mechanism"], record["origin"], record["problems"]) == ("standard_contract", "CN", [])
    body = {"vendor": lumen["id"], "categories": ["user.name"]}
    assert (await client.post("/lookup/check", json=body, headers=auth("lookup"))).json()["allowed"] is True
