"""A processor's deletion lists its sub-processors; the confirmation answers for each; the attestation
lists them and is refused when one did not delete (nothing signed may be false)."""

import io

import pytest
from pypdf import PdfReader

from tests.conftest import CONFIRMATION
from tests.test_subprocessors import chain_world

pytestmark = pytest.mark.anyio


async def ended_chain(client, auth) -> tuple[dict, dict]:
    w = await chain_world(client, auth)
    ended = await client.post(
        f"/contracts/{w['dpa']['id']}/terminate",
        json={"terminated_on": "2025-06-30", "reason": "moved"},
        headers=auth(),
    )
    assert ended.status_code == 200, ended.text
    deletions = await client.get("/deletions", params={"vendor_id": w["processor"]["id"]}, headers=auth())
    [deletion] = deletions.json()["items"]
    return w, deletion


def answer(w, **fields) -> dict:
    return {"vendor_id": w["sub"]["id"], "deleted": True, "completed_on": "2025-07-08", **fields}


async def confirm(client, auth, deletion, subprocessors):
    return await client.post(
        f"/deletions/{deletion['id']}/confirmations",
        json={**CONFIRMATION, "subprocessors": subprocessors},
        headers=auth(),
    )


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)


class TestObligation:
    async def test_the_obligation_lists_the_subprocessors_in_force_on_the_end_day(self, client, auth):
        w, deletion = await ended_chain(client, auth)
        assert deletion["subprocessors"] == [
            {
                "vendor_id": w["sub"]["id"],
                "vendor_name": "Backup Services",
                "engagement_id": w["engagement"]["id"],
            }
        ]


class TestConfirmation:
    async def test_a_confirmation_without_the_subprocessors_answer_is_refused(self, client, auth):
        _, deletion = await ended_chain(client, auth)
        response = await confirm(client, auth, deletion, [])
        assert response.status_code == 422, response.text
        [error] = [e for e in response.json()["errors"] if e["field"] == "subprocessors"]
        assert error["rule"] == "every_subprocessor"
        assert "Backup Services" in error["message"]
        again = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert again["confirmations"] == []

    async def test_an_unknown_or_doubled_subprocessor_is_refused(self, client, auth):
        w, deletion = await ended_chain(client, auth)
        response = await confirm(
            client, auth, deletion, [answer(w), answer(w), answer(w, vendor_id=w["dpa"]["vendor_id"])]
        )
        assert response.status_code == 422, response.text
        rules = {(e["field"], e["rule"]) for e in response.json()["errors"]}
        assert ("subprocessors[1].vendor_id", "once") in rules
        assert ("subprocessors[2].vendor_id", "in_obligation") in rules

    async def test_not_deleted_needs_a_note_and_deleted_needs_a_day(self, client, auth):
        w, deletion = await ended_chain(client, auth)
        response = await confirm(client, auth, deletion, [answer(w, deleted=False, completed_on=None)])
        assert response.status_code == 422
        assert ("subprocessors[0].note", "required_when_not_deleted") in {
            (e["field"], e["rule"]) for e in response.json()["errors"]
        }
        response = await confirm(client, auth, deletion, [answer(w, completed_on=None)])
        assert ("subprocessors[0].completed_on", "required_when_deleted") in {
            (e["field"], e["rule"]) for e in response.json()["errors"]
        }


class TestAttestation:
    async def test_a_subprocessor_that_did_not_delete_blocks_the_attestation(self, client, auth):
        w, deletion = await ended_chain(client, auth)
        kept = answer(w, deleted=False, completed_on=None, note="tapes held until March")
        recorded = await confirm(client, auth, deletion, [kept])
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["confirmations"][0]["subprocessors"][0]["deleted"] is False
        refused = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
        assert refused.status_code == 409, refused.text
        assert ("subprocessors", "deleted") in {(e["field"], e["rule"]) for e in refused.json()["errors"]}
        assert "Backup Services did not delete" in refused.text
        listed = (await client.get("/attestations", headers=auth())).json()
        assert listed["total"] == 0

    async def test_the_attestation_lists_each_subprocessor(self, client, auth):
        w, deletion = await ended_chain(client, auth)
        assert (await confirm(client, auth, deletion, [answer(w)])).status_code == 201
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
        assert issued.status_code == 201, issued.text
        pdf = await client.get(f"/attestations/{issued.json()['serial']}/pdf", headers=auth())
        text = pdf_text(pdf.content)
        assert "Sub-processors of the vendor on the day the contract ended" in text
        assert "Backup Services deleted on 2025-07-08" in text
