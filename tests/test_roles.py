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
