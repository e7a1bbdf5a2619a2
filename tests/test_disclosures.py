"""Disclosures: §6.1 as rules the registry enforces, and what a terminated contract does to them."""

import pytest

from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio


@pytest.fixture
async def setup(client, auth):
    vendor = await make_vendor(client, auth)
    contract = await make_contract(
        client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01", expires_on="2030-12-31"
    )
    return vendor, contract


async def post(client, auth, vendor, contract, **fields):
    body = {
        "vendor_id": vendor["id"],
        "contract_id": contract["id"] if contract else None,
        "categories": ["user.contact.email"],
        "data_subjects": ["customer"],
        "purpose": "essential.service",
        "basis": "contract",
        "valid_from": "2025-02-01",
        **fields,
    }
    return await client.post("/disclosures", json=body, headers=auth())


class TestCreateDisclosure:
    async def test_contract_basis_inherits_the_contract_end(self, client, auth, setup):
        vendor, contract = setup
        response = await post(client, auth, vendor, contract, categories=["user.contact.email", "user.name"])
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["categories"] == ["user.contact.email", "user.name"]
        assert (body["valid_to"], body["country"], body["contract_reference"]) == (
            "2030-12-31",
            "DE",
            "DPA-1",
        )
        assert body["vendor_name"] == vendor["name"]
        changes = (await client.get("/changes", params={"object_type": "disclosure"}, headers=auth())).json()
        assert changes["items"][0]["after"]["categories"] == ["user.contact.email", "user.name"]

    async def test_contract_without_equivalent_clause_cannot_cover(self, client, auth, setup):
        vendor, _ = setup
        weak = await make_contract(client, auth, vendor["id"], confidentiality_equivalent=False)
        response = await post(client, auth, vendor, weak)
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert (error["field"], error["rule"]) == ("contract_id", "covering_contract")
        assert "equivalent" in error["message"]
        assert (await client.get("/disclosures", headers=auth())).json()["total"] == 0

    @pytest.mark.parametrize(
        ("contract_fields", "fields", "fragment"),
        [
            ({"signed_on": None}, {}, "draft"),
            ({"effective_from": "2025-03-01"}, {}, "takes effect on 2025-03-01"),
            ({"expires_on": "2025-12-31"}, {"valid_to": "2026-06-30"}, "ends on 2025-12-31"),
            ({"expires_on": "2025-12-31"}, {"valid_to": None}, "further notice"),
        ],
    )
    async def test_contract_must_cover_the_whole_period(
        self, client, auth, setup, contract_fields, fields, fragment
    ):
        vendor, _ = setup
        contract = await make_contract(client, auth, vendor["id"], **contract_fields)
        response = await post(client, auth, vendor, contract, **fields)
        assert response.status_code == 422, response.text
        assert fragment in response.json()["errors"][0]["message"]

    async def test_contract_must_be_the_vendors(self, client, auth, setup):
        vendor, _ = setup
        other = await make_vendor(client, auth, name="Other")
        foreign = await make_contract(client, auth, other["id"])
        response = await post(client, auth, vendor, foreign)
        assert response.status_code == 422 and response.json()["errors"][0]["rule"] == "same_vendor"

    @pytest.mark.parametrize(
        ("fields", "field", "rule"),
        [
            ({"contract_id": None}, "contract_id", "required"),
            ({"basis": "consent", "contract_id": None}, "consent_reference", "required"),
            ({"categories": ["user.contact.telepathy"]}, "categories", "taxonomy"),
            ({"purpose": "world_domination"}, "purpose", "taxonomy"),
            ({"data_subjects": ["martian"]}, "data_subjects", "taxonomy"),
            ({"valid_to": "2025-01-15"}, "valid_to", "date_order"),
            ({"vendor_id": 999}, "vendor_id", "exists"),
        ],
    )
    async def test_rules(self, client, auth, setup, fields, field, rule):
        vendor, contract = setup
        response = await post(client, auth, vendor, contract, **fields)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["errors"][0]["rule"] == rule
        assert (await client.get("/disclosures", headers=auth())).json()["total"] == 0

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("categories", []),
            ("basis", "vibes"),
            ("valid_from", "2025-02-31"),
            ("country", "XX"),
            ("categories", ["User Contact"]),
            ("consent_reference", "x" * 301),
        ],
    )
    async def test_malformed(self, client, auth, setup, field, value):
        vendor, contract = setup
        response = await post(client, auth, vendor, contract, **{field: value})
        assert response.status_code == 400, response.text
        assert any(field in e["field"] for e in response.json()["errors"])

    async def test_consent_basis_needs_no_contract(self, client, auth, setup):
        vendor, _ = setup
        response = await post(
            client, auth, vendor, None, basis="consent", consent_reference="consent-form-v3", country="US"
        )
        assert response.status_code == 201
        assert (response.json()["valid_to"], response.json()["country"]) == (None, "US")


class TestEndDisclosure:
    async def test_end_once_within_its_period(self, client, auth, setup):
        vendor, contract = setup
        disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
        url = f"/disclosures/{disclosure['id']}/end"
        early = await client.post(url, json={"ended_on": "2025-01-01", "reason": "x"}, headers=auth())
        assert early.status_code == 422
        ended = await client.post(
            url, json={"ended_on": "2025-06-30", "reason": "no longer needed"}, headers=auth()
        )
        assert ended.status_code == 200, ended.text
        assert (ended.json()["valid_to"], ended.json()["ended_reason"]) == ("2025-06-30", "no longer needed")
        again = await client.post(url, json={"ended_on": "2025-06-30", "reason": "x"}, headers=auth())
        assert again.status_code == 409


class TestContractTermination:
    async def test_termination_ends_open_disclosures_and_logs_each(self, client, auth, setup):
        vendor, contract = setup
        first = await make_disclosure(client, auth, vendor["id"], contract["id"])
        second = await make_disclosure(client, auth, vendor["id"], contract["id"], valid_to="2025-03-31")
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "breach"},
            headers=auth(),
        )
        assert response.status_code == 200
        one = (await client.get(f"/disclosures/{first['id']}", headers=auth())).json()
        two = (await client.get(f"/disclosures/{second['id']}", headers=auth())).json()
        assert (one["valid_to"], one["ended_reason"]) == (
            "2025-06-30",
            f"contract {contract['id']} terminated: breach",
        )
        assert (two["valid_to"], two["ended_reason"]) == ("2025-03-31", None)
        changes = (
            await client.get(
                "/changes", params={"object_type": "disclosure", "object_id": first["id"]}, headers=auth()
            )
        ).json()["items"]
        assert [c["action"] for c in changes] == ["create", "end"]
        assert changes[1]["request_id"] == response.headers["x-request-id"]

    async def test_contract_changes_that_uncover_disclosures_conflict(self, client, auth, setup):
        vendor, contract = setup
        disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
        url = f"/contracts/{contract['id']}"
        weaker = await client.patch(url, json={"confidentiality_equivalent": False}, headers=auth())
        shorter = await client.patch(url, json={"expires_on": "2026-01-01"}, headers=auth())
        assert (weaker.status_code, shorter.status_code) == (409, 409)
        assert weaker.json()["conflicts"][0]["id"] == disclosure["id"]
        assert (await client.get(url, headers=auth())).json()["version"] == 1


class TestUpdateDisclosure:
    async def test_patch_rechecks_the_rules(self, client, auth, setup):
        vendor, contract = setup
        disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
        url = f"/disclosures/{disclosure['id']}"
        ok = await client.patch(
            url, json={"categories": ["user.name"]}, headers={**auth(), "If-Match": '"1"'}
        )
        assert ok.status_code == 200 and ok.json()["categories"] == ["user.name"]
        bad = await client.patch(url, json={"valid_to": "2031-01-01"}, headers=auth())
        assert bad.status_code == 422
        stale = await client.patch(url, json={"notes": "x"}, headers={**auth(), "If-Match": '"1"'})
        assert stale.status_code == 412

    async def test_viewer_cannot_write(self, client, auth, setup):
        vendor, contract = setup
        response = await client.post("/disclosures", json={}, headers=auth("viewer"))
        assert response.status_code == 403


class TestContractBoundaries:
    """A contract is in force from its first to its last day, both inclusive (policy §6.1)."""

    @pytest.fixture
    async def bounded(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(
            client, auth, vendor["id"], effective_from="2025-03-01", expires_on="2025-08-31"
        )
        return vendor, contract

    async def check(self, client, auth, vendor, on: str) -> dict:
        body = {"vendor": vendor["id"], "categories": ["user.contact.email"], "on": on}
        response = await client.post("/lookup/check", json=body, headers=auth("lookup"))
        assert response.status_code == 200, response.text
        return response.json()

    @pytest.mark.parametrize(
        ("fields", "fragment"),
        [
            (
                {"valid_from": "2025-02-28"},
                "takes effect on 2025-03-01, after the disclosure starts (2025-02-28)",
            ),
            ({"valid_from": "2025-03-01", "valid_to": "2025-09-01"}, "ends on 2025-08-31"),
        ],
    )
    async def test_a_day_outside_the_contract_is_refused(self, client, auth, bounded, fields, fragment):
        vendor, contract = bounded
        response = await post(client, auth, vendor, contract, **fields)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert (error["field"], error["rule"]) == ("contract_id", "covering_contract")
        assert error["message"].startswith(f"contract {contract['id']} ") and fragment in error["message"]
        assert (await client.get("/disclosures", headers=auth())).json()["total"] == 0

    async def test_the_first_and_last_days_are_covered(self, client, auth, bounded):
        vendor, contract = bounded
        response = await post(client, auth, vendor, contract, valid_from="2025-03-01", valid_to="2025-08-31")
        assert response.status_code == 201, response.text
        assert (response.json()["valid_from"], response.json()["valid_to"]) == ("2025-03-01", "2025-08-31")
        inherited = await post(client, auth, vendor, contract, valid_from="2025-03-01")
        assert inherited.status_code == 201 and inherited.json()["valid_to"] == "2025-08-31"
        for day, allowed in (
            ("2025-02-28", False),
            ("2025-03-01", True),
            ("2025-08-31", True),
            ("2025-09-01", False),
        ):
            answer = await self.check(client, auth, vendor, day)
            assert answer["allowed"] is allowed, (day, answer["reasons"])
            if allowed:
                assert [d["id"] for d in answer["disclosures"]] == [
                    response.json()["id"],
                    inherited.json()["id"],
                ]
