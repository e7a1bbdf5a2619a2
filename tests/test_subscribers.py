"""Change notices to customers, end to end with the real SMTP catcher: subscribe, confirm, the notice
30 days before a new sub-processor (moved clock), object, the legal team sees it, one-click unsubscribe."""

from datetime import timedelta

import pytest

from registry.auth import WriteContext
from registry.enums import Role
from registry.mail.outbox import ERASED, ERASED_ANSWER
from registry.people.service import create_person
from registry.portal.scheduler import run_jobs
from registry.tables import MailAttempt, MailMessage, NoticeObjection, SubprocessorNotice, Subscriber
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
from tests.test_web import PASSWORD, sign_in

pytestmark = pytest.mark.anyio
LEGAL = "legal@controller.example"
LURKER = "lurker@customer.example"


@pytest.fixture
def settings(settings, mailbox):
    return settings_with_mail(settings, mailbox, portal_legal_team_email=LEGAL)


async def _objections(client, auth) -> list[dict]:
    response = await client.get("/objections", headers=auth(Role.viewer))
    assert response.status_code == 200, response.text
    return response.json()


class TestNoticeToObjection:
    async def test_subscribe_confirm_notice_object_unsubscribe(
        self, client, auth, settings, mailbox, monkeypatch
    ):
        await subscribed(client, mailbox)
        assert (await client.post("/public/subscriptions", json={"email": LURKER})).status_code == 202
        starts = days_from_now(40)
        await public_vendor_from(client, auth, "Nimbus Mail", starts)

        on_day(monkeypatch, starts - timedelta(days=31))
        assert (await run_jobs(settings)).notices == 0  # not yet within the 30 days
        on_day(monkeypatch, starts - timedelta(days=30))
        assert (await run_jobs(settings)).notices == 1  # the confirmed subscriber only
        assert (await run_jobs(settings)).notices == 0  # never twice

        [_, notice] = await mailbox.wait_for(to=CUSTOMER, count=2)
        assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = path_of(notice, "unsubscribe")
        assert notice["List-Unsubscribe"].startswith("<http") and notice["List-Unsubscribe"].endswith(
            f"{unsubscribe}>"
        )
        body = text_of(notice)
        assert "Nimbus Mail will become a sub-processor of Example" in notice["Subject"]
        assert f"from {starts.isoformat()}" in body and "If you object to this change" in body
        assert "Nimbus Mail GmbH" in body and "(short notice)" not in notice["Subject"]
        assert len(mailbox.received(LURKER)) == 1  # its confirmation only: unconfirmed gets no notice

        objection = path_of(notice, "object")
        page = await client.get(objection)
        assert page.status_code == 200 and "Send my objection" in page.text
        assert (
            page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
        )
        sent = await client.post(objection, data={"csrf": csrf_of(page.text), "reason": "Not in the EU"})
        assert sent.status_code == 303
        again = await client.get(objection)
        assert "Your objection was recorded" in again.text
        twice = await client.post(objection, data={"csrf": csrf_of(page.text), "reason": "again"})
        assert twice.status_code == 409
        [recorded] = await _objections(client, auth)
        assert (recorded["vendor_name"], recorded["reason"], recorded["late"]) == (
            "Nimbus Mail",
            "Not in the EU",
            False,
        )
        assert recorded["email"] == CUSTOMER and recorded["effective_on"] == starts.isoformat()
        await create_person(WriteContext(actor="test-setup"), "legal-viewer", Role.viewer, PASSWORD)
        assert (await sign_in(client, "legal-viewer")).status_code == 303
        legal_page = await client.get("/ui/objections")
        assert legal_page.status_code == 200 and "Not in the EU" in legal_page.text
        assert "Nimbus Mail" in legal_page.text and CUSTOMER in legal_page.text
        assert "1 objection to sub-processor changes" in (await client.get("/ui/")).text
        [told] = await mailbox.wait_for(to=LEGAL)
        assert "Objection to a sub-processor change: Nimbus Mail" in told["Subject"]

        shown = await client.get(unsubscribe)  # a GET shows the button and unsubscribes nothing
        assert shown.status_code == 200 and 'value="One-Click"' in shown.text
        assert await Subscriber.count().where(Subscriber.state == "confirmed") == 1
        client.cookies.clear()  # a mail client posts with no cookie and nothing else
        gone = await client.post(
            unsubscribe,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert gone.status_code == 200 and "Unsubscribed" in gone.text
        assert await Subscriber.count().where(Subscriber.email == CUSTOMER) == 0  # the address is erased
        stored = await MailMessage.select(MailMessage.recipients).output(load_json=True)
        assert not any(CUSTOMER in m["recipients"] for m in stored)
        # What the SMTP server answered to each of the subscriber's messages may quote the address.
        rows = await MailMessage.select(MailMessage.id, MailMessage.recipients).output(load_json=True)
        ids = [m["id"] for m in rows if m["recipients"] == [ERASED]]  # the confirmation and the notice
        answers = await MailAttempt.select(MailAttempt.answer, MailAttempt.code).where(
            MailAttempt.message.is_in(ids)
        )
        assert len(ids) == 2 and len(answers) == 2
        assert all(a["answer"] == ERASED_ANSWER and a["code"] == 250 for a in answers), answers
        # The lurker's confirmation and the legal team's mail keep theirs.
        others = await MailAttempt.select(MailAttempt.answer).where(MailAttempt.message.not_in(ids))
        assert len(others) == 2 and all(a["answer"].startswith("250 ") for a in others), others
        [after] = await _objections(client, auth)
        assert after["email"] is None and after["subscriber_id"] == recorded["subscriber_id"]

        later = days_from_now(45)
        await public_vendor_from(client, auth, "Later Cloud", later)
        on_day(monkeypatch, later - timedelta(days=30))
        assert (await run_jobs(settings)).notices == 0  # nobody confirmed is left
        assert (await client.get(unsubscribe)).status_code == 404  # its links stopped working

    async def test_a_change_with_less_notice_goes_at_once_flagged(self, client, auth, settings, mailbox):
        await subscribed(client, mailbox)
        starts = days_from_now(10)
        await public_vendor_from(client, auth, "Rush Analytics", starts)
        assert (await run_jobs(settings)).notices == 1
        [row] = await SubprocessorNotice.select()
        assert row["short_notice"] and row["effective_on"] == starts
        [_, notice] = await mailbox.wait_for(to=CUSTOMER, count=2)
        assert "(short notice)" in notice["Subject"]
        assert "shorter than our usual 30 days" in text_of(notice)
        await create_person(WriteContext(actor="test-setup"), "legal-viewer", Role.viewer, PASSWORD)
        await sign_in(client, "legal-viewer")
        page = (await client.get("/ui/objections")).text
        short = page.split("Changes notified with short notice")[1]
        assert "Rush Analytics" in short and f'datetime="{starts.isoformat()}"' in short


class TestSubscribing:
    async def test_the_same_answer_whether_subscribed_or_not(self, client, mailbox):
        await subscribed(client, mailbox)
        known = await client.post("/public/subscriptions", json={"email": CUSTOMER})
        new = await client.post("/public/subscriptions", json={"email": "new@customer.example"})
        assert (known.status_code, known.json()) == (new.status_code, new.json())
        await mailbox.wait_for(to="new@customer.example")
        assert len(mailbox.received(CUSTOMER)) == 1  # a confirmed address is not mailed again

    async def test_a_bad_address_is_a_422_naming_the_field(self, client):
        response = await client.post("/public/subscriptions", json={"email": "not-an-address"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert "email" in response.text
        assert await Subscriber.count() == 0

    async def test_the_subscribe_page_form(self, client, mailbox):
        page = await client.get("/public/subscribe")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        stale = await client.post("/public/subscribe", data={"csrf": "wrong", "email": CUSTOMER})
        assert stale.status_code == 400 and await Subscriber.count() == 0
        bad = await client.post("/public/subscribe", data={"csrf": csrf_of(page.text), "email": "nope"})
        assert bad.status_code == 400 and "E-mail address is not a valid" in bad.text
        sent = await client.post("/public/subscribe", data={"csrf": csrf_of(page.text), "email": CUSTOMER})
        assert sent.status_code == 200 and "Check your inbox" in sent.text
        [mail] = await mailbox.wait_for(to=CUSTOMER)
        assert "confirm your subscription" in mail["Subject"]
        assert await Subscriber.count().where(Subscriber.state == "pending") == 1

    async def test_an_objection_too_long_is_refused_beside_the_field(self, client, auth, settings, mailbox):
        await subscribed(client, mailbox)
        await public_vendor_from(client, auth, "Long Reason", days_from_now(5))
        await run_jobs(settings)
        [_, notice] = await mailbox.wait_for(to=CUSTOMER, count=2)
        path = path_of(notice, "object")
        page = await client.get(path)
        long = await client.post(path, data={"csrf": csrf_of(page.text), "reason": "x" * 4001})
        assert long.status_code == 400 and "At most 4000 characters" in long.text
        stale = await client.post(path, data={"csrf": "stale", "reason": "no"})
        assert stale.status_code == 400 and "The form has expired" in stale.text
        assert await NoticeObjection.count() == 0

    async def test_a_confirmation_link_does_not_confirm_on_a_get(self, client, mailbox):
        await client.post("/public/subscriptions", json={"email": CUSTOMER})
        [mail] = await mailbox.wait_for(to=CUSTOMER)
        assert (await client.get(path_of(mail, "confirm"))).status_code == 200
        assert await Subscriber.count().where(Subscriber.state == "confirmed") == 0
        assert (await client.get("/public/confirm/" + "x" * 43)).status_code == 404
        assert await NoticeObjection.count() == 0


class TestFlooding:
    async def test_an_unconfirmed_address_gets_one_confirmation_per_ten_minutes(self, client, mailbox):
        for _ in range(3):
            assert (await client.post("/public/subscriptions", json={"email": LURKER})).status_code == 202
        assert await MailMessage.count().where(MailMessage.kind == "subscription_confirm") == 1
        await MailMessage.update(
            {MailMessage.created_at: MailMessage.created_at - timedelta(minutes=11)}, force=True
        )
        assert (await client.post("/public/subscriptions", json={"email": LURKER})).status_code == 202
        assert await MailMessage.count().where(MailMessage.kind == "subscription_confirm") == 2
