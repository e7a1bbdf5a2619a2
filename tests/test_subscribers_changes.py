"""Which changes are notified, and how often: a change of purpose or country, a removal, two schedulers
at once, a late objection, unconfirmed addresses erased, `registry remind`, and no token or address at rest."""

import asyncio
import logging
from datetime import timedelta

import pytest

from registry import clock
from registry.portal.scheduler import run_jobs
from registry.redact import redact_path
from registry.tables import TABLES, Change, MailMessage, SubprocessorNotice, Subscriber
from tests.conftest import make_contract, make_disclosure, make_vendor, run_cli
from tests.smtp import settings_with_mail
from tests.subscriber_helpers import (
    CUSTOMER,
    csrf_of,
    days_from_now,
    on_day,
    path_of,
    public_vendor_from,
    subscribed,
    text_of,
)

pytestmark = pytest.mark.anyio
OTHER = "privacy@other-customer.example"


@pytest.fixture
def settings(settings, mailbox):
    return settings_with_mail(settings, mailbox)


async def _listed_vendor(client, auth, name: str) -> tuple[dict, dict, dict]:
    """A public vendor listed since 30 days ago (support operations, data to DE), its DPA, its disclosure."""
    vendor = await make_vendor(client, auth, name=name, public=True, legal_name=f"{name} Ltd")
    contract = await make_contract(client, auth, vendor["id"])
    held = await make_disclosure(
        client, auth, vendor["id"], contract["id"], country="DE", valid_from=days_from_now(-30).isoformat()
    )
    return vendor, contract, held


async def _notices() -> list[dict]:
    return await SubprocessorNotice.select().order_by(SubprocessorNotice.id)


class TestWhatIsNotified:
    async def test_a_new_destination_country_and_purpose_of_a_listed_vendor(
        self, client, auth, settings, mailbox, monkeypatch
    ):
        vendor, contract, _ = await _listed_vendor(client, auth, "Helpdesk Co")
        await subscribed(client, mailbox)
        starts = days_from_now(35)
        await make_disclosure(
            client,
            auth,
            vendor["id"],
            contract["id"],
            country="US",
            purpose="marketing.advertising",
            valid_from=starts.isoformat(),
        )
        on_day(monkeypatch, starts - timedelta(days=30))
        assert (await run_jobs(settings)).notices == 1
        [row] = await _notices()
        assert (row["change"], row["effective_on"], row["short_notice"]) == ("changed", starts, False)
        assert "new destination country: US" in row["summary"] and "new purpose:" in row["summary"]
        [_, mail] = await mailbox.wait_for(to=CUSTOMER, count=2)
        assert "what Helpdesk Co does as a sub-processor" in mail["Subject"]
        assert "new destination country: US" in text_of(mail)

    async def test_a_removal_is_notified_before_the_day(self, client, auth, settings, mailbox, monkeypatch):
        _, _, held = await _listed_vendor(client, auth, "Leaving Inc")
        await subscribed(client, mailbox)
        last = days_from_now(49)
        response = await client.patch(
            f"/disclosures/{held['id']}",
            json={"valid_to": last.isoformat()},
            headers={**auth(), "If-Match": f'"{held["version"]}"'},
        )
        assert response.status_code == 200, response.text
        on_day(monkeypatch, last + timedelta(days=1) - timedelta(days=30))
        assert (await run_jobs(settings)).notices == 1
        [row] = await _notices()
        assert (row["change"], row["effective_on"]) == ("removed", last + timedelta(days=1))
        [_, mail] = await mailbox.wait_for(to=CUSTOMER, count=2)
        assert "Leaving Inc will no longer be a sub-processor" in mail["Subject"]

    async def test_two_schedulers_at_once_send_each_notice_once(self, client, auth, settings, mailbox):
        await subscribed(client, mailbox)
        await subscribed(client, mailbox, OTHER)
        await public_vendor_from(client, auth, "Twice Ltd", days_from_now(5))
        runs = await asyncio.gather(run_jobs(settings), run_jobs(settings), run_jobs(settings))
        assert sum(r.notices for r in runs) == 2
        assert len(await _notices()) == 2
        assert await MailMessage.count().where(MailMessage.kind == "subprocessor_notice") == 2
        assert (await run_jobs(settings)).notices == 0

    async def test_history_before_subscribing_is_not_sent(self, client, auth, settings, mailbox):
        await _listed_vendor(client, auth, "Old Friend")
        await subscribed(client, mailbox)
        assert (await run_jobs(settings)).notices == 0


class TestObjectionsAndErasure:
    async def test_an_objection_after_the_day_is_recorded_late(
        self, client, auth, settings, mailbox, monkeypatch
    ):
        await subscribed(client, mailbox)
        starts = days_from_now(3)
        await public_vendor_from(client, auth, "Soon GmbH", starts)
        await run_jobs(settings)
        [_, mail] = await mailbox.wait_for(to=CUSTOMER, count=2)
        on_day(monkeypatch, starts + timedelta(days=2))
        path = path_of(mail, "object")
        page = await client.get(path)
        assert (await client.post(path, data={"csrf": csrf_of(page.text)})).status_code == 303
        [objection] = (await client.get("/objections", headers=auth("viewer"))).json()
        assert objection["late"] is True and objection["reason"] is None and objection["short_notice"] is True

    async def test_an_unconfirmed_address_is_erased_after_the_confirmation_period(
        self, client, settings, mailbox
    ):
        await client.post("/public/subscriptions", json={"email": CUSTOMER})
        [mail] = await mailbox.wait_for(to=CUSTOMER)
        await Subscriber.update({Subscriber.created_at: clock.now() - timedelta(days=8)}, force=True)
        await run_jobs(settings)
        [row] = await Subscriber.select()
        assert row["email"] is None and row["state"] == "unsubscribed"
        assert (await client.get(path_of(mail, "confirm"))).status_code == 404
        stored = await MailMessage.select(MailMessage.recipients).output(load_json=True)
        assert stored == [{"recipients": ["(erased)"]}]

    async def test_no_token_or_address_at_rest_or_in_logs(
        self, client, auth, settings, mailbox, caplog, engine_name, database_url
    ):
        caplog.set_level(logging.INFO)
        await subscribed(client, mailbox)
        await public_vendor_from(client, auth, "Quiet Ltd", days_from_now(5))
        await run_jobs(settings)
        [_, mail] = await mailbox.wait_for(to=CUSTOMER, count=2)
        paths = [path_of(mail, "object"), path_of(mail, "unsubscribe")]
        await client.get(paths[0])
        tokens = [p.rsplit("/", 1)[1] for p in paths]
        for table in TABLES:
            dumped = repr(await table.select())
            assert not any(t in dumped for t in tokens), table._meta.tablename
        logged = "\n".join(
            r.getMessage() for r in caplog.records if r.name.startswith(("registry", "uvicorn"))
        )
        assert not any(t in logged for t in tokens) and CUSTOMER not in logged
        assert redact_path(paths[0]) == "/public/object/<token>"
        assert redact_path(paths[1] + "?x=1") == "/public/unsubscribe/<token>?x=1"


class TestRemindCommand:
    async def test_remind_queues_the_notices_once(self, client, auth, settings, mailbox, database_url):
        await subscribed(client, mailbox)
        await public_vendor_from(client, auth, "Cron Cloud", days_from_now(12))
        first = run_cli(database_url, "remind", check=False)
        assert "1 notice(s) of sub-processor changes to subscribers queued" in first.stdout, first.stderr
        again = run_cli(database_url, "remind", check=False)
        assert "0 notice(s)" in again.stdout
        assert (await run_jobs(settings)).notices == 0
        [row] = await _notices()
        assert row["vendor_name"] == "Cron Cloud" and row["short_notice"]


class TestEditsTakeEffectAtOnce:
    async def test_a_listed_vendor_moving_country_is_notified_at_once_as_short_notice(
        self, client, auth, settings, mailbox
    ):
        vendor, _, _ = await _listed_vendor(client, auth, "Mover AG")
        # Listed since ten days ago (as if recorded then), subscribed since yesterday.
        await Change.update({Change.created_at: clock.now() - timedelta(days=10)}, force=True)
        await subscribed(client, mailbox)
        # Subscribed yesterday: the edit made today is news to them.
        await Subscriber.update({Subscriber.confirmed_at: clock.now() - timedelta(days=1)}, force=True)
        response = await client.patch(
            f"/vendors/{vendor['id']}",
            json={"country": "CH"},
            headers={**auth(), "If-Match": f'"{vendor["version"]}"'},
        )
        assert response.status_code == 200, response.text
        assert (await run_jobs(settings)).notices == 1
        [row] = await _notices()
        assert row["change"] == "changed" and row["short_notice"]
        assert "established in CH instead of DE" in row["summary"]
