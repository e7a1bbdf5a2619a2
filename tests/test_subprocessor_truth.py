"""What the registry says of sub-processors must be true (found by an independent review): a
sub-processor's deletion is not signed before it happened, every sub-processor down the chain is asked,
and the check refuses a sub-processor once its engagement ended, we objected, or its processor's
contract with us ended; concurrent engagements cannot make a cycle or a duplicate."""

import asyncio

import pytest

from registry.tables import Change, SubprocessorEngagement
from tests.conftest import CONFIRMATION, make_contract, make_disclosure, make_vendor
from tests.test_subprocessors import chain_world, engage
from tests.test_subprocessors_deletion import answer, confirm, ended_chain

pytestmark = pytest.mark.anyio


async def sub_allowed(client, auth, w, on: str) -> dict:
    body = {"vendor": w["sub"]["id"], "categories": ["user.contact.email"], "on": on}
    response = await client.post("/lookup/check", json=body, headers=auth("lookup"))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_sub_processors_deletion_after_the_report_is_refused(client, auth):
    w, deletion = await ended_chain(client, auth)
    late = answer(w, completed_on="2099-12-31")
    response = await confirm(client, auth, deletion, [late])
    assert response.status_code == 422, response.text
    assert ("subprocessors[0].completed_on", "not_after_report") in {
        (e["field"], e["rule"]) for e in response.json()["errors"]
    }
    assert (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()["confirmations"] == []
    on_the_day = answer(w, completed_on=CONFIRMATION["completed_on"])
    assert (await confirm(client, auth, deletion, [on_the_day])).status_code == 201


async def test_sub_processors_down_the_chain_are_asked_too(client, auth):
    w = await chain_world(client, auth)
    vault = await make_vendor(client, auth, name="Tape Vault", country="FR")
    deeper = await engage(client, auth, w["sub"]["id"], vault["id"], valid_from="2025-03-01")
    assert deeper.status_code == 201, deeper.text
    ended = await client.post(
        f"/contracts/{w['dpa']['id']}/terminate",
        json={"terminated_on": "2025-06-30", "reason": "x"},
        headers=auth(),
    )
    assert ended.status_code == 200, ended.text
    [deletion] = (
        await client.get("/deletions", params={"vendor_id": w["processor"]["id"]}, headers=auth())
    ).json()["items"]
    assert [s["vendor_name"] for s in deletion["subprocessors"]] == ["Backup Services", "Tape Vault"]
    response = await confirm(client, auth, deletion, [answer(w)])
    assert response.status_code == 422 and "Tape Vault" in response.text


class TestTheCheckFollowsTheEngagement:
    async def test_allowed_while_the_engagement_and_the_processors_contract_hold(self, client, auth):
        w = await chain_world(client, auth)
        assert (await sub_allowed(client, auth, w, "2025-06-01"))["allowed"] is True

    async def test_refused_once_we_objected(self, client, auth):
        w = await chain_world(client, auth)
        url = f"/subprocessor-engagements/{w['engagement']['id']}/objection"
        objected = await client.post(url, json={"objected_on": "2025-03-01", "reason": "no"}, headers=auth())
        assert objected.status_code == 200, objected.text
        refused = await sub_allowed(client, auth, w, "2025-06-01")
        assert (
            refused["allowed"] is False and "we objected to sub-processor engagement" in refused["reasons"][0]
        )

    async def test_refused_once_the_processors_contract_ended(self, client, auth):
        w = await chain_world(client, auth)
        ended = await client.post(
            f"/contracts/{w['dpa']['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "x"},
            headers=auth(),
        )
        assert ended.status_code == 200, ended.text
        assert (await sub_allowed(client, auth, w, "2025-06-15"))["allowed"] is True
        refused = await sub_allowed(client, auth, w, "2025-09-01")
        assert refused["allowed"] is False and "the processor's contract" in refused["reasons"][0]

    async def test_a_disclosure_cannot_outlast_its_engagement(self, client, auth):
        processor = await make_vendor(client, auth, name="Hosting")
        dpa = await make_contract(client, auth, processor["id"], reference="DPA-P")
        await make_disclosure(client, auth, processor["id"], dpa["id"])
        sub = await make_vendor(client, auth, name="Backups", country="FR")
        flow_down = await make_contract(client, auth, sub["id"], reference="DPA-FD")
        e = await engage(client, auth, processor["id"], sub["id"], valid_to="2025-06-30")
        assert e.status_code == 201, e.text
        before = await Change.count()
        response = await client.post(
            "/disclosures",
            json={
                "vendor_id": sub["id"],
                "contract_id": flow_down["id"],
                "categories": ["user.contact.email"],
                "data_subjects": ["customer"],
                "purpose": "essential.service",
                "basis": "contract",
                "valid_from": "2025-03-01",
                "role": "sub_processor",
                "engagement_id": e.json()["id"],
            },
            headers=auth("editor"),
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "valid_to"
        assert response.json()["errors"][0]["rule"] == "within_engagement"
        assert await Change.count() == before


async def test_concurrent_engagements_make_no_cycle(client, auth):
    a = await make_vendor(client, auth, name="A")
    b = await make_vendor(client, auth, name="B")
    for v in (a, b):
        contract = await make_contract(client, auth, v["id"], reference=f"DPA-{v['name']}")
        await make_disclosure(client, auth, v["id"], contract["id"])
    answers = await asyncio.gather(
        engage(client, auth, a["id"], b["id"]), engage(client, auth, b["id"], a["id"])
    )
    assert sorted(r.status_code for r in answers) == [201, 422], [r.text for r in answers]
    assert await SubprocessorEngagement.count() == 1
