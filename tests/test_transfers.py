"""International transfers (issue 20 item 2): the transfer record of a disclosure that leaves its
origin, the rules a mechanism must fit, and what the lookup check answers without one."""

import hashlib

import pytest

from registry.tables import Change, Transfer
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio

SCC = {
    "mechanism": "scc_2021",
    "scc_module": 2,
    "tia_date": "2025-01-15",
    "tia_reference": "TIA-2025-004",
    "tia_review_by": "2026-01-15",
}
PIPL = {
    "mechanism": "standard_contract",
    "filing_date": "2025-01-20",
    "filing_number": "SH-2025-0042",
    "separate_consent_reference": "Separate consent (PIPL Art. 39) v2",
    "tia_date": "2025-01-10",
    "tia_reference": "PIPIA-2025-01",
}


async def disclosure_to(client, auth, country: str, origin: str | None = None, since="2025-02-01") -> dict:
    vendor = await make_vendor(client, auth, name=f"Vendor in {country}", country=country)
    dates = {"signed_on": since, "effective_from": since, "expires_on": "2030-12-31"}
    contract = await make_contract(client, auth, vendor["id"], **dates)
    fields = {"origin": origin} if origin else {}
    return await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from=since, **fields)


async def check(client, auth, disclosure: dict, on: str = "2025-06-01") -> dict:
    body = {"vendor": disclosure["vendor_id"], "categories": ["user.contact.email"], "on": on}
    response = await client.post("/lookup/check", json=body, headers=auth("lookup"))
    assert response.status_code == 200, response.text
    return response.json()


async def put(client, auth, disclosure: dict, body: dict, role: str = "editor"):
    return await client.put(f"/disclosures/{disclosure['id']}/transfer", json=body, headers=auth(role))


async def transfer_rows() -> tuple[int, int]:
    return await Transfer.count(), await Change.count().where(Change.object_type == "transfer")


class TestTheCheck:
    async def test_a_transfer_to_the_us_without_a_mechanism_is_refused(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (disclosure["origin"], disclosure["country"]) == ("IE", "US")
        answer = await check(client, auth, disclosure)
        assert answer["allowed"] is False
        assert (
            "no transfer mechanism is recorded for data from Ireland to United States" in answer["reasons"][0]
        )

    async def test_allowed_once_sccs_with_an_assessment_are_recorded(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (await check(client, auth, disclosure))["allowed"] is False
        response = await put(client, auth, disclosure, SCC)
        assert response.status_code == 201, response.text
        record = response.json()
        assert (record["mechanism"], record["scc_module"], record["updated_by"]) == (
            "scc_2021",
            2,
            "test-editor",
        )
        [change] = await Change.select().where(Change.object_type == "transfer").output(load_json=True)
        assert (change["object_id"], change["action"]) == (str(disclosure["id"]), "create")
        assert change["after"]["tia_reference"] == "TIA-2025-004"
        answer = await check(client, auth, disclosure)
        assert answer["allowed"] is True, answer["reasons"]

    async def test_sccs_without_an_assessment_are_not_enough(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        response = await put(client, auth, disclosure, {"mechanism": "scc_2021", "scc_module": 2})
        assert response.status_code == 201, response.text
        assert response.json()["problems"] == [
            "no transfer impact assessment is recorded for its standard contractual clauses (2021)"
        ]
        answer = await check(client, auth, disclosure)
        assert answer["allowed"] is False and "transfer impact assessment" in answer["reasons"][0]

    async def test_an_assessment_past_its_review_date_is_refused(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (await put(client, auth, disclosure, SCC)).status_code == 201
        assert (await check(client, auth, disclosure, on="2026-01-15"))["allowed"] is True
        late = await check(client, auth, disclosure, on="2026-01-16")
        assert late["allowed"] is False
        assert "due for review on 2026-01-15" in late["reasons"][0]

    async def test_within_the_eea_no_record_is_needed(self, client, auth):
        disclosure = await disclosure_to(client, auth, "FR", origin="IE")
        assert (await check(client, auth, disclosure))["allowed"] is True
        response = await put(client, auth, disclosure, SCC)
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "not_a_transfer"

    async def test_data_leaving_china_under_the_standard_contract(self, client, auth):
        disclosure = await disclosure_to(client, auth, "SG", origin="CN")
        assert (await check(client, auth, disclosure))["allowed"] is False
        without_consent = {k: v for k, v in PIPL.items() if k != "separate_consent_reference"}
        assert (await put(client, auth, disclosure, without_consent)).status_code == 201
        refused = await check(client, auth, disclosure)
        assert refused["allowed"] is False and "PIPL Art. 39" in refused["reasons"][0]
        replaced = await put(client, auth, disclosure, PIPL)
        assert replaced.status_code == 200, replaced.text
        assert (replaced.json()["version"], replaced.json()["problems"]) == (2, [])
        assert (await check(client, auth, disclosure))["allowed"] is True

    async def test_adequacy_follows_the_decision_date(self, client, auth):
        disclosure = await disclosure_to(client, auth, "KR", origin="DE", since="2021-01-01")
        assert (await put(client, auth, disclosure, {"mechanism": "adequacy"})).status_code == 201
        assert (await check(client, auth, disclosure, on="2025-06-01"))["allowed"] is True
        before = await check(client, auth, disclosure, on="2021-12-16")
        assert "is in force on 2021-12-16" in " ".join(before["reasons"])


BAD = [
    (
        "adequacy for a country without a decision",
        "SG",
        "IE",
        {"mechanism": "adequacy"},
        "mechanism",
        "adequacy_decision",
    ),
    ("adequacy for the US without DPF", "US", "IE", {"mechanism": "adequacy"}, "dpf_certified", "required"),
    (
        "a PIPL filing for data not leaving China",
        "US",
        "IE",
        {**SCC, "filing_number": "SH-1"},
        "filing_number",
        "pipl_origin",
    ),
    (
        "a PIPL mechanism for data from the EEA",
        "US",
        "IE",
        PIPL | {"separate_consent_reference": None, "filing_date": None, "filing_number": None},
        "mechanism",
        "pipl_origin",
    ),
    ("a GDPR mechanism for origin CN", "US", "CN", SCC, "mechanism", "gdpr_origin"),
    ("SCCs without a module", "US", "IE", {"mechanism": "scc_2021"}, "scc_module", "required"),
    (
        "a module without SCCs",
        "US",
        "IE",
        {"mechanism": "bcr", "scc_module": 1},
        "scc_module",
        "not_applicable",
    ),
    ("a derogation without which", "US", "IE", {"mechanism": "derogation_49"}, "derogation", "required"),
    ("a filing for data staying in China", "CN", "CN", PIPL, "mechanism", "not_a_transfer"),
    (
        "a review before the assessment",
        "US",
        "IE",
        {**SCC, "tia_review_by": "2024-01-01"},
        "tia_review_by",
        "date_order",
    ),
]


@pytest.mark.parametrize(
    ("country", "origin", "body", "field", "rule"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
async def test_a_mechanism_that_does_not_fit_is_refused(client, auth, country, origin, body, field, rule):
    disclosure = await disclosure_to(client, auth, country, origin=origin)
    before = await transfer_rows()
    response = await put(client, auth, disclosure, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    assert (error["field"], error["rule"]) == (field, rule), error
    assert await transfer_rows() == before
    assert (await client.get(f"/disclosures/{disclosure['id']}/transfer", headers=auth())).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{**SCC, "scc_module": 5}, {"mechanism": "derogation_49", "derogation": "h"}, {"mechanism": "sccs"}],
)
async def test_malformed_records_are_refused(client, auth, body):
    disclosure = await disclosure_to(client, auth, "US", origin="IE")
    response = await put(client, auth, disclosure, body)
    assert response.status_code == 400, response.text
    assert await transfer_rows() == (0, 0)


class TestTheRecord:
    async def test_a_viewer_reads_and_cannot_write(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (await put(client, auth, disclosure, SCC, role="viewer")).status_code == 403
        assert await transfer_rows() == (0, 0)
        assert (await put(client, auth, disclosure, SCC)).status_code == 201
        read = await client.get(f"/disclosures/{disclosure['id']}/transfer", headers=auth("viewer"))
        assert read.status_code == 200 and read.json()["tia_review_by"] == "2026-01-15"

    async def test_a_stale_version_is_refused(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (await put(client, auth, disclosure, SCC)).status_code == 201
        headers = {**auth("editor"), "If-Match": '"7"'}
        stale = await client.put(f"/disclosures/{disclosure['id']}/transfer", json=SCC, headers=headers)
        assert stale.status_code == 412
        assert await transfer_rows() == (1, 1)

    async def test_the_document_is_stored_with_its_sha256(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US", origin="IE")
        assert (await put(client, auth, disclosure, SCC)).status_code == 201
        pdf = b"%PDF-1.7 signed SCCs module 2"
        url = f"/disclosures/{disclosure['id']}/transfer/document"
        headers = {**auth("editor"), "Content-Type": "application/pdf"}
        uploaded = await client.put(url, content=pdf, headers=headers, params={"filename": "scc.pdf"})
        assert uploaded.status_code == 200, uploaded.text
        digest = hashlib.sha256(pdf).hexdigest()
        assert uploaded.json()["document"] == {"filename": "scc.pdf", "sha256": digest}
        fetched = await client.get(url, headers=auth("viewer"))
        assert (fetched.content, fetched.headers["x-content-sha256"]) == (pdf, digest)
        actions = [
            c["action"] for c in await Change.select(Change.action).where(Change.object_type == "transfer")
        ]
        assert actions == ["create", "upload"]

    async def test_a_disclosure_without_an_origin_leaves_from_the_setting(self, client, auth):
        disclosure = await disclosure_to(client, auth, "US")
        assert disclosure["origin"] == "DE"  # tests/conftest.py sets REGISTRY_ORIGIN_COUNTRY
