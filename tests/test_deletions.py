"""Deletion obligations open when a contract ends and close when the vendor confirms every category."""

import asyncio
import hashlib

import pytest

from tests.conftest import CONFIRMATION, ended_contract, make_contract, make_disclosure, make_vendor, run_cli

pytestmark = pytest.mark.anyio


async def deletions(client, auth, **params):
    response = await client.get("/deletions", params=params, headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


class TestOpening:
    async def test_termination_opens_the_obligation_at_once(self, client, auth):
        vendor, contract = await ended_contract(
            client,
            auth,
            categories=["user.name", "user.contact.email"],
            data_subjects=["customer", "employee"],
        )
        [deletion] = await deletions(client, auth)
        assert (deletion["vendor_name"], deletion["contract_reference"]) == (vendor["name"], "DPA-9")
        assert (deletion["ended_on"], deletion["end_kind"], deletion["due_on"]) == (
            "2025-06-30",
            "terminated",
            "2025-07-30",
        )
        assert deletion["end_reason"] == "moved to another provider"
        assert deletion["categories"] == ["user.contact.email", "user.name"]
        assert deletion["data_subjects"] == ["customer", "employee"]
        assert deletion["backups_in_scope"] is True
        assert deletion["status"] == "overdue"  # due 2025-07-30, long past
        log = (
            await client.get("/changes", params={"object_type": "deletion_obligation"}, headers=auth())
        ).json()
        assert [c["action"] for c in log["items"]] == ["open"]

    async def test_expiry_is_noticed_without_touching_the_contract(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(
            client, auth, vendor["id"], expires_on="2025-03-31", deletion_deadline_days=10
        )
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        [deletion] = await deletions(client, auth)
        assert (deletion["end_kind"], deletion["ended_on"], deletion["due_on"]) == (
            "expired",
            "2025-03-31",
            "2025-04-10",
        )
        assert len(await deletions(client, auth)) == 1  # noticed once

    async def test_cron_sync_opens_expired_obligations(self, client, auth, database_url):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"], expires_on="2025-03-31")
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        result = await asyncio.to_thread(run_cli, database_url, "deletions", "sync")
        assert result.stdout.strip() == "opened 1 deletion obligation(s)"
        again = await asyncio.to_thread(run_cli, database_url, "deletions", "sync")
        assert again.stdout.strip() == "opened 0 deletion obligation(s)"

    async def test_nothing_to_delete_without_disclosures_or_before_the_end(self, client, auth):
        vendor = await make_vendor(client, auth)
        silent = await make_contract(client, auth, vendor["id"])
        await client.post(
            f"/contracts/{silent['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "x"},
            headers=auth(),
        )
        running = await make_contract(client, auth, vendor["id"], expires_on="2999-12-31")
        await make_disclosure(client, auth, vendor["id"], running["id"])
        assert await deletions(client, auth) == []


class TestConfirmations:
    async def test_partial_then_complete(self, client, auth):
        await ended_contract(client, auth, categories=["user.name", "user.contact.email"])
        [deletion] = await deletions(client, auth)
        url = f"/deletions/{deletion['id']}/confirmations"
        first = await client.post(
            url, json={**CONFIRMATION, "categories": ["user.name"]}, headers=auth("editor")
        )
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["status"], body["missing_categories"], body["confirmed_on"]) == (
            "overdue",
            ["user.contact.email"],
            None,
        )
        second = await client.post(
            url,
            json={**CONFIRMATION, "categories": ["user.contact.email"], "completed_on": "2025-07-20"},
            headers=auth("editor"),
        )
        body = second.json()
        assert (body["status"], body["missing_categories"], body["confirmed_on"]) == (
            "confirmed",
            [],
            "2025-07-20",
        )
        confirmation = body["confirmations"][0]
        assert confirmation["performed_by"] == CONFIRMATION["performed_by"]
        assert confirmation["retained"] == CONFIRMATION["retained"]
        assert confirmation["created_by"] == "test-editor"
        assert (await deletions(client, auth, status="confirmed"))[0]["id"] == deletion["id"]
        assert await deletions(client, auth, status="overdue") == []

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"categories": ["user.biometric"]}, "categories", "in_obligation"),
            ({"completed_on": "2999-01-01"}, "completed_on", "not_future"),
            ({"completed_on": "2025-06-01"}, "completed_on", "after_end"),
            ({"backups_handling": None}, "backups_handling", "required"),
            ({"last_backup_expires_on": None}, "last_backup_expires_on", "required"),
        ],
    )
    async def test_rules(self, client, auth, change, field, rule):
        await ended_contract(client, auth)
        [deletion] = await deletions(client, auth)
        response = await client.post(
            f"/deletions/{deletion['id']}/confirmations", json={**CONFIRMATION, **change}, headers=auth()
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0] == {**response.json()["errors"][0], "field": field, "rule": rule}
        assert (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()[
            "confirmations"
        ] == []

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("method_category", "shred"),
            ("technique", "magic"),
            ("systems", []),
            ("completed_on", "2025-02-30"),
            ("performed_by", {"name": "x"}),
            ("verification_result", "x" * 1001),
            ("tool", "a\x00b"),
        ],
    )
    async def test_malformed(self, client, auth, field, value):
        await ended_contract(client, auth)
        [deletion] = await deletions(client, auth)
        response = await client.post(
            f"/deletions/{deletion['id']}/confirmations", json={**CONFIRMATION, field: value}, headers=auth()
        )
        assert response.status_code == 400, response.text

    async def test_viewer_cannot_confirm_and_unknown_obligation_is_404(self, client, auth):
        assert (
            await client.post("/deletions/1/confirmations", json=CONFIRMATION, headers=auth("viewer"))
        ).status_code == 403
        assert (
            await client.post("/deletions/99/confirmations", json=CONFIRMATION, headers=auth())
        ).status_code == 404

    async def test_evidence_is_stored_with_its_hash(self, client, auth):
        await ended_contract(client, auth)
        [deletion] = await deletions(client, auth)
        body = (
            await client.post(f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION, headers=auth())
        ).json()
        confirmation_id = body["confirmations"][0]["id"]
        url = f"/deletions/{deletion['id']}/confirmations/{confirmation_id}/evidence"
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        response = await client.put(
            url,
            content=png,
            params={"filename": "screenshot.png"},
            headers={**auth(), "Content-Type": "image/png"},
        )
        assert response.status_code == 200, response.text
        [evidence] = response.json()["confirmations"][0]["evidence"]
        assert evidence == {
            "filename": "screenshot.png",
            "content_type": "image/png",
            "size": len(png),
            "sha256": hashlib.sha256(png).hexdigest(),
        }
        wrong = await client.put(url, content=b"<html>", headers={**auth(), "Content-Type": "text/html"})
        traversal = await client.put(
            url, content=png, params={"filename": "../x.png"}, headers={**auth(), "Content-Type": "image/png"}
        )
        assert (wrong.status_code, traversal.status_code) == (415, 400)
