"""The legal team's side of vendor requests: re-send (new link, old one revoked), cancel, expiry, the
deletion's web page and the dashboard, and notes that reach the internal owner."""

from datetime import timedelta

import pytest

from registry import clock
from registry.auth import WriteContext
from registry.enums import Role
from registry.people.service import create_person
from registry.tables import VendorRequest
from tests.portal_helpers import PRIVACY, asked_vendor, csrf_of, link, outbox
from tests.test_web import PASSWORD, sign_in

pytestmark = pytest.mark.anyio
OWNER = "legal@controller.example"


@pytest.fixture
async def people(app):
    for role in Role:
        await create_person(WriteContext(actor="test-setup"), f"{role.value}-person", role, PASSWORD)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"portal_legal_team_email": OWNER, "portal_token_days": 30})


class TestLinks:
    async def test_resend_mails_a_new_link_and_revokes_the_old(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        old = await link()
        response = await client.post(f"/deletions/{deletion['id']}/request/resend", headers=auth())
        assert response.status_code == 200, response.text
        assert [m["kind"] for m in await outbox()] == ["vendor_request", "vendor_request"]
        assert (await client.get(old)).status_code == 404
        assert (await client.get(await link())).status_code == 200

    async def test_a_link_expires(self, client, auth, monkeypatch):
        await asked_vendor(client, auth)
        path = await link()
        later = clock.now() + timedelta(days=31)
        monkeypatch.setattr(clock, "now", lambda: later)
        assert (await client.get(path)).status_code == 404

    async def test_cancel_closes_the_request_and_its_links(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        path = await link()
        assert (
            await client.post(f"/deletions/{deletion['id']}/request/cancel", headers=auth())
        ).status_code == 200
        assert (await client.get(path)).status_code == 404
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        assert request["state"] == "cancelled"
        again = await client.post(f"/deletions/{deletion['id']}/request/resend", headers=auth())
        assert again.status_code == 409
        sent = await client.post(f"/deletions/{deletion['id']}/request", headers=auth())
        assert sent.status_code == 201 and sent.json()["state"] in ("sent", "overdue")
        duplicate = await client.post(f"/deletions/{deletion['id']}/request", headers=auth())
        assert duplicate.status_code == 409 and "already has request" in duplicate.json()["detail"]
        assert await VendorRequest.count() == 2

    async def test_viewer_cannot_send(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        response = await client.post(f"/deletions/{deletion['id']}/request/resend", headers=auth("viewer"))
        assert response.status_code == 403
        assert len(await outbox()) == 1


class TestNotes:
    async def test_a_question_reaches_the_owner_and_the_page(self, client, auth, people):
        _, deletion = await asked_vendor(client, auth)
        path = await link()
        page = await client.get(path)
        form = {
            "csrf": csrf_of(page.text),
            "text": "Does the invoice archive count?",
            "email": "ana@acme.example",
        }
        assert (await client.post(f"{path}/question", data=form)).status_code == 303
        notice = (await outbox())[-1]
        assert notice["recipients"] == [OWNER] and "Does the invoice archive count?" in notice["text"]
        forged = {**form, "csrf": "not-the-cookie"}
        assert (await client.post(f"{path}/question", data=forged)).status_code == 403
        await sign_in(client)
        shown = await client.get(f"/ui/deletions/{deletion['id']}")
        assert shown.status_code == 200
        assert "Does the invoice archive count?" in shown.text and PRIVACY in shown.text
        assert "<td>vendor request</td>" in shown.text  # the e-mails sent, by kind in words

    async def test_the_web_page_resends_and_the_dashboard_shows_who_cannot_be_asked(
        self, client, auth, people
    ):
        _, deletion = await asked_vendor(client, auth)
        await sign_in(client)
        page = await client.get(f"/ui/deletions/{deletion['id']}")
        sent = await client.post(
            f"/ui/deletions/{deletion['id']}/request/resend", data={"csrf": csrf_of(page.text)}
        )
        assert sent.status_code == 303 and len(await outbox()) == 2
        await asked_vendor(
            client, auth, name="Silent Ltd", reference="DPA-10", privacy_contact=None, contact=None
        )
        dashboard = await client.get("/ui/")
        assert "Vendor cannot be asked" in dashboard.text and "Silent Ltd" in dashboard.text


class TestReviewPage:
    async def test_return_then_accept_from_the_deletion_page(self, client, auth, people):
        from tests.test_portal import _submit

        _, deletion = await asked_vendor(client, auth)
        assert (await _submit(client, await link())).status_code == 303
        client.cookies.clear()
        await sign_in(client)
        page = await client.get(f"/ui/deletions/{deletion['id']}")
        assert "Declared by Ana Ruiz" in page.text
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        sid = request["submissions"][0]["id"]
        base = f"/ui/deletions/{deletion['id']}/submissions/{sid}"
        empty = await client.post(f"{base}/return", data={"csrf": csrf_of(page.text), "reasons": " "})
        assert empty.status_code == 400 and "Reasons" in empty.text
        accepted = await client.post(f"{base}/accept", data={"csrf": csrf_of(page.text)})
        assert accepted.status_code == 303
        done = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert (
            done["status"] == "confirmed" and done["confirmations"][0]["created_by"] == "person:editor-person"
        )


class TestConcurrentReview:
    async def test_two_accepts_at_once_make_one_confirmation(self, client, other_worker, auth):
        import asyncio

        from registry.tables import DeletionConfirmation
        from tests.test_portal import _submit

        _, deletion = await asked_vendor(client, auth)
        assert (await _submit(client, await link())).status_code == 303
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        url = f"/deletions/{deletion['id']}/submissions/{request['submissions'][0]['id']}/accept"
        answers = await asyncio.gather(
            client.post(url, headers=auth()), other_worker.post(url, headers=auth())
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        assert await DeletionConfirmation.count() == 1
