"""Sub-processor chains (issue 20 item 3): engagements, their rules, the chain in lookups."""

import pytest

from registry.auth import WriteContext
from registry.demo import load_demo
from tests.conftest import make_contract, make_disclosure, make_vendor

pytestmark = pytest.mark.anyio
CATEGORIES = ["user.contact.email", "user.name"]


async def change_count(client, auth) -> int:
    return (await client.get("/changes", params={"limit": 1}, headers=auth())).json()["total"]


async def engage(client, auth, processor_id: int, subprocessor_id: int, **fields):
    body = {
        "subprocessor_id": subprocessor_id,
        "authorisation": "general",
        "notified_on": "2025-02-10",
        "objection_deadline": "2025-03-10",
        "valid_from": "2025-02-15",
        **fields,
    }
    return await client.post(f"/vendors/{processor_id}/subprocessors", json=body, headers=auth("editor"))


async def chain_world(client, auth) -> dict:
    """Our processor (Cloud Hosting, DPA), its sub-processor (Backup Services, flow-down DPA) engaged
    under a general authorisation, and the sub-processor's own disclosure."""
    processor = await make_vendor(client, auth, name="Cloud Hosting")
    dpa = await make_contract(client, auth, processor["id"], reference="DPA-P", audit_right=True)
    await make_disclosure(client, auth, processor["id"], dpa["id"], categories=CATEGORIES)
    sub = await make_vendor(client, auth, name="Backup Services", country="FR")
    flow_down = await make_contract(client, auth, sub["id"], reference="DPA-FD", audit_right=True)
    created = await engage(
        client,
        auth,
        processor["id"],
        sub["id"],
        flow_down_contract_id=flow_down["id"],
        processor_contract_id=dpa["id"],
    )
    assert created.status_code == 201, created.text
    engagement = created.json()
    disclosure = await make_disclosure(
        client,
        auth,
        sub["id"],
        flow_down["id"],
        categories=["user.contact.email"],
        role="sub_processor",
        engagement_id=engagement["id"],
        valid_from="2025-02-15",
    )
    return {
        "processor": processor,
        "sub": sub,
        "dpa": dpa,
        "flow_down": flow_down,
        "engagement": engagement,
        "disclosure": disclosure,
    }


class TestEngaging:
    async def test_an_engagement_is_recorded_with_its_chain(self, client, auth):
        w = await chain_world(client, auth)
        e = w["engagement"]
        assert (e["engaged_by_name"], e["subprocessor_name"], e["authorisation"]) == (
            "Cloud Hosting",
            "Backup Services",
            "general",
        )
        assert e["chain"] == [
            {"vendor_id": w["processor"]["id"], "vendor_name": "Cloud Hosting", "engagement_id": e["id"]}
        ]
        listed = (
            await client.get(f"/vendors/{w['processor']['id']}/subprocessors", headers=auth("viewer"))
        ).json()
        assert [x["id"] for x in listed] == [e["id"]]
        log = await client.get("/changes", params={"object_type": "subprocessor_engagement"}, headers=auth())
        assert [c["action"] for c in log.json()["items"]] == ["create"]
        assert w["disclosure"]["engagement_id"] == e["id"]

    async def test_a_deeper_chain_and_its_tree(self, client, auth):
        w = await chain_world(client, auth)
        deeper = await make_vendor(client, auth, name="Tape Vault")
        second = await engage(client, auth, w["sub"]["id"], deeper["id"], authorisation="specific")
        assert second.status_code == 201, second.text
        assert [link["vendor_name"] for link in second.json()["chain"]] == [
            "Cloud Hosting",
            "Backup Services",
        ]
        tree = (
            await client.get(f"/vendors/{w['processor']['id']}/subprocessors/tree", headers=auth())
        ).json()
        assert tree["vendor_name"] == "Cloud Hosting"
        [child] = tree["subprocessors"]
        assert child["vendor_name"] == "Backup Services"
        assert [g["vendor_name"] for g in child["subprocessors"]] == ["Tape Vault"]

    async def test_viewer_cannot_engage(self, client, auth):
        w = await chain_world(client, auth)
        other = await make_vendor(client, auth, name="Other")
        refused = await client.post(
            f"/vendors/{w['processor']['id']}/subprocessors",
            json={"subprocessor_id": other["id"], "authorisation": "specific", "valid_from": "2025-03-01"},
            headers=auth("viewer"),
        )
        assert refused.status_code == 403


class TestRefused:
    async def refused(self, client, auth, response, status: int, field: str, rule: str, before: int):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {"field": field, "rule": rule} in [
            {"field": e["field"], "rule": e["rule"]} for e in response.json()["errors"]
        ], response.text
        assert await change_count(client, auth) == before  # nothing written

    async def test_a_vendor_that_is_not_a_processor_engages_nobody(self, client, auth):
        controller = await make_vendor(client, auth, name="Partner")
        contract = await make_contract(client, auth, controller["id"])
        await make_disclosure(client, auth, controller["id"], contract["id"], role="independent_controller")
        sub = await make_vendor(client, auth, name="Their vendor")
        before = await change_count(client, auth)
        response = await engage(client, auth, controller["id"], sub["id"])
        await self.refused(client, auth, response, 422, "engaged_by", "processor", before)
        assert "only a processor engages sub-processors" in response.json()["detail"]

    async def test_a_cycle_is_refused(self, client, auth):
        w = await chain_world(client, auth)
        before = await change_count(client, auth)
        back = await engage(client, auth, w["sub"]["id"], w["processor"]["id"])
        await self.refused(client, auth, back, 422, "subprocessor_id", "no_cycle", before)
        assert "Backup Services engages Cloud Hosting engages Backup Services" in back.json()["detail"]
        itself = await engage(client, auth, w["processor"]["id"], w["processor"]["id"])
        await self.refused(client, auth, itself, 422, "subprocessor_id", "no_cycle", before)

    async def test_a_deeper_cycle_is_refused(self, client, auth):
        w = await chain_world(client, auth)
        deeper = await make_vendor(client, auth, name="Tape Vault")
        second = await engage(client, auth, w["sub"]["id"], deeper["id"], authorisation="specific")
        assert second.status_code == 201, second.text
        contract = await make_contract(client, auth, deeper["id"])
        engagement_id = second.json()["id"]
        await make_disclosure(
            client,
            auth,
            deeper["id"],
            contract["id"],
            role="sub_processor",
            engagement_id=engagement_id,
            valid_from="2025-03-01",
        )
        before = await change_count(client, auth)
        response = await engage(client, auth, deeper["id"], w["processor"]["id"], valid_from="2025-03-01")
        await self.refused(client, auth, response, 422, "subprocessor_id", "no_cycle", before)

    async def test_a_general_authorisation_needs_the_notice_date(self, client, auth):
        w = await chain_world(client, auth)
        other = await make_vendor(client, auth, name="Other")
        before = await change_count(client, auth)
        response = await engage(client, auth, w["processor"]["id"], other["id"], notified_on=None)
        await self.refused(client, auth, response, 422, "notified_on", "required", before)

    async def test_a_flow_down_contract_is_with_the_subprocessor(self, client, auth):
        w = await chain_world(client, auth)
        other = await make_vendor(client, auth, name="Other")
        before = await change_count(client, auth)
        response = await engage(
            client, auth, w["processor"]["id"], other["id"], flow_down_contract_id=w["dpa"]["id"]
        )
        await self.refused(client, auth, response, 422, "flow_down_contract_id", "with_subprocessor", before)

    async def test_a_sub_processor_disclosure_needs_an_engagement(self, client, auth):
        w = await chain_world(client, auth)
        before = await change_count(client, auth)
        body = {
            "vendor_id": w["sub"]["id"],
            "contract_id": w["flow_down"]["id"],
            "categories": ["user.name"],
            "data_subjects": ["customer"],
            "purpose": "essential.service.operations.support",
            "basis": "contract",
            "valid_from": "2025-03-01",
            "role": "sub_processor",
        }
        response = await client.post("/disclosures", json=body, headers=auth())
        await self.refused(client, auth, response, 422, "engagement_id", "required", before)
        other = await make_vendor(client, auth, name="Other")
        before = await change_count(client, auth)
        wrong = {**body, "vendor_id": other["id"], "contract_id": None, "basis": "legal_obligation"}
        wrong["engagement_id"] = w["engagement"]["id"]
        response = await client.post("/disclosures", json=wrong, headers=auth())
        await self.refused(client, auth, response, 422, "engagement_id", "same_vendor", before)


class TestObjection:
    async def test_an_objection_in_time_is_recorded(self, client, auth):
        w = await chain_world(client, auth)
        url = f"/subprocessor-engagements/{w['engagement']['id']}/objection"
        response = await client.post(
            url, json={"objected_on": "2025-03-01", "reason": "US transfer"}, headers=auth("editor")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["objected_on"], body["objection_reason"], body["version"]) == (
            "2025-03-01",
            "US transfer",
            2,
        )
        assert body["objected_by"]
        log = await client.get("/changes", params={"object_type": "subprocessor_engagement"}, headers=auth())
        assert [c["action"] for c in log.json()["items"]] == ["create", "object"]

    async def test_a_late_objection_is_refused(self, client, auth):
        w = await chain_world(client, auth)
        before = await change_count(client, auth)
        url = f"/subprocessor-engagements/{w['engagement']['id']}/objection"
        response = await client.post(
            url, json={"objected_on": "2025-03-11", "reason": "late"}, headers=auth()
        )
        await TestRefused().refused(client, auth, response, 409, "objected_on", "objection_deadline", before)
        current = (
            await client.get(f"/subprocessor-engagements/{w['engagement']['id']}", headers=auth())
        ).json()
        assert current["objected_on"] is None


class TestEnding:
    async def test_ending_records_the_end_and_deleting_is_refused_while_used(self, client, auth):
        w = await chain_world(client, auth)
        url = f"/subprocessor-engagements/{w['engagement']['id']}"
        refused = await client.delete(url, headers=auth())
        assert refused.status_code == 409, refused.text
        ended = await client.post(
            url + "/end", json={"ended_on": "2025-12-31", "reason": "moved"}, headers=auth()
        )
        assert ended.status_code == 200, ended.text
        assert (ended.json()["valid_to"], ended.json()["ended_reason"]) == ("2025-12-31", "moved")
        disclosure = (await client.get(f"/disclosures/{w['disclosure']['id']}", headers=auth())).json()
        assert disclosure["valid_to"] == "2025-12-31"
        assert disclosure["ended_reason"] == f"sub-processor engagement {w['engagement']['id']} ended: moved"
        again = await client.post(
            url + "/end", json={"ended_on": "2025-12-31", "reason": "x"}, headers=auth()
        )
        assert again.status_code == 409


class TestLookup:
    async def test_a_sub_processor_appears_with_its_chain(self, client, auth):
        w = await chain_world(client, auth)
        params = {"category": "user.contact.email", "as_of": "2025-06-01"}
        found = (await client.get("/lookup/recipients", params=params, headers=auth("lookup"))).json()
        by_vendor = {item["vendor_name"]: item for item in found["items"]}
        assert (by_vendor["Cloud Hosting"]["role"], by_vendor["Cloud Hosting"]["chain"]) == (
            "processor",
            None,
        )
        sub = by_vendor["Backup Services"]
        assert sub["role"] == "sub_processor"
        assert sub["chain"] == [
            {
                "vendor_id": w["processor"]["id"],
                "vendor_name": "Cloud Hosting",
                "engagement_id": w["engagement"]["id"],
            }
        ]
        # The database path (a purpose filter reads SQL) gives the same item.
        sql = await client.get(
            "/lookup/recipients",
            params={**params, "purpose": "essential.service.operations.support"},
            headers=auth("lookup"),
        )
        assert {i["vendor_name"]: i for i in sql.json()["items"]}["Backup Services"] == sub

    async def test_a_renamed_processor_is_renamed_in_the_chain(self, client, auth):
        w = await chain_world(client, auth)
        params = {"category": "user.contact.email", "as_of": "2025-06-01"}
        await client.get("/lookup/recipients", params=params, headers=auth("lookup"))  # the index is loaded
        renamed = await client.patch(
            f"/vendors/{w['processor']['id']}", json={"name": "Cloud Hosting EU"}, headers=auth()
        )
        assert renamed.status_code == 200, renamed.text
        found = (await client.get("/lookup/recipients", params=params, headers=auth("lookup"))).json()
        [sub] = [i for i in found["items"] if i["vendor_name"] == "Backup Services"]
        assert sub["chain"][0]["vendor_name"] == "Cloud Hosting EU"


class TestFlowDown:
    async def test_a_flow_down_contract_lacking_a_clause_is_a_gdpr_28_4_gap(self, client, auth):
        w = await chain_world(client, auth)
        url = f"/subprocessor-engagements/{w['engagement']['id']}/conformance"
        same = (await client.get(url, headers=auth("viewer"))).json()
        assert (same["rule"], same["conforms"], same["missing_clauses"]) == ("gdpr-28-4", True, [])
        changed = await client.patch(
            f"/contracts/{w['flow_down']['id']}", json={"audit_right": False}, headers=auth()
        )
        assert changed.status_code == 200, changed.text
        gap = (await client.get(url, headers=auth("viewer"))).json()
        assert gap["conforms"] is False
        assert "gdpr-28-3-h" in gap["missing_clauses"] and "pipl-21-supervision" in gap["missing_clauses"]


class TestVendorsAndDemo:
    async def test_a_vendor_in_an_engagement_is_not_deleted(self, client, auth):
        vendor = await make_vendor(client, auth, name="Lone processor")
        contract = await make_contract(client, auth, vendor["id"])
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        sub = await make_vendor(client, auth, name="Lone sub")
        assert (await engage(client, auth, vendor["id"], sub["id"])).status_code == 201
        refused = await client.delete(f"/vendors/{sub['id']}", headers=auth())
        assert refused.status_code == 409, refused.text
        assert "sub-processor engagement" in refused.json()["detail"]

    async def test_the_demo_backups_are_a_sub_processor_of_the_hosting(self, client, auth):
        await load_demo(WriteContext("cli:demo"))
        vendors = (await client.get("/vendors", params={"limit": 100}, headers=auth())).json()["items"]
        ids = {v["name"]: v for v in vendors}
        assert ids["Northwind Backup Services"]["parent_id"] is None  # parent_id means group company only
        hosting = ids["Northwind Cloud Hosting"]["id"]
        [e] = (await client.get(f"/vendors/{hosting}/subprocessors", headers=auth())).json()
        assert (e["subprocessor_name"], e["authorisation"]) == ("Northwind Backup Services", "general")
        assert e["notified_on"] and e["flow_down_contract_id"] and e["processor_contract_id"]
        conformance = await client.get(f"/subprocessor-engagements/{e['id']}/conformance", headers=auth())
        assert conformance.json()["conforms"] is True
        found = await client.get(
            "/lookup/recipients", params={"category": "user.content.private"}, headers=auth("lookup")
        )
        [backup] = [i for i in found.json()["items"] if i["vendor_name"] == "Northwind Backup Services"]
        assert [link["vendor_name"] for link in backup["chain"]] == ["Northwind Cloud Hosting"]


class TestExports:
    async def test_the_exports_carry_the_engagement_and_chain(self, client, auth):
        w = await chain_world(client, auth)
        listed = (await client.get("/exports/recipients.json", headers=auth("viewer"))).json()
        [row] = [r for r in listed["rows"] if r["vendor_name"] == "Backup Services"]
        assert (row["engagement_id"], row["processor_chain"]) == (w["engagement"]["id"], ["Cloud Hosting"])
        text = (await client.get("/exports/recipients.csv", headers=auth("viewer"))).text
        assert '"processor_chain"' in text.splitlines()[0] and '"Cloud Hosting"' in text
        register = (await client.get("/exports/register.json", headers=auth("viewer"))).json()
        [engagement] = register["subprocessor_engagements"]
        assert engagement["chain"][0]["vendor_name"] == "Cloud Hosting"

    async def test_the_fides_export_carries_the_chain_and_imports_again(self, client, auth):
        import yaml

        await chain_world(client, auth)
        exported = await client.get("/exports/fides.yaml", headers=auth("viewer"))
        assert exported.status_code == 200, exported.text
        systems = {s["name"]: s for s in yaml.safe_load(exported.text)["system"]}
        facts = systems["Backup Services"]["meta"]["registry"]["declarations"]
        assert [f["processor_chain"] for f in facts.values()] == [["Cloud Hosting"]]
        assert all(
            "processor_chain" not in f
            for f in systems["Cloud Hosting"]["meta"]["registry"]["declarations"].values()
        )
        dry = await client.post(
            "/imports/fides",
            params={"dry_run": "true"},
            content=exported.content,
            headers={**auth(), "Content-Type": "application/yaml"},
        )
        assert dry.status_code < 300, dry.text


class TestTwice:
    async def test_the_same_engagement_twice_is_a_conflict(self, client, auth):
        w = await chain_world(client, auth)
        before = await change_count(client, auth)
        again = await engage(client, auth, w["processor"]["id"], w["sub"]["id"], valid_from="2025-04-01")
        await TestRefused().refused(client, auth, again, 409, "subprocessor_id", "one_engagement", before)
