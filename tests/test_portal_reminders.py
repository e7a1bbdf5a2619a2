"""Reminders to vendors on the schedule in settings, with a moved clock; `registry remind` and the
scheduler queue each step once; an accepted extension moves the due date."""

from datetime import date, timedelta

import pytest

from registry import clock
from registry.portal.scheduler import run_jobs, take_lease
from registry.tables import Change, VendorRequest
from tests.conftest import run_cli
from tests.portal_helpers import CONTACT, PRIVACY, asked_vendor, link, outbox

pytestmark = pytest.mark.anyio
OWNER = "legal@controller.example"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"portal_legal_team_email": OWNER})


def _on(monkeypatch, day: date) -> None:
    monkeypatch.setattr(clock, "today", lambda: day)


async def _reminders() -> list[dict]:
    return [m for m in await outbox() if m["kind"] == "vendor_reminder"]


async def _recent_request(client, auth):
    """A request made today for a deletion due in 29 days (terminated yesterday, 30 days to delete)."""
    _, deletion = await asked_vendor(
        client, auth, terminated_on=(clock.today() - timedelta(days=1)).isoformat()
    )
    return deletion, date.fromisoformat(deletion["due_on"])


class TestSchedule:
    async def test_steps_escalation_and_no_repeat(self, client, auth, settings, monkeypatch):
        deletion, due = await _recent_request(client, auth)
        for days, step in [
            (-7, "before_7"),
            (0, "due"),
            (5, "overdue_5"),
            (10, "overdue_10"),
            (14, "escalation"),
            (15, "overdue_15"),
        ]:
            _on(monkeypatch, due + timedelta(days=days))
            assert (await run_jobs(settings)).reminders == 1
            assert (await run_jobs(settings)).reminders == 0  # once per step
            mail = (await _reminders())[-1]
            assert mail["headers"] == [["X-Registry-Reminder", step]]
            assert mail["recipients"] == [PRIVACY]
            assert mail["cc"] == ([CONTACT, OWNER] if days >= 14 else [])
        _on(monkeypatch, due + timedelta(days=16))
        assert (await run_jobs(settings)).reminders == 0  # nothing due between steps
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        assert request["reminders"] == [
            "before_7",
            "due",
            "overdue_5",
            "overdue_10",
            "escalation",
            "overdue_15",
        ]

    async def test_none_after_a_submission(self, client, auth, settings, monkeypatch):
        deletion, due = await _recent_request(client, auth)
        await VendorRequest.update({VendorRequest.state: "submitted"}).where(VendorRequest.id > 0)
        _on(monkeypatch, due)
        assert (await run_jobs(settings)).reminders == 0
        assert await _reminders() == []

    async def test_one_scheduler_holds_the_lease(self, client):
        assert await take_lease("test-job", "node-a", 60)
        assert not await take_lease("test-job", "node-b", 60)
        assert await take_lease("test-job", "node-a", 60)  # its own lease, renewed


class TestRemindCommand:
    async def test_remind_queues_the_due_step_once_and_lists_the_silent_vendor(
        self, client, auth, settings, database_url
    ):
        _, deletion = await asked_vendor(
            client, auth, terminated_on=(clock.today() - timedelta(days=30)).isoformat()
        )
        # The request was made 20 days ago; today is its due date.
        await VendorRequest.update({VendorRequest.created_at: clock.now() - timedelta(days=20)}).where(
            VendorRequest.id > 0
        )
        first = run_cli(database_url, "remind", check=False)
        assert "1 reminder(s) to vendors queued" in first.stdout, first.stdout + first.stderr
        again = run_cli(database_url, "remind", check=False)
        assert "0 reminder(s) to vendors queued" in again.stdout
        assert (await run_jobs(settings)).reminders == 0  # the scheduler does not send it again
        [mail] = await _reminders()
        assert mail["headers"] == [["X-Registry-Reminder", "due"]]
        await VendorRequest.update({VendorRequest.due_on: clock.today() - timedelta(days=1)}).where(
            VendorRequest.id > 0
        )
        listed = run_cli(database_url, "remind", check=False)
        assert "vendor_not_answering" in listed.stdout and "Acme Hosting" in listed.stdout


class TestExtension:
    async def test_asked_then_accepted_moves_the_due_date(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        path = await link()
        page = await client.get(path)
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        form = {
            "csrf": csrf,
            "until": "2027-03-31",
            "reason": "Tape rotation ends in March",
            "email": "ana@acme.example",
        }
        assert (await client.post(f"{path}/extension", data=form)).status_code == 303
        assert [m["kind"] for m in await outbox()][-1] == "vendor_notice"
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        [ask] = request["submissions"]
        assert ask["kind"] == "extension" and ask["data"]["until"] == "2027-03-31"
        base = f"/deletions/{deletion['id']}/submissions/{ask['id']}"
        assert (await client.post(f"{base}/accept", headers=auth())).status_code == 200
        moved = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert moved["due_on"] == "2027-03-31"
        [change] = await Change.select(Change.message).where(Change.action == "extend")
        assert change["message"] == "due date extended: Tape rotation ends in March"


class TestSchedulerInTheServer:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"scheduler_interval_seconds": 0.2})

    async def test_an_expired_contract_is_noticed_and_its_vendor_asked(self, client, auth):
        import asyncio
        import time

        from tests.conftest import make_contract, make_disclosure, make_vendor

        vendor = await make_vendor(client, auth, privacy_contact={"email": PRIVACY})
        contract = await make_contract(client, auth, vendor["id"], expires_on="2025-12-31")
        await make_disclosure(client, auth, vendor["id"], contract["id"])
        deadline = time.monotonic() + 30
        while not await VendorRequest.count():  # nobody reads /deletions: the server's scheduler does it
            assert time.monotonic() < deadline, "the scheduler did not open the obligation"
            await asyncio.sleep(0.1)
        [mail] = await outbox()
        assert mail["kind"] == "vendor_request" and mail["recipients"] == [PRIVACY]
