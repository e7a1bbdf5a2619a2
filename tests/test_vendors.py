"""Vendors through HTTP: create, read, list, change, delete, and every rule on the way."""

from datetime import timedelta

import pytest

from registry import clock
from tests.conftest import CONFIRMATION, ended_contract, make_contract, make_vendor

pytestmark = pytest.mark.anyio


async def changes_for(client, auth, object_type, object_id):
    response = await client.get(
        "/changes", params={"object_type": object_type, "object_id": object_id}, headers=auth()
    )
    assert response.status_code == 200
    return response.json()["items"]


class TestCreateVendor:
    async def test_creates_and_logs(self, client, auth):
        body = {
            "name": "Acme Hosting",
            "legal_name": "Acme Hosting GmbH",
            "kind": "service_provider",
            "country": "de",
            "website": "https://acme.example",
            "tags": ["hosting", "Hosting"],
            "contact": {"name": "Desk", "email": "desk@acme.example", "phone": "+49 30 123"},
            "registration_ids": [{"scheme": "VAT", "value": "DE123456789"}],
        }
        response = await client.post(
            "/vendors", json=body, headers={**auth("editor"), "X-Change-Message": "onboarding"}
        )
        assert response.status_code == 201, response.text
        vendor = response.json()
        assert vendor["country"] == "DE"
        assert vendor["tags"] == ["hosting"]
        assert vendor["status"] == "prospective"
        assert vendor["contact"]["email"] == "desk@acme.example"
        assert response.headers["etag"] == '"1"'
        assert response.headers["location"] == f"/vendors/{vendor['id']}"
        [change] = await changes_for(client, auth, "vendor", vendor["id"])
        assert change["action"] == "create" and change["before"] is None
        assert change["after"]["name"] == "Acme Hosting"
        assert change["actor"] == "test-editor"
        assert change["message"] == "onboarding"
        assert change["request_id"] == response.headers["x-request-id"]

    @pytest.mark.parametrize(
        ("field", "value", "rule_fragment"),
        [
            ("country", "XX", "ISO 3166-1"),
            ("country", "DEU", "at most 2"),
            ("kind", "supplier", "Input should be"),
            ("name", "", "at least 1"),
            ("name", "x" * 201, "at most 200"),
            ("name", "bad\x00name", "NUL"),
            ("website", "javascript:alert(1)", "URL"),
            ("parent_id", 10**30, "less than or equal"),
            ("parent_id", 0, "greater than or equal"),
            ("tags", ["Not A Tag!"], "pattern"),
            ("contact", {"email": "not-an-email"}, "email"),
            ("surprise", 1, "Extra inputs"),
        ],
    )
    async def test_rejects_bad_input_naming_the_field(self, client, auth, field, value, rule_fragment):
        body = {"name": "Acme", "kind": "agent", "country": "FR", field: value}
        response = await client.post("/vendors", json=body, headers=auth())
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert any(field in e["field"] for e in problem["errors"]), problem
        assert rule_fragment.lower() in problem["detail"].lower()
        assert (await client.get("/vendors", headers=auth())).json()["total"] == 0

    async def test_html_and_unicode_are_stored_literally(self, client, auth):
        name = "<script>alert('x')</script> ‮שלום'; DROP TABLE vendor;--"
        vendor = await make_vendor(client, auth, name=name, notes="<b>bold</b> & {{ jinja }}")
        fetched = (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()
        assert fetched["name"] == name
        assert fetched["notes"] == "<b>bold</b> & {{ jinja }}"

    async def test_duplicate_name_conflicts(self, client, auth):
        first = await make_vendor(client, auth)
        response = await client.post(
            "/vendors", json={"name": "Acme Hosting", "kind": "agent", "country": "FR"}, headers=auth()
        )
        assert response.status_code == 409
        assert response.json()["conflicts"] == [{"type": "vendor", "id": first["id"]}]

    async def test_parent_must_exist(self, client, auth):
        response = await client.post(
            "/vendors",
            json={"name": "Sub", "kind": "agent", "country": "FR", "parent_id": 999},
            headers=auth(),
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {"field": "parent_id", "rule": "exists", "message": "vendor 999 does not exist"}
        ]


class TestListVendors:
    async def test_filters_sort_and_pagination(self, client, auth):
        await make_vendor(
            client, auth, name="Beta Mail", kind="service_provider", country="US", tags=["email"]
        )
        await make_vendor(
            client, auth, name="Alpha Legal", kind="agent", country="SG", notes="handles 100% of claims"
        )
        await make_vendor(client, auth, name="Gamma Mail", kind="service_provider", country="US")

        async def names(**params):
            response = await client.get("/vendors", params=params, headers=auth("viewer"))
            assert response.status_code == 200, response.text
            body = response.json()
            return [v["name"] for v in body["items"]], body["total"]

        assert await names() == (["Alpha Legal", "Beta Mail", "Gamma Mail"], 3)
        assert await names(sort="-name", limit=2) == (["Gamma Mail", "Beta Mail"], 3)
        assert await names(limit=2, offset=2) == (["Gamma Mail"], 3)
        assert await names(q="mail") == (["Beta Mail", "Gamma Mail"], 2)
        assert await names(q="100%") == (["Alpha Legal"], 1)
        assert await names(q="_") == ([], 0)
        assert await names(kind="agent") == (["Alpha Legal"], 1)
        assert await names(country="us") == (["Beta Mail", "Gamma Mail"], 2)
        assert await names(tag="email") == (["Beta Mail"], 1)
        assert await names(status="prospective") == (["Alpha Legal", "Beta Mail", "Gamma Mail"], 3)
        assert await names(status="active") == ([], 0)

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 201},
            {"offset": -1},
            {"offset": 10**20},
            {"kind": "x"},
            {"country": "ZZ"},
            {"status": "gone"},
            {"sort": "password"},
            {"q": "x" * 201},
        ],
    )
    async def test_rejects_bad_parameters(self, client, auth, params):
        response = await client.get("/vendors", params=params, headers=auth())
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == next(iter(params))

    async def test_status_follows_contract_dates(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(
            client, auth, vendor["id"], effective_from="2020-01-01", signed_on="2020-01-01"
        )
        assert (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()["status"] == "active"
        await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2021-01-01", "reason": "ended"},
            headers=auth(),
        )
        fetched = (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()
        assert fetched["status"] == "former"
        listed = (await client.get("/vendors", params={"status": "former"}, headers=auth())).json()
        assert [v["id"] for v in listed["items"]] == [vendor["id"]]

    @pytest.mark.parametrize("days_ago", [0, 30, 31, 400])
    async def test_former_at_once_when_nothing_was_disclosed(self, client, auth, days_ago):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"], deletion_deadline_days=30)
        ended = (clock.today() - timedelta(days=days_ago + 1)).isoformat()
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": ended, "reason": "x"},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        assert await _status(client, auth, vendor["id"]) == "former"

    async def test_offboarding_until_the_deletion_is_attested(self, client, auth):
        """Overdue and unconfirmed: offboarding; confirmed: still offboarding; attested: former; the
        attestation revoked: offboarding again (the deletion loop decides, not the calendar)."""
        vendor, _ = await ended_contract(client, auth)  # terminated 2025-06-30, deletion long overdue
        [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
        assert deletion["status"] == "overdue"
        assert await _status(client, auth, vendor["id"]) == "offboarding"
        response = await client.post(
            f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION, headers=auth()
        )
        assert response.status_code == 201, response.text
        assert await _status(client, auth, vendor["id"]) == "offboarding"
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth("editor"))
        assert issued.status_code == 201, issued.text
        assert await _status(client, auth, vendor["id"]) == "former"
        revoked = await client.post(
            f"/attestations/{issued.json()['serial']}/revoke", json={"reason": "wrong"}, headers=auth()
        )
        assert revoked.status_code == 200, revoked.text
        assert await _status(client, auth, vendor["id"]) == "offboarding"


async def _status(client, auth, vendor_id: int) -> str:
    """The vendor's status read alone, and the same status as its list filter finds it."""
    status = (await client.get(f"/vendors/{vendor_id}", headers=auth())).json()["status"]
    listed = (await client.get("/vendors", params={"status": status}, headers=auth())).json()
    assert vendor_id in [v["id"] for v in listed["items"]], status
    return status


class TestUpdateVendor:
    async def test_patch_changes_only_what_is_sent(self, client, auth):
        vendor = await make_vendor(client, auth, notes="old", tags=["a"])
        response = await client.patch(
            f"/vendors/{vendor['id']}", json={"notes": None, "country": "FR"}, headers=auth("editor")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["notes"], body["country"], body["tags"], body["version"]) == (None, "FR", ["a"], 2)
        assert response.headers["etag"] == '"2"'
        changes = await changes_for(client, auth, "vendor", vendor["id"])
        assert [c["action"] for c in changes] == ["create", "update"]
        assert changes[1]["before"]["country"] == "DE" and changes[1]["after"]["country"] == "FR"

    async def test_if_match_detects_a_stale_write(self, client, auth):
        vendor = await make_vendor(client, auth)
        url = f"/vendors/{vendor['id']}"
        ok = await client.patch(url, json={"notes": "one"}, headers={**auth(), "If-Match": '"1"'})
        assert ok.status_code == 200
        stale = await client.patch(url, json={"notes": "two"}, headers={**auth(), "If-Match": '"1"'})
        assert stale.status_code == 412
        assert (await client.get(url, headers=auth())).json()["notes"] == "one"

    async def test_required_fields_cannot_be_cleared(self, client, auth):
        vendor = await make_vendor(client, auth)
        response = await client.patch(f"/vendors/{vendor['id']}", json={"name": None}, headers=auth())
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "name"

    async def test_parent_cycle_is_refused(self, client, auth):
        parent = await make_vendor(client, auth, name="Parent")
        child = await make_vendor(client, auth, name="Child", parent_id=parent["id"])
        response = await client.patch(
            f"/vendors/{parent['id']}", json={"parent_id": child["id"]}, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "no_cycle"

    async def test_missing_vendor_is_404(self, client, auth):
        response = await client.patch("/vendors/4242", json={"notes": "x"}, headers=auth())
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestDeleteVendor:
    async def test_deletes_an_unused_vendor_and_logs_it(self, client, auth):
        vendor = await make_vendor(client, auth)
        response = await client.delete(f"/vendors/{vendor['id']}", headers=auth("editor"))
        assert response.status_code == 204
        assert (await client.get(f"/vendors/{vendor['id']}", headers=auth())).status_code == 404
        changes = await changes_for(client, auth, "vendor", vendor["id"])
        assert changes[-1]["action"] == "delete" and changes[-1]["before"]["name"] == "Acme Hosting"

    async def test_refuses_while_contracts_exist_and_names_them(self, client, auth):
        vendor = await make_vendor(client, auth)
        contract = await make_contract(client, auth, vendor["id"], title="Hosting DPA", reference="DPA-1")
        response = await client.delete(f"/vendors/{vendor['id']}", headers=auth())
        assert response.status_code == 409
        problem = response.json()
        assert "Hosting DPA" in problem["detail"]
        assert problem["conflicts"] == [
            {"type": "contract", "id": contract["id"], "title": "Hosting DPA", "reference": "DPA-1"}
        ]
        assert (await client.get(f"/vendors/{vendor['id']}", headers=auth())).status_code == 200
        assert (await client.get(f"/contracts/{contract['id']}", headers=auth())).status_code == 200
