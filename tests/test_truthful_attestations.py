"""Issue 17 items 1-4: the registry signs only what the confirmations show to be true."""

import hashlib

import pytest

from registry.tables import Attestation, Change, DeletionConfirmation
from tests.conftest import CONFIRMATION, confirmed_deletion, make_contract, make_disclosure, make_vendor
from tests.test_attestations import issue, pdf_text
from tests.test_web import csrf_of, people, sign_in  # noqa: F401 (people is a fixture)

SAME = {"name": "Ana Ruiz", "title": "Head of IT", "organisation": "Acme Hosting GmbH"}
pytestmark = pytest.mark.anyio

RETURNED = {
    "returned_on": "2025-07-05",
    "format": "CSV export over SFTP",
    "received_by": "Mia Chen, Records Manager",
    "sha256": hashlib.sha256(b"the export").hexdigest(),
}


async def ended(client, auth, categories=("user.contact.email",), **contract_fields) -> dict:
    """The obligation of a DPA terminated on 2025-06-30 (due 2025-07-30, backups covered)."""
    vendor = await make_vendor(client, auth, legal_name="Acme Hosting GmbH")
    contract = await make_contract(
        client, auth, vendor["id"], backups_covered=True, deletion_deadline_days=30, **contract_fields
    )
    await make_disclosure(client, auth, vendor["id"], contract["id"], categories=list(categories))
    response = await client.post(
        f"/contracts/{contract['id']}/terminate",
        json={"terminated_on": "2025-06-30", "reason": "moved"},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    return deletion


async def confirm(client, auth, deletion_id: int, **change):
    return await client.post(
        f"/deletions/{deletion_id}/confirmations", json={**CONFIRMATION, **change}, headers=auth()
    )


async def refused(client, auth, deletion_id: int) -> list[dict]:
    """Issuing is a 409 that lists every reason, and nothing is issued."""
    response = await issue(client, auth, deletion_id)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await Attestation.count() == 0
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


class TestNotAttestable:
    @pytest.mark.parametrize(
        ("change", "status", "reasons"),
        [
            (
                {"verification_outcome": "failed", "verification_result": "FAILED: recoverable from replica"},
                "overdue",
                [("status", "confirmed"), ("verification_outcome", "passed")],
            ),
            (
                {
                    "verification_outcome": "partial",
                    "remaining": [{"what": "Tickets", "where": "replica eu-2"}],
                },
                "overdue",
                [("status", "confirmed"), ("verification_outcome", "passed")],
            ),
            (
                {"verified_by": SAME},
                "confirmed",
                [("self_verification_reason", "required_when_self_verified")],
            ),
        ],
    )
    async def test_failed_partial_or_self_verified(self, client, auth, change, status, reasons):
        deletion = await ended(client, auth)
        response = await confirm(client, auth, deletion["id"], **change)
        assert response.status_code == 201, response.text  # recorded: it is what the vendor said
        # A failed or partial report closes nothing: the deletion stays overdue (and on the report).
        assert response.json()["status"] == status
        [c] = response.json()["confirmations"]
        expected = [(f if f == "status" else f"confirmations[{c['id']}].{f}", rule) for f, rule in reasons]
        assert await refused(client, auth, deletion["id"]) == expected

    async def test_every_reason_is_listed(self, client, auth):
        deletion = await ended(
            client,
            auth,
            categories=("user.contact.email", "user.name"),
            end_of_contract="return_then_delete",
        )
        failed = await confirm(
            client,
            auth,
            deletion["id"],
            categories=["user.name"],
            verification_outcome="failed",
            returned=RETURNED,
            verification_result="FAILED: data still recoverable from replica",
        )
        assert failed.status_code == 201, failed.text
        # Recorded without a return (before the rule) and by its own performer, with no reason.
        self_checked = await confirm(
            client,
            auth,
            deletion["id"],
            categories=["user.contact.email"],
            verified_by=SAME,
            returned=RETURNED,
        )
        assert self_checked.status_code == 201, self_checked.text
        first, second = (c["id"] for c in self_checked.json()["confirmations"])
        await DeletionConfirmation.update(
            {
                DeletionConfirmation.details: {
                    **{
                        k: v
                        for k, v in CONFIRMATION.items()
                        if k not in ("completed_on", "verification_outcome")
                    },
                    "verified_by": SAME,
                    "method_category": "clear",  # weaker than the contract's minimum set below
                    "technique": "logical_deletion",
                }
            }
        ).where(DeletionConfirmation.id == second)
        patched = await client.patch(
            f"/contracts/{deletion['contract_id']}",
            json={"minimum_sanitization": "purge", "evidence_required": True},
            headers=auth(),
        )
        assert patched.status_code == 200, patched.text
        assert sorted(await refused(client, auth, deletion["id"])) == sorted(
            [
                ("status", "confirmed"),  # the failed report leaves user.name to do
                (f"confirmations[{first}].verification_outcome", "passed"),
                (f"confirmations[{first}].evidence", "evidence_required"),
                (f"confirmations[{second}].method_category", "minimum_sanitization"),
                (f"confirmations[{second}].self_verification_reason", "required_when_self_verified"),
                (f"confirmations[{second}].returned", "required"),
                (f"confirmations[{second}].evidence", "evidence_required"),
            ]
        )

    async def test_an_outcome_not_stated_is_not_attested(self, client, auth):
        deletion = await confirmed_deletion(client, auth)
        [c] = deletion["confirmations"]
        # What migration 0013 leaves on confirmations recorded before the outcome was a field.
        await DeletionConfirmation.update({DeletionConfirmation.verification_outcome: None}).where(
            DeletionConfirmation.id == c["id"]
        )
        shown = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert shown["confirmations"][0]["verification_outcome"] is None
        assert await refused(client, auth, deletion["id"]) == [
            (f"confirmations[{c['id']}].verification_outcome", "stated")
        ]

    async def test_the_evidence_setting(self, client, auth, app):
        deletion = await confirmed_deletion(client, auth)
        app.state["settings"] = app.state["settings"].model_copy(
            update={"attestation_requires_evidence": True}
        )
        [c] = deletion["confirmations"]
        assert await refused(client, auth, deletion["id"]) == [
            (f"confirmations[{c['id']}].evidence", "evidence_required")
        ]
        uploaded = await client.put(
            f"/deletions/{deletion['id']}/confirmations/{c['id']}/evidence",
            content=b"%PDF-1.7\n%%EOF\n",
            params={"filename": "wipe-log.pdf"},
            headers={**auth(), "Content-Type": "application/pdf"},
        )
        assert uploaded.status_code == 200, uploaded.text
        assert (await issue(client, auth, deletion["id"])).status_code == 201


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            (
                {"method_category": "destroy", "technique": "logical_deletion"},
                "technique",
                "admitted_by_method",
            ),
            (
                {"method_category": "clear", "technique": "cryptographic_erase"},
                "technique",
                "admitted_by_method",
            ),
            ({"last_backup_expires_on": None}, "last_backup_expires_on", "required"),
            ({"completed_on": "2025-06-01"}, "completed_on", "after_end"),
            ({"verification_outcome": "partial"}, "remaining", "required_when_partial"),
            ({"remaining": [{"what": "Tickets", "where": "replica"}]}, "remaining", "empty_when_passed"),
            ({"kind": "backup_follow_up"}, "kind", "after_deletion"),
            # The PDF would print "Verified by the performer, because …" under two different people.
            (
                {"self_verification_reason": "one admin"},
                "self_verification_reason",
                "only_when_self_verified",
            ),
            # "purge — other", and nothing says what the other was.
            ({"technique": "other", "tool": None}, "tool", "required_when_other"),
            # "the last backup copy expires on 0001-01-01, on time" would be signed.
            ({"last_backup_expires_on": "2025-06-29"}, "last_backup_expires_on", "after_end"),
        ],
    )
    async def test_each_contradiction(self, client, auth, change, field, rule):
        deletion = await ended(client, auth)
        changes = await Change.count()
        response = await confirm(client, auth, deletion["id"], **change)
        assert response.status_code == 422, response.text
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]
        assert (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()[
            "confirmations"
        ] == []
        assert await Change.count() == changes

    async def test_a_follow_up_before_the_deletion_report_is_refused(self, client, auth):
        deletion = await confirmed_deletion(client, auth)  # deleted 2025-07-10, backups until 2025-09-30
        follow_up = {"kind": "backup_follow_up", "completed_on": "2025-07-05", "last_backup_expires_on": None}
        response = await confirm(client, auth, deletion["id"], **follow_up)
        assert response.status_code == 422, response.text
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
            ("completed_on", "after_deletion_report")
        ]
        assert await DeletionConfirmation.count() == 1

    async def test_an_empty_category_list_is_not_all_of_them(self, client, auth):
        deletion = await ended(client, auth)
        response = await confirm(client, auth, deletion["id"], categories=[])
        assert response.status_code == 400, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["categories"]
        assert await DeletionConfirmation.count() == 0

    async def test_return_then_delete_and_the_minimum(self, client, auth):
        deletion = await ended(
            client, auth, end_of_contract="return_then_delete", minimum_sanitization="purge"
        )
        response = await confirm(
            client, auth, deletion["id"], method_category="clear", technique="logical_deletion"
        )
        assert response.status_code == 422, response.text
        assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [
            ("method_category", "minimum_sanitization"),
            ("returned", "required"),
        ]
        late_return = await confirm(
            client, auth, deletion["id"], returned={**RETURNED, "returned_on": "2025-07-11"}
        )
        assert [(e["field"], e["rule"]) for e in late_return.json()["errors"]] == [
            ("returned.returned_on", "before_deletion")
        ]
        assert await DeletionConfirmation.count() == 0

    async def test_every_contradiction_at_once(self, client, auth):
        deletion = await ended(client, auth)
        response = await confirm(
            client,
            auth,
            deletion["id"],
            method_category="destroy",
            technique="logical_deletion",
            last_backup_expires_on=None,
            completed_on="2025-06-01",
        )
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {
            "technique",
            "last_backup_expires_on",
            "completed_on",
        }
        assert await DeletionConfirmation.count() == 0


class TestDeadline:
    async def test_late_backups_print_the_honest_sentence_and_ask_for_a_follow_up(self, client, auth):
        deletion = await confirmed_deletion(client, auth)  # backups expire 2025-09-30; due 2025-07-30
        assert deletion["deadline"] == {
            **deletion["deadline"],
            "met": False,
            "active_days_late": 0,
            "last_backup_expires_on": "2025-09-30",
            "backups_days_late": 62,
            "backups_gone_on": None,
        }
        response = await issue(client, auth, deletion["id"])
        assert response.status_code == 201, response.text
        pdf = (await client.get(f"/attestations/{response.json()['serial']}/pdf", headers=auth())).content
        sentence = (
            "Deadline not met (due 2025-07-30): active copies deleted on 2025-07-10 (on time);"
            " the last backup copy expires on 2025-09-30, 62 days after the deadline."
        )
        assert sentence in pdf_text(pdf) and deletion["deadline"]["sentence"] == sentence
        assert "Deadline met" not in pdf_text(pdf)

        [item] = await follow_ups(client, auth)
        assert item["object_id"] == deletion["id"] and "backup_follow_up" in item["summary"]
        follow_up = {"kind": "backup_follow_up", "completed_on": "2025-10-02", "last_backup_expires_on": None}
        failed = await confirm(client, auth, deletion["id"], **follow_up, verification_outcome="failed")
        assert failed.status_code == 201, failed.text  # recorded while attested, but it says nothing is gone
        assert len(await follow_ups(client, auth)) == 1
        passed = await confirm(client, auth, deletion["id"], **follow_up)
        assert passed.status_code == 201, passed.text
        body = passed.json()
        assert (body["status"], body["confirmed_on"]) == ("attested", "2025-07-10")
        assert body["deadline"]["backups_gone_on"] == "2025-10-02"
        assert body["deadline"]["sentence"].endswith(
            "The vendor confirmed on 2025-10-02 that the backup copies are gone."
        )
        assert await follow_ups(client, auth) == []

    async def test_met_prints_the_return_the_reason_and_the_evidence(self, client, auth):
        deletion = await ended(
            client,
            auth,
            end_of_contract="return_then_delete",
            minimum_sanitization="purge",
            evidence_required=True,
        )
        conformance = (
            await client.get(f"/contracts/{deletion['contract_id']}/conformance", headers=auth())
        ).json()
        assert [(t["id"], t["present"]) for t in conformance["deletion_terms"]] == [
            ("deletion-minimum-sanitization", True),
            ("deletion-evidence", True),
        ]
        response = await confirm(
            client,
            auth,
            deletion["id"],
            verified_by=SAME,
            self_verification_reason="The vendor has one administrator; our DPO reviewed the log.",
            returned=RETURNED,
            last_backup_expires_on="2025-07-20",
        )
        assert response.status_code == 201, response.text
        [c] = response.json()["confirmations"]
        log = b"%PDF-1.7\nwipe log\n%%EOF\n"
        await client.put(
            f"/deletions/{deletion['id']}/confirmations/{c['id']}/evidence",
            content=log,
            params={"filename": "wipe-log.pdf"},
            headers={**auth(), "Content-Type": "application/pdf"},
        )
        issued = await issue(client, auth, deletion["id"])
        assert issued.status_code == 201, issued.text
        text = pdf_text(
            (await client.get(f"/attestations/{issued.json()['serial']}/pdf", headers=auth())).content
        )
        for fact in [
            "Deadline met (due 2025-07-30): active copies deleted on 2025-07-10 (on time); the last backup copy"
            " expires on 2025-07-20, on time.",
            "The vendor has one administrator; our DPO reviewed the log.",
            "on 2025-07-05 as CSV export over SFTP, received by Mia Chen, Records Manager",
            "sanitization at least purge",
            "(outcome: passed)",
        ]:
            assert fact in text, fact
        squeezed = text.replace(" ", "")  # a long hash wraps across lines
        assert f"SHA-256{RETURNED['sha256']}" in squeezed
        assert f"wipe-log.pdf(SHA-256{hashlib.sha256(log).hexdigest()})" in squeezed


async def follow_ups(client, auth) -> list[dict]:
    response = await client.get("/reports/supervision", headers=auth("viewer"))
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["kind"] == "backup_follow_up_missing"]


@pytest.mark.usefixtures("people")
async def test_the_confirmation_form_states_outcome_and_remains(client, auth):
    deletion = await ended(client, auth)
    await sign_in(client)
    url = f"/ui/deletions/{deletion['id']}/confirm"
    page = await client.get(url)
    assert 'name="verification_outcome"' in page.text and 'name="returned.sha256"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        **{f"{who}.{k}": v for who in ("performed_by", "verified_by") for k, v in CONFIRMATION[who].items()},
        "method_category": "destroy",
        "technique": "logical_deletion",
        "systems": "Support desk",
        "backups_handling": "Backup keys destroyed",
        "last_backup_expires_on": "2025-07-20",
        "completed_on": "2025-07-10",
        "verification_method": "Sampled 50 ids",
        "verification_result": "12 tickets left on a replica",
        "verification_outcome": "partial",
        "remaining": "Support tickets",
    }
    bad = await client.post(url, data=form)
    assert bad.status_code == 400 and 'id="remaining-error"' in bad.text  # no "| where"
    bad = await client.post(url, data={**form, "remaining": "Support tickets | replica eu-2"})
    assert bad.status_code == 400 and 'id="technique-error"' in bad.text  # a logical deletion is not destroy
    saved = await client.post(
        url, data={**form, "method_category": "clear", "remaining": "Support tickets | replica eu-2"}
    )
    assert saved.status_code == 303, saved.text
    shown = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
    [c] = shown["confirmations"]
    assert (shown["status"], c["verification_outcome"], c["remaining"]) == (
        "overdue",
        "partial",
        [{"what": "Support tickets", "where": "replica eu-2"}],
    )
    # Issuing from the page is refused too, naming the reason, and issues nothing.
    issued = await client.post(f"/ui/deletions/{deletion['id']}/attestation", data={"csrf": form["csrf"]})
    assert issued.status_code == 409, issued.text
    assert "may not be attested" in issued.text and "verification partial" in issued.text
    assert await Attestation.count() == 0


class TestRedone:
    """A confirmation cannot be withdrawn: the later passed report of the same kind decides."""

    async def test_a_failed_report_redone_and_passed_is_attested_naming_both(self, client, auth):
        deletion = await ended(client, auth, categories=("user.contact.email", "user.name"))
        failed = await confirm(
            client,
            auth,
            deletion["id"],
            verification_outcome="partial",
            verification_result="Replica eu-2 still answers",
            remaining=[{"what": "Tickets", "where": "replica eu-2"}],
            verified_by=SAME,  # and self-verified: the redo, not this report, is what is attested
        )
        assert failed.status_code == 201, failed.text
        narrower = await confirm(client, auth, deletion["id"], categories=["user.name"])
        assert narrower.status_code == 201, narrower.text
        first = failed.json()["confirmations"][0]["id"]
        # A passed report on fewer categories does not replace the partial one.
        reasons = await refused(client, auth, deletion["id"])
        assert (f"confirmations[{first}].verification_outcome", "passed") in reasons
        redo = await confirm(client, auth, deletion["id"], completed_on="2025-07-20")
        assert redo.status_code == 201, redo.text
        response = await issue(client, auth, deletion["id"])
        assert response.status_code == 201, response.text
        pdf = (await client.get(f"/attestations/{response.json()['serial']}/pdf", headers=auth())).content
        text = pdf_text(pdf)
        assert "Replica eu-2 still answers (outcome: partial)" in text
        assert "Remained after this report Tickets (replica eu-2)" in text
        assert "Superseded by report 3 of 3, a later report that passed" in text
        assert text.count("Superseded by") == 1  # the narrower passed report stands as it is

    async def test_the_redo_not_the_superseded_report_decides_the_deadline(self, client, auth):
        deletion = await ended(client, auth)
        failed = await confirm(
            client, auth, deletion["id"], verification_outcome="failed", last_backup_expires_on="2025-12-31"
        )
        assert failed.json()["deadline"]["met"] is False, failed.text
        redo = await confirm(client, auth, deletion["id"], last_backup_expires_on="2025-07-20")
        assert redo.status_code == 201, redo.text
        verdict = redo.json()["deadline"]
        assert (verdict["met"], verdict["last_backup_expires_on"]) == (True, "2025-07-20"), verdict
        response = await issue(client, auth, deletion["id"])
        assert response.status_code == 201, response.text
        pdf = (await client.get(f"/attestations/{response.json()['serial']}/pdf", headers=auth())).content
        assert "the last backup copy expires on 2025-07-20, on time." in pdf_text(pdf)

    async def test_a_failed_follow_up_redone_lets_the_successor_say_the_backups_are_gone(self, client, auth):
        deletion = await confirmed_deletion(client, auth)  # backups expire 2025-09-30, after the deadline
        first = await issue(client, auth, deletion["id"])
        assert first.status_code == 201, first.text
        follow_up = {"kind": "backup_follow_up", "completed_on": "2025-10-02", "last_backup_expires_on": None}
        for outcome in ("failed", "passed"):
            response = await confirm(client, auth, deletion["id"], **follow_up, verification_outcome=outcome)
            assert response.status_code == 201, response.text
        old = first.json()["serial"]
        revoked = await client.post(
            f"/attestations/{old}/revoke", json={"reason": "the backups are now gone"}, headers=auth()
        )
        assert revoked.status_code == 200, revoked.text
        again = await issue(client, auth, deletion["id"])
        assert again.status_code == 201, again.text
        new = again.json()["serial"]
        assert new != old and again.json()["supersedes"] == old
        pdf = (await client.get(f"/attestations/{new}/pdf", headers=auth())).content
        text = pdf_text(pdf)
        assert "The vendor confirmed on 2025-10-02 that the backup copies are gone." in text
        assert "Superseded by report 3 of 3" in text
        verdict = (await client.get(f"/attestations/{old}/verify")).json()
        assert (verdict["status"], verdict["superseded_by"]) == ("revoked", new)


class TestDeadlineFacts:
    """What the verdict states comes from the reports that count (mutation run of deadline_verdict)."""

    async def test_a_failed_follow_up_does_not_say_the_backups_are_gone(self, client, auth):
        deletion = await confirmed_deletion(client, auth)
        follow_up = {"kind": "backup_follow_up", "completed_on": "2025-10-02", "last_backup_expires_on": None}
        failed = await confirm(client, auth, deletion["id"], **follow_up, verification_outcome="failed")
        assert failed.status_code == 201, failed.text
        deadline = failed.json()["deadline"]
        assert deadline["backups_gone_on"] is None and "backup copies are gone" not in deadline["sentence"]
        stored = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()["deadline"]
        assert stored == deadline

    async def test_backups_out_of_scope_leave_their_expiry_out(self, client, auth):
        vendor = await make_vendor(client, auth, legal_name="Acme Hosting GmbH")
        contract = await make_contract(
            client, auth, vendor["id"], backups_covered=False, deletion_deadline_days=30
        )
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        terminated = await client.post(
            f"/contracts/{contract['id']}/terminate",
            json={"terminated_on": "2025-06-30", "reason": "moved"},
            headers=auth(),
        )
        assert terminated.status_code == 200, terminated.text
        [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
        assert deletion["backups_in_scope"] is False
        # The report still names a backup expiry (CONFIRMATION has one): out of scope, it is no fact of the verdict.
        reported = await confirm(client, auth, deletion["id"])
        assert reported.status_code == 201, reported.text
        deadline = reported.json()["deadline"]
        assert (deadline["met"], deadline["last_backup_expires_on"], deadline["backups_days_late"]) == (
            True,
            None,
            None,
        )
        assert "backup" not in deadline["sentence"]
