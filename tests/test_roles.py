"""The role in which a vendor receives a disclosure (issue 20 item 1): recorded, validated, read back."""

import pytest

from registry.auth import WriteContext
from registry.demo import load_demo
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio


async def changes_of(client, auth, disclosure_id: int) -> list[dict]:
    params = {"object_type": "disclosure", "object_id": disclosure_id}
    return (await client.get("/changes", params=params, headers=auth())).json()["items"]


@pytest.fixture
async def vendor_and_contract(client, auth):
    vendor = await make_vendor(client, auth)
    return vendor, await make_contract(client, auth, vendor["id"], expires_on="2030-12-31")


class TestRoleOnCreate:
    async def test_without_the_field_the_vendor_is_a_processor(self, client, auth, vendor_and_contract):
        vendor, contract = vendor_and_contract
        created = await make_disclosure(client, auth, vendor["id"], contract["id"])
        assert created["role"] == "processor"
        read = (await client.get(f"/disclosures/{created['id']}", headers=auth())).json()
        assert read["role"] == "processor"
        [change] = await changes_of(client, auth, created["id"])
        assert change["after"]["role"] == "processor"

    async def test_an_independent_controller_is_recorded(self, client, auth, vendor_and_contract):
        vendor, contract = vendor_and_contract
        created = await make_disclosure(
            client, auth, vendor["id"], contract["id"], role="independent_controller"
        )
        assert created["role"] == "independent_controller"
        listed = await client.get("/disclosures", params={"role": "independent_controller"}, headers=auth())
        assert [d["id"] for d in listed.json()["items"]] == [created["id"]]
        others = await client.get("/disclosures", params={"role": "processor"}, headers=auth())
        assert others.json()["total"] == 0

    async def test_an_unknown_role_is_refused_and_nothing_written(self, client, auth, vendor_and_contract):
        vendor, contract = vendor_and_contract
        body = {
            "vendor_id": vendor["id"],
            "contract_id": contract["id"],
            "categories": ["user.contact.email"],
            "data_subjects": ["customer"],
            "purpose": "essential.service",
            "basis": "contract",
            "valid_from": "2025-02-01",
            "role": "controller",
        }
        response = await client.post("/disclosures", json=body, headers=auth())
        assert response.status_code == 400, response.text  # a malformed body, as for every enum
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "role" in response.text
        assert (await client.get("/disclosures", headers=auth())).json()["total"] == 0


class TestRoleOnUpdate:
    async def test_the_role_changes_with_a_change_row(self, client, auth, vendor_and_contract):
        vendor, contract = vendor_and_contract
        created = await make_disclosure(client, auth, vendor["id"], contract["id"])
        response = await client.patch(
            f"/disclosures/{created['id']}", json={"role": "joint_controller"}, headers=auth()
        )
        assert response.status_code == 200, response.text
        assert response.json()["role"] == "joint_controller"
        [update] = [c for c in await changes_of(client, auth, created["id"]) if c["action"] == "update"]
        assert (update["before"]["role"], update["after"]["role"]) == ("processor", "joint_controller")

    async def test_the_role_cannot_be_cleared(self, client, auth, vendor_and_contract):
        vendor, contract = vendor_and_contract
        created = await make_disclosure(client, auth, vendor["id"], contract["id"])
        response = await client.patch(f"/disclosures/{created['id']}", json={"role": None}, headers=auth())
        assert response.status_code == 422, response.text
        assert "not_null" in response.text and "role" in response.text
        read = (await client.get(f"/disclosures/{created['id']}", headers=auth())).json()
        assert (read["role"], read["version"]) == ("processor", 1)


async def test_the_demo_group_company_is_an_independent_controller(client, auth):
    await load_demo(WriteContext(actor="cli:demo"))
    vendors = (await client.get("/vendors", params={"q": "ProcessOn"}, headers=auth())).json()["items"]
    [processon] = [v for v in vendors if v["name"] == "ProcessOn Group Holdings"]
    listed = await client.get("/disclosures", params={"vendor_id": processon["id"]}, headers=auth())
    [disclosure] = listed.json()["items"]
    assert (disclosure["role"], disclosure["basis"]) == ("independent_controller", "consent")
    assert disclosure["consent_reference"]


NDA = {"kind": "nda", "title": "Intra-group NDA", "expires_on": "2030-12-31", "backups_covered": True}
PROCESSOR_CLAUSES = {"gdpr-28-3-a", "gdpr-28-3-h", "pipl-21-purpose", "pipl-21-supervision"}


async def conformance_of(client, auth, vendor_id: int) -> dict:
    response = await client.get(f"/vendors/{vendor_id}/conformance", headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


async def gaps(client, auth) -> set[int]:
    listed = await client.get("/vendors", params={"conformance": "gaps"}, headers=auth())
    return {v["id"] for v in listed.json()["items"]}


async def nda_with(client, auth, role: str, vendor_fields: dict | None = None, **disclosure) -> tuple:
    vendor = await make_vendor(client, auth, **(vendor_fields or {}))
    contract = await make_contract(client, auth, vendor["id"], **NDA)
    fields = {"basis": "consent", "consent_reference": "Separate consent v3", **disclosure}
    await make_disclosure(client, auth, vendor["id"], contract["id"], role=role, **fields)
    return vendor, contract


IDENTIFIED = {"legal_name": "Group Holdings Co., Ltd.", "privacy_contact": {"email": "pipo@group.example"}}


class TestConformanceByRole:
    async def test_an_independent_controller_is_not_held_to_processor_clauses(self, client, auth):
        vendor, _ = await nda_with(client, auth, "independent_controller", IDENTIFIED)
        result = await conformance_of(client, auth, vendor["id"])
        assert not PROCESSOR_CLAUSES & set(result["required_clauses"])
        assert {"pipl-23-basis", "pipl-23-recipient", "policy-6-1-confidentiality"} <= set(
            result["required_clauses"]
        )
        assert (result["conforms"], result["missing_clauses"]) == (True, [])
        assert vendor["id"] not in await gaps(client, auth)

    async def test_a_processor_with_the_same_contract_still_is(self, client, auth):
        vendor, _ = await nda_with(client, auth, "processor", IDENTIFIED)
        result = await conformance_of(client, auth, vendor["id"])
        assert PROCESSOR_CLAUSES <= set(result["missing_clauses"])
        assert "pipl-23-basis" not in result["required_clauses"]
        assert vendor["id"] in await gaps(client, auth)

    async def test_a_contract_without_disclosures_is_held_to_processor_clauses(self, client, auth):
        vendor = await make_vendor(client, auth)
        await make_contract(client, auth, vendor["id"], **NDA)
        result = await conformance_of(client, auth, vendor["id"])
        assert PROCESSOR_CLAUSES <= set(result["missing_clauses"])
        assert vendor["id"] in await gaps(client, auth)

    async def test_pipl_23_needs_the_basis_and_the_recipients_identity(self, client, auth):
        vendor, _ = await nda_with(
            client, auth, "independent_controller", basis="legal_obligation", consent_reference=None
        )
        result = await conformance_of(client, auth, vendor["id"])
        assert set(result["missing_clauses"]) == {"pipl-23-basis", "pipl-23-recipient"}
        assert vendor["id"] in await gaps(client, auth)
        await client.patch(f"/vendors/{vendor['id']}", json=IDENTIFIED, headers=auth())
        [disclosure] = (await client.get("/disclosures", headers=auth())).json()["items"]
        patched = await client.patch(
            f"/disclosures/{disclosure['id']}", json={"legal_reference": "PIPL Art. 13(3)"}, headers=auth()
        )
        assert patched.status_code == 200, patched.text
        assert (await conformance_of(client, auth, vendor["id"]))["missing_clauses"] == []
        assert vendor["id"] not in await gaps(client, auth)

    async def test_joint_controllers_need_an_article_26_arrangement(self, client, auth):
        vendor, contract = await nda_with(client, auth, "joint_controller")
        result = await conformance_of(client, auth, vendor["id"])
        assert result["missing_clauses"] == ["gdpr-26-arrangement"]
        assert vendor["id"] in await gaps(client, auth)
        arrangement = {"joint_arrangement": True, "joint_arrangement_essence": "Privacy notice §4"}
        patched = await client.patch(f"/contracts/{contract['id']}", json=arrangement, headers=auth())
        assert patched.status_code == 200, patched.text
        assert patched.json()["joint_arrangement_essence"] == "Privacy notice §4"
        assert (await conformance_of(client, auth, vendor["id"]))["conforms"] is True
        assert vendor["id"] not in await gaps(client, auth)
