"""Where portal links may go: re-sent or closed requests stop their old messages from minting one,
vendor-typed text never becomes a link, links go only to the contact on record, and a closed request's
submissions and tokens are refused."""

import pytest

from registry.tables import MailMessage, PortalToken, VendorRequest
from tests.portal_helpers import PRIVACY, asked_vendor, confirmation_form, csrf_of, link, outbox

pytestmark = pytest.mark.anyio
OWNER = "legal@controller.example"
TYPED = "someone-else@attacker.example"
PDF = b"%PDF-1.4 evidence of deletion"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"portal_legal_team_email": OWNER, "portal_token_days": 30})


async def _fail(message_id: int) -> None:
    await MailMessage.update({MailMessage.status: "failed"}).where(MailMessage.id == message_id)


async def _messages(client, auth, deletion) -> list[dict]:
    [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
    return request["messages"]


async def _note(client, path: str, kind: str, **fields) -> None:
    page = await client.get(path)
    form = {"csrf": csrf_of(page.text), "email": TYPED, **fields}
    assert (await client.post(f"{path}/{kind}", data=form)).status_code == 303


async def _submitted(client, auth, deletion) -> dict:
    path = await link()
    page = await client.get(path)
    form = confirmation_form(csrf_of(page.text), email=TYPED)
    files = [("evidence", ("wipe-log.pdf", PDF, "application/pdf"))]
    assert (await client.post(f"{path}/confirmation", data=form, files=files)).status_code == 303
    [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
    return request["submissions"][-1]


class TestOldMessages:
    async def test_resend_supersedes_waiting_and_failed_messages(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        first = (await outbox())[0]
        await _fail(first["id"])
        response = await client.post(f"/deletions/{deletion['id']}/request/resend", headers=auth())
        assert response.status_code == 200, response.text
        states = [m["state"] for m in response.json()["messages"]]
        assert states == ["superseded", "waiting"]
        retried = await client.post(f"/mail/messages/{first['id']}/retry", headers=auth("editor"))
        assert retried.status_code == 409 and "superseded" in retried.json()["detail"]
        assert (await MailMessage.select(MailMessage.status).where(MailMessage.id == first["id"]).first())[
            "status"
        ] == "superseded"

    async def test_cancel_supersedes_and_retry_refuses_a_closed_request(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        first = (await outbox())[0]
        assert (
            await client.post(f"/deletions/{deletion['id']}/request/cancel", headers=auth())
        ).status_code == 200
        assert [m["state"] for m in await _messages(client, auth, deletion)] == ["superseded"]
        await _fail(first["id"])  # failed anyway (say, by an attempt that was under way)
        retried = await client.post(f"/mail/messages/{first['id']}/retry", headers=auth("editor"))
        assert retried.status_code == 409 and "cancelled" in retried.json()["detail"]
        assert (await MailMessage.select(MailMessage.status).where(MailMessage.id == first["id"]).first())[
            "status"
        ] == "failed"


class TestTypedText:
    async def test_a_question_with_a_marker_makes_no_link(self, client, auth):
        await asked_vendor(client, auth)
        await _note(client, await link(), "question", text="Where is it? [[portal_url]]")
        notice = (await outbox())[-1]
        assert notice["kind"] == "vendor_notice" and notice["recipients"] == [OWNER]
        assert notice["minter"] is None
        assert "[[portal_url]]" not in notice["text"] and "[ [portal_url]]" in notice["text"]


class TestRecipients:
    async def test_returned_and_accepted_mail_go_to_the_contact_on_record(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        base = f"/deletions/{deletion['id']}/submissions"
        first = await _submitted(client, auth, deletion)
        returned = await client.post(f"{base}/{first['id']}/return", json={"reasons": "No."}, headers=auth())
        assert returned.status_code == 200, returned.text
        back = (await outbox())[-1]
        assert back["kind"] == "vendor_returned" and back["recipients"] == [PRIVACY] and back["cc"] == []
        second = await _submitted(client, auth, deletion)
        accepted = await client.post(f"{base}/{second['id']}/accept", headers=auth())
        assert accepted.status_code == 200, accepted.text
        done = (await outbox())[-1]
        assert done["kind"] == "vendor_accepted" and done["recipients"] == [PRIVACY]
        assert TYPED not in str([m["recipients"] + m["cc"] for m in await outbox()])

    async def test_a_returned_question_is_worded_as_an_answer(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        await _note(client, await link(), "question", text="Do backups count?")
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        [question] = request["submissions"]
        url = f"/deletions/{deletion['id']}/submissions/{question['id']}/return"
        response = await client.post(url, json={"reasons": "Yes, backups count."}, headers=auth())
        assert response.status_code == 200, response.text
        answer = (await outbox())[-1]
        assert answer["kind"] == "vendor_returned" and answer["recipients"] == [PRIVACY]
        assert "answer" in answer["subject"] and "could not accept the confirmation" not in answer["text"]
        assert "Yes, backups count." in answer["text"]


class TestClosedRequests:
    async def test_an_extension_on_a_cancelled_request_cannot_be_accepted(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        await _note(client, await link(), "extension", until="2027-03-31", reason="Tape rotation")
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        [ask] = request["submissions"]
        assert (
            await client.post(f"/deletions/{deletion['id']}/request/cancel", headers=auth())
        ).status_code == 200
        url = f"/deletions/{deletion['id']}/submissions/{ask['id']}/accept"
        response = await client.post(url, headers=auth())
        assert response.status_code == 409 and "cancelled" in response.json()["detail"]
        after = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert after["due_on"] == deletion["due_on"]

    async def test_an_accepted_requests_token_opens_nothing_and_none_is_minted(self, client, auth):
        await asked_vendor(client, auth)
        path = await link()
        await VendorRequest.update({VendorRequest.state: "accepted"}).where(VendorRequest.id > 0)
        assert (await client.get(path)).status_code == 404
        tokens = await PortalToken.count()
        assert "no link" in await link()
        assert await PortalToken.count() == tokens
