"""The supervision report and `registry remind`: what is late, close, or not as the rules require."""

import json
from datetime import timedelta

import pytest

from registry import clock
from tests.conftest import (
    CONFIRMATION,
    confirmed_deletion,
    ended_contract,
    make_contract,
    make_disclosure,
    make_vendor,
    run_cli,
)
from tests.test_conformance import EVERY_CLAUSE

pytestmark = pytest.mark.anyio


async def report(client, auth, **params):
    response = await client.get("/reports/supervision", params=params, headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def of_kind(result, kind):
    return [item for item in result["items"] if item["kind"] == kind]


def days(n: int) -> str:
    return (clock.today() + timedelta(days=n)).isoformat()


async def review(client, auth, object_type, object_id):
    response = await client.post(
        "/journal",
        json={"object_type": object_type, "object_id": object_id, "kind": "review", "text": "Reviewed"},
        headers=auth("editor"),
    )
    assert response.status_code == 201, response.text


async def healthy_vendor(client, auth, **contract_fields):
    """A vendor with a conforming contract in force, a disclosure, and a review: nothing to report."""
    vendor = await make_vendor(client, auth, name=contract_fields.pop("name", "Healthy"))
    contract = await make_contract(client, auth, vendor["id"], **{**EVERY_CLAUSE, **contract_fields})
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    await review(client, auth, "vendor", vendor["id"])
    return vendor, contract


class TestReport:
    async def test_nothing_to_report(self, client, auth):
        await healthy_vendor(client, auth)
        result = await report(client, auth)
        assert result["items"] == []
        assert result["overdue"] is False
        assert result["as_of"] == clock.today().isoformat()
        assert result["within"] == 30 and result["review_months"] == 12
        assert set(result["counts"].values()) == {0}

    async def test_expiring_contract_within_the_window(self, client, auth):
        vendor, contract = await healthy_vendor(client, auth, expires_on=days(10))
        [item] = (await report(client, auth))["items"]
        assert item["kind"] == "contract_expiring" and item["severity"] == "due_soon"
        assert item["object_type"] == "contract" and item["object_id"] == contract["id"]
        assert item["href"] == f"/contracts/{contract['id']}"
        assert item["page"] == f"/ui/vendors/{vendor['id']}"
        assert item["date"] == days(10) and item["days"] == 10
        assert (await report(client, auth, within=9))["items"] == []

    async def test_deletion_overdue_then_backups_then_followed_up(self, client, auth):
        vendor, contract = await ended_contract(client, auth)
        result = await report(client, auth)
        [overdue] = of_kind(result, "deletion_overdue")
        assert overdue["severity"] == "overdue" and overdue["date"] == "2025-07-30"
        assert overdue["days"] < 0
        assert overdue["href"] == f"/deletions/{overdue['object_id']}"
        assert result["overdue"] is True
        assert result["items"][0] == overdue  # most urgent first

        confirmed = await client.post(
            f"/deletions/{overdue['object_id']}/confirmations", json=CONFIRMATION, headers=auth("editor")
        )
        assert confirmed.status_code == 201
        result = await report(client, auth)
        assert of_kind(result, "deletion_overdue") == []
        # The confirmation said the last backup copy expires on 2025-09-30; nothing since says it did.
        [backups] = of_kind(result, "backup_follow_up_missing")
        assert backups["date"] == "2025-09-30" and backups["object_id"] == overdue["object_id"]
        assert result["overdue"] is True

        await review(client, auth, "deletion", overdue["object_id"])
        result = await report(client, auth)
        assert of_kind(result, "backup_follow_up_missing") == []
        assert result["overdue"] is False

    async def test_a_later_confirmation_is_a_follow_up(self, client, auth):
        deletion = await confirmed_deletion(
            client, auth, last_backup_expires_on=days(-5), completed_on=days(-20)
        )
        assert len(of_kind(await report(client, auth), "backup_follow_up_missing")) == 1
        follow_up = {**CONFIRMATION, "last_backup_expires_on": days(-5), "completed_on": days(-1)}
        response = await client.post(
            f"/deletions/{deletion['id']}/confirmations", json=follow_up, headers=auth()
        )
        assert response.status_code == 201, response.text
        assert of_kind(await report(client, auth), "backup_follow_up_missing") == []

    async def test_a_failed_reports_expiry_asks_for_no_follow_up(self, client, auth):
        await ended_contract(client, auth)
        [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
        url = f"/deletions/{deletion['id']}/confirmations"
        failed = {**CONFIRMATION, "verification_outcome": "failed", "last_backup_expires_on": days(-5)}
        assert (await client.post(url, json=failed, headers=auth())).status_code == 201
        # Overdue, but no follow-up: one cannot be recorded before a passed deletion report.
        assert of_kind(await report(client, auth), "backup_follow_up_missing") == []
        redo = {**CONFIRMATION, "last_backup_expires_on": days(30)}
        assert (await client.post(url, json=redo, headers=auth())).status_code == 201
        assert of_kind(await report(client, auth), "backup_follow_up_missing") == []

    async def test_deletion_due_soon(self, client, auth):
        vendor, contract = await healthy_vendor(client, auth, deletion_deadline_days=10)
        response = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": days(-1), "reason": "cheaper elsewhere"},
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        result = await report(client, auth)
        [due] = of_kind(result, "deletion_due")
        assert due["severity"] == "due_soon" and due["days"] == 9
        assert result["overdue"] is False
        assert of_kind(await report(client, auth, within=8), "deletion_due") == []

    async def test_data_held_without_equivalent_confidentiality(self, client, auth):
        # Contract-basis disclosures need such a contract (§6.1 as a rule); one on consent does not.
        vendor = await make_vendor(client, auth, name="Survey tool")
        await make_disclosure(client, auth, vendor["id"], None, basis="consent", consent_reference="CMP v3")
        [item] = of_kind(await report(client, auth), "no_equivalent_confidentiality")
        assert item["vendor_id"] == vendor["id"] and item["href"] == f"/vendors/{vendor['id']}"
        assert "§6.1" in item["summary"]
        # A contract in force without the clause does not help; one with it does.
        weak = await make_contract(client, auth, vendor["id"], confidentiality_equivalent=False)
        assert len(of_kind(await report(client, auth), "no_equivalent_confidentiality")) == 1
        patched = await client.patch(
            f"/contracts/{weak['id']}", json={"confidentiality_equivalent": True}, headers=auth()
        )
        assert patched.status_code == 200
        assert of_kind(await report(client, auth), "no_equivalent_confidentiality") == []

    async def test_consent_without_reference(self, client, auth):
        vendor, _ = await healthy_vendor(client, auth)
        # The API refuses such a disclosure; records from before that rule (or imported) can lack it.
        refused = await client.post(
            "/disclosures",
            json={
                "vendor_id": vendor["id"],
                "categories": ["user.contact.email"],
                "data_subjects": ["customer"],
                "purpose": "marketing.advertising",
                "basis": "consent",
                "valid_from": "2025-02-01",
            },
            headers=auth(),
        )
        assert refused.status_code == 422
        disclosure = await make_disclosure(
            client, auth, vendor["id"], None, basis="consent", consent_reference="CMP v3 banner"
        )
        from registry.tables import Disclosure

        await Disclosure.update({Disclosure.consent_reference: None}).where(Disclosure.id == disclosure["id"])
        [item] = of_kind(await report(client, auth), "consent_without_reference")
        assert item["object_type"] == "disclosure" and item["object_id"] == disclosure["id"]
        assert item["href"] == f"/disclosures/{disclosure['id']}"

    async def test_reviews(self, client, auth):
        never = await make_vendor(client, auth, name="Never reviewed")
        await make_contract(client, auth, never["id"], **EVERY_CLAUSE)
        prospective = await make_vendor(client, auth, name="Prospect")  # holds nothing: not listed
        # New: the first review falls due 30 days (first_review_grace_days) after it was added.
        from registry.tables import Vendor

        for days_ago, due in [(0, False), (29, False), (30, True)]:
            added = clock.now() - timedelta(days=days_ago)
            await Vendor.update({Vendor.created_at: added}).where(Vendor.id == never["id"])
            found = of_kind(await report(client, auth), "review_overdue")
            assert len(found) == due, days_ago
        [item] = found
        assert item["vendor_id"] == never["id"] and item["date"] == clock.today().isoformat()
        assert f"Never reviewed (first review due {clock.today()})" in item["summary"]
        assert prospective["id"] not in [i["vendor_id"] for i in (await report(client, auth))["items"]]

        await review(
            client,
            auth,
            "contract",
            (await client.get("/contracts", headers=auth())).json()["items"][0]["id"],
        )
        assert of_kind(await report(client, auth), "review_overdue") == []
        from registry.tables import JournalEntry

        await JournalEntry.update({JournalEntry.created_at: clock.now() - timedelta(days=400)}).where(
            JournalEntry.vendor == never["id"]
        )
        [late] = of_kind(await report(client, auth), "review_overdue")
        assert "more than 12 months ago" in late["summary"]
        assert of_kind(await report(client, auth, review_months=14), "review_overdue") == []

    async def test_contract_clause_gaps(self, client, auth):
        vendor, _ = await healthy_vendor(client, auth)
        # A draft lacking everything changes nothing: it binds nobody yet.
        await make_contract(client, auth, vendor["id"], title="New DPA", signed_on=None, effective_from=None)
        assert of_kind(await report(client, auth), "contract_clauses_missing") == []
        thin = await make_vendor(client, auth, name="Thin")
        await make_contract(client, auth, thin["id"], title="NDA")
        await review(client, auth, "vendor", thin["id"])
        [item] = of_kind(await report(client, auth), "contract_clauses_missing")
        assert item["object_type"] == "vendor" and item["object_id"] == thin["id"]
        assert item["href"] == f"/vendors/{thin['id']}/conformance"
        assert "lack 18 of 19" in item["summary"] and "GDPR Art. 28(3)(a)" in item["summary"]

    async def test_bad_parameters(self, client, auth):
        for params in ({"within": -1}, {"within": 4000}, {"within": "soon"}, {"review_months": 0}):
            response = await client.get("/reports/supervision", params=params, headers=auth())
            assert response.status_code == 400, params
            assert response.json()["errors"][0]["field"] == next(iter(params))
        assert (await client.get("/reports/supervision", headers=auth("lookup"))).status_code == 403
        assert (await client.get("/reports/supervision")).status_code == 401


class TestRemind:
    async def test_exit_status_output_and_events_once(self, client, auth, database_url):
        await healthy_vendor(client, auth)
        quiet = run_cli(database_url, "remind")
        assert quiet.returncode == 0
        assert "Nothing needs attention." in quiet.stdout

        await ended_contract(client, auth)
        late = run_cli(database_url, "remind", check=False, fresh=True)
        assert late.returncode == 1, late.stderr
        assert (
            "OVERDUE" in late.stdout and "deletion_overdue" in late.stdout and "Acme Hosting" in late.stdout
        )

        first = run_cli(database_url, "remind", "--emit", check=False)
        assert "1 new event(s) emitted" in first.stdout
        second = run_cli(database_url, "remind", "--emit", check=False)
        assert "0 new event(s) emitted" in second.stdout
        from registry.tables import WebhookEvent

        events = (
            await WebhookEvent.select().where(WebhookEvent.type == "deletion.overdue").output(load_json=True)
        )
        assert len(events) == 1
        assert events[0]["payload"]["data"]["vendor_name"] == "Acme Hosting"

        as_json = json.loads(run_cli(database_url, "remind", "--json", check=False).stdout)
        assert as_json["overdue"] is True
        assert as_json["counts"]["deletion_overdue"] == 1

    async def test_bad_options(self, database_url):
        result = run_cli(database_url, "remind", "--within", "-3", check=False)
        assert result.returncode == 2
        assert "--within" in result.stderr


class TestEdges:
    async def test_a_law_requires_it_no_confidentiality_contract_expected(self, client, auth):
        authority = await make_vendor(client, auth, name="Tax Office", kind="agent")
        await make_disclosure(
            client, auth, authority["id"], None, basis="legal_obligation", legal_reference="AO §147"
        )
        survey = await make_vendor(client, auth, name="Survey tool")
        await make_disclosure(client, auth, survey["id"], None, basis="consent", consent_reference="CMP v3")
        from registry.tables import Vendor

        await Vendor.update({Vendor.created_at: clock.now() - timedelta(days=60)}).where(Vendor.id > 0)
        result = await report(client, auth)
        assert [i["vendor_name"] for i in of_kind(result, "no_equivalent_confidentiality")] == ["Survey tool"]
        # Both receive data under no contract: both are due a review all the same (added 60 days ago).
        assert sorted(i["vendor_name"] for i in of_kind(result, "review_overdue")) == [
            "Survey tool",
            "Tax Office",
        ]

    async def test_limit_keeps_the_most_urgent_and_counts_all(self, client, auth):
        await ended_contract(client, auth)
        for n in range(3):
            vendor = await make_vendor(client, auth, name=f"Thin {n}")
            await make_contract(client, auth, vendor["id"], title="NDA")
        full = await report(client, auth)
        short = await report(client, auth, limit=2)
        assert short["total"] == full["total"] == len(full["items"]) > 2
        assert short["items"] == full["items"][:2]
        assert short["items"][0]["kind"] == "deletion_overdue"
        assert short["counts"] == full["counts"]
