"""Contract conformance: the clauses GDPR Art. 28(3), PIPL Art. 21 and the policy §6.1 require."""

import pytest

from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio

EVERY_CLAUSE = {
    "documented_instructions": True,
    "personnel_confidentiality": True,
    "security_measures": "ISO 27001 certified; encryption at rest and in transit",
    "subprocessing_requires_consent": True,
    "assists_data_subject_rights": True,
    "assists_compliance": True,
    "end_of_contract": "return_then_delete",
    "backups_covered": True,
    "audit_right": True,
    "purposes": "Customer support",
    "processing_period": "The term of the agreement",
    "processing_method": "Storage and retrieval in a ticketing system",
    "confidentiality_equivalent": True,
}
GDPR = [f"gdpr-28-3-{letter}" for letter in "abcdefgh"]
PIPL = [
    "pipl-21-purpose",
    "pipl-21-period",
    "pipl-21-method",
    "pipl-21-categories",
    "pipl-21-protection",
    "pipl-21-instructions",
    "pipl-21-subentrust",
    "pipl-21-return-delete",
    "pipl-21-supervision",
]
POLICY = ["policy-6-1-confidentiality", "policy-6-1-backups"]


async def conformance(client, auth, contract_id, **params):
    response = await client.get(
        f"/contracts/{contract_id}/conformance", params=params, headers=auth("viewer")
    )
    assert response.status_code == 200, response.text
    return response.json()


def missing(result) -> list[str]:
    return [c["id"] for c in result["clauses"] if not c["present"]]


class TestContract:
    async def test_a_bare_contract_lacks_what_it_does_not_record(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"])  # only confidentiality_equivalent
        result = await conformance(client, auth, contract["id"])
        assert [c["id"] for c in result["clauses"]] == GDPR + PIPL + POLICY
        assert result["conforms"] is False
        assert result["present"] == 1 and result["missing"] == 18
        assert missing(result) == GDPR + PIPL + ["policy-6-1-backups"]
        first = result["clauses"][0]
        assert first["article"] == "GDPR Art. 28(3)(a)"
        assert first["framework"] == "gdpr"
        assert first["fields"] == ["documented_instructions"]
        assert "documented instructions" in first["requirement"]

    async def test_every_clause_recorded(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"], **EVERY_CLAUSE)
        # The categories PIPL asks to agree are those of the disclosures made under the contract.
        assert missing(await conformance(client, auth, contract["id"])) == ["pipl-21-categories"]
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        result = await conformance(client, auth, contract["id"])
        assert result["conforms"] is True and result["missing"] == 0 and result["present"] == 19

    @pytest.mark.parametrize(
        ("change", "lost"),
        [
            ({"backups_covered": False}, ["gdpr-28-3-g", "pipl-21-return-delete", "policy-6-1-backups"]),
            ({"security_measures": "   "}, ["gdpr-28-3-c", "pipl-21-protection"]),
            ({"audit_right": False}, ["gdpr-28-3-h", "pipl-21-supervision"]),
            ({"documented_instructions": False}, ["gdpr-28-3-a", "pipl-21-instructions"]),
            ({"processing_method": None}, ["pipl-21-method"]),
        ],
    )
    async def test_each_field_moves_its_clauses(self, client, auth, change, lost):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"], **EVERY_CLAUSE)
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        response = await client.patch(f"/contracts/{contract['id']}", json=change, headers=auth("editor"))
        assert response.status_code == 200, response.text
        assert missing(await conformance(client, auth, contract["id"])) == lost

    async def test_one_framework(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"])
        result = await conformance(client, auth, contract["id"], framework="policy")
        assert [c["id"] for c in result["clauses"]] == POLICY
        assert result["missing"] == 1
        both = await conformance(client, auth, contract["id"], framework=["policy", "pipl"])
        assert [c["id"] for c in both["clauses"]] == PIPL + POLICY

    async def test_bad_requests(self, client, auth):
        assert (await client.get("/contracts/999/conformance", headers=auth())).status_code == 404
        response = await client.get("/contracts/1/conformance", params={"framework": "sox"}, headers=auth())
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "framework"
        assert (await client.get("/contracts/1/conformance", headers=auth("lookup"))).status_code == 403

    async def test_clause_flags_cannot_be_cleared(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"])
        response = await client.patch(
            f"/contracts/{contract['id']}", json={"assists_compliance": None}, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["errors"][0] == {
            "field": "assists_compliance",
            "rule": "not_null",
            "message": "cannot be cleared",
        }


class TestVendors:
    async def test_contracts_in_force_count_together(self, client, auth):
        vendor = await make_vendor(client, auth)
        ended = await make_contract(
            client, auth, vendor["id"], title="Old DPA", expires_on="2025-06-30", **EVERY_CLAUSE
        )
        msa = await make_contract(client, auth, vendor["id"], title="MSA", audit_right=True)
        summary = (await client.get(f"/vendors/{vendor['id']}/conformance", headers=auth("viewer"))).json()
        assert [c["contract_id"] for c in summary["contracts"]] == [ended["id"], msa["id"]]
        assert summary["contracts"][0]["status"] == "expired" and summary["contracts"][0]["conforms"] is False
        # An ended contract binds nobody: only the MSA counts, and it has two clauses only.
        assert summary["in_force_contracts"] == 1 and summary["conforms"] is False
        assert (
            "gdpr-28-3-h" not in summary["missing_clauses"]
            and "pipl-21-supervision" not in summary["missing_clauses"]
        )
        assert len(summary["missing_clauses"]) == 16

        # A DPA beside the MSA supplies the rest: together they conform, though the MSA alone does not.
        dpa = await make_contract(
            client, auth, vendor["id"], title="DPA", **{**EVERY_CLAUSE, "audit_right": False}
        )
        await make_disclosure(client, auth, vendor["id"], dpa["id"])
        summary = (await client.get(f"/vendors/{vendor['id']}/conformance", headers=auth())).json()
        assert summary["in_force_contracts"] == 2
        assert summary["conforms"] is True and summary["missing_clauses"] == []
        assert [c["conforms"] for c in summary["contracts"]] == [False, False, False]

        # A draft does not bind the vendor yet.
        draft = await make_contract(
            client, auth, vendor["id"], title="Draft", signed_on=None, effective_from=None
        )
        summary = (await client.get(f"/vendors/{vendor['id']}/conformance", headers=auth())).json()
        assert summary["conforms"] is True and summary["contracts"][-1]["contract_id"] == draft["id"]
        assert summary["contracts"][-1]["status"] == "draft"
        assert (await client.get("/vendors/999/conformance", headers=auth())).status_code == 404

    async def test_no_contract_in_force_misses_everything(self, client, auth):
        vendor = await make_vendor(client, auth)
        summary = (await client.get(f"/vendors/{vendor['id']}/conformance", headers=auth())).json()
        assert summary["in_force_contracts"] == 0 and summary["conforms"] is False
        assert summary["missing_clauses"] == GDPR + PIPL + POLICY
        only_policy = (
            await client.get(
                f"/vendors/{vendor['id']}/conformance", params={"framework": "policy"}, headers=auth()
            )
        ).json()
        assert only_policy["missing_clauses"] == POLICY

    async def test_vendor_list_filter_agrees_with_the_summaries(self, client, auth):
        complete = await make_vendor(client, auth, name="Complete")
        contract = await make_contract(client, auth, complete["id"], **EVERY_CLAUSE)
        await make_disclosure(client, auth, complete["id"], contract["id"])
        gaps = await make_vendor(client, auth, name="Gaps")
        await make_contract(client, auth, gaps["id"])
        await make_vendor(client, auth, name="No contract")
        old = await make_vendor(client, auth, name="Only ended")
        await make_contract(client, auth, old["id"], expires_on="2025-03-31")

        def names(response):
            assert response.status_code == 200, response.text
            return [v["name"] for v in response.json()["items"]]

        assert names(await client.get("/vendors", params={"conformance": "gaps"}, headers=auth())) == ["Gaps"]
        assert names(await client.get("/vendors", params={"conformance": "complete"}, headers=auth())) == [
            "Complete"
        ]
        for vendor in (complete, gaps):
            summary = (await client.get(f"/vendors/{vendor['id']}/conformance", headers=auth())).json()
            assert summary["conforms"] is (vendor is complete)
        bad = await client.get("/vendors", params={"conformance": "some"}, headers=auth())
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "conformance"
