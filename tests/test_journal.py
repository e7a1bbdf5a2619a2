"""The journal: append-only notes on vendors, contracts, deletions and attestations, in the change log."""

import pytest

from tests.conftest import confirmed_deletion, make_contract, make_vendor

pytestmark = pytest.mark.anyio


async def note(
    client, auth, object_type, object_id, text="Checked the SOC 2 report", kind="info", role="editor"
):
    return await client.post(
        "/journal",
        json={"object_type": object_type, "object_id": object_id, "kind": kind, "text": text},
        headers=auth(role),
    )


class TestWriting:
    async def test_a_note_on_each_kind_of_record(self, client, auth):
        deletion = await confirmed_deletion(client, auth)
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
        assert issued.status_code == 201, issued.text
        targets = {
            "vendor": deletion["vendor_id"],
            "contract": deletion["contract_id"],
            "deletion": deletion["id"],
            "attestation": issued.json()["id"],
        }
        for object_type, object_id in targets.items():
            response = await note(
                client, auth, object_type, object_id, f"About this {object_type}", "finding"
            )
            assert response.status_code == 201, response.text
            entry = response.json()
            assert response.headers["location"] == f"/journal/{entry['id']}"
            assert entry["object_type"] == object_type and entry["object_id"] == object_id
            assert entry["vendor_id"] == deletion["vendor_id"]
            assert entry["vendor_name"] == "Acme Hosting"
            assert entry["kind"] == "finding"
            assert entry["author"] == "test-editor"
            assert entry["text"] == f"About this {object_type}"

        one = await client.get(
            "/journal",
            params={"object_type": "contract", "object_id": deletion["contract_id"]},
            headers=auth("viewer"),
        )
        assert one.status_code == 200
        assert [e["text"] for e in one.json()["items"]] == ["About this contract"]
        everything = (
            await client.get("/journal", params={"vendor_id": deletion["vendor_id"]}, headers=auth("viewer"))
        ).json()
        assert everything["total"] == 4
        # Newest first.
        assert [e["object_type"] for e in everything["items"]] == [
            "attestation",
            "deletion",
            "contract",
            "vendor",
        ]

    async def test_every_entry_is_in_the_change_log_and_the_outbox(self, client, auth):
        vendor = await make_vendor(client, auth)
        entry = (await note(client, auth, "vendor", vendor["id"], "Quarterly call held", "review")).json()
        changes = (
            await client.get(
                "/changes",
                params={"object_type": "journal_entry", "object_id": str(entry["id"])},
                headers=auth(),
            )
        ).json()["items"]
        assert len(changes) == 1
        assert changes[0]["action"] == "create"
        assert changes[0]["after"]["text"] == "Quarterly call held"
        assert changes[0]["actor"] == "test-editor"

        from registry.tables import WebhookEvent

        events = (
            await WebhookEvent.select().where(WebhookEvent.type == "journal.created").output(load_json=True)
        )
        assert [e["object_id"] for e in events] == [str(entry["id"])]
        assert events[0]["payload"]["data"]["object"]["kind"] == "review"

    async def test_entries_cannot_be_changed_or_deleted(self, client, auth):
        vendor = await make_vendor(client, auth)
        entry = (await note(client, auth, "vendor", vendor["id"])).json()
        for method in ("PATCH", "PUT", "DELETE"):
            response = await client.request(
                method, f"/journal/{entry['id']}", json={"text": "x"}, headers=auth()
            )
            assert response.status_code == 405, (method, response.text)
        assert (await client.get(f"/journal/{entry['id']}", headers=auth("viewer"))).json()["text"] == entry[
            "text"
        ]

    async def test_a_vendor_with_notes_is_not_deleted(self, client, auth):
        vendor = await make_vendor(client, auth)
        await note(client, auth, "vendor", vendor["id"])
        response = await client.delete(f"/vendors/{vendor['id']}", headers=auth())
        assert response.status_code == 409, response.text
        assert "1 journal entries" in response.json()["detail"]
        assert (await client.get(f"/vendors/{vendor['id']}", headers=auth())).status_code == 200


class TestBadInput:
    async def test_unknown_record(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"])
        response = await note(client, auth, "deletion", contract["id"])
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"] == [
            {"field": "object_id", "rule": "exists", "message": f"deletion {contract['id']} does not exist"}
        ]
        assert (await client.get("/journal", headers=auth())).json()["total"] == 0

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("kind", "gossip"),
            ("object_type", "person"),
            ("text", ""),
            ("text", "   "),
            ("text", "x" * 10_001),
            ("text", "nul\x00"),
            ("object_id", 0),
            ("object_id", 2**40),
        ],
    )
    async def test_invalid_fields_are_named(self, client, auth, field, value):
        vendor = await make_vendor(client, auth)
        body = {
            "object_type": "vendor",
            "object_id": vendor["id"],
            "kind": "info",
            "text": "ok",
            field: value,
        }
        response = await client.post("/journal", json=body, headers=auth())
        assert response.status_code == 400, response.text
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()
        assert (await client.get("/journal", headers=auth())).json()["total"] == 0

    async def test_roles(self, client, auth):
        vendor = await make_vendor(client, auth)
        assert (await note(client, auth, "vendor", vendor["id"], role="viewer")).status_code == 403
        assert (await note(client, auth, "vendor", vendor["id"], role="lookup")).status_code == 403
        assert (await client.get("/journal", headers=auth("lookup"))).status_code == 403
        assert (await client.get("/journal")).status_code == 401
        assert (await client.get("/journal", headers=auth("viewer"))).json()["total"] == 0


async def test_a_vendor_with_a_disclosure_outside_any_contract_is_not_deleted(client, auth):
    from tests.conftest import make_disclosure

    vendor = await make_vendor(client, auth)
    disclosure = await make_disclosure(
        client, auth, vendor["id"], None, basis="consent", consent_reference="CMP v3"
    )
    response = await client.delete(f"/vendors/{vendor['id']}", headers=auth())
    assert response.status_code == 409, response.text
    assert response.json()["conflicts"] == [{"type": "disclosure", "id": disclosure["id"]}]
    assert (await client.get(f"/disclosures/{disclosure['id']}", headers=auth())).status_code == 200
