"""Requests to vendors and the vendor portal, through HTTP: request opened with the obligation, the
portal page, a submission, its review, the confirmation and the attestation that says who declared."""

import re

import httpx
import pytest

from registry import clock
from registry.tables import TABLES, Change, DeletionConfirmation, PortalSubmission, PortalToken
from tests.conftest import CONFIRMATION, Server, confirmed_deletion
from tests.portal_helpers import PRIVACY, asked_vendor, confirmation_form, csrf_of, link, outbox
from tests.smtp import settings_with_mail
from tests.test_attestations import pdf_text

pytestmark = pytest.mark.anyio
PDF = b"%PDF-1.4 evidence of deletion"


async def _submit(client, path: str, **changes):
    page = await client.get(path)
    assert page.status_code == 200, page.text
    form = confirmation_form(csrf_of(page.text), **changes)
    files = [("evidence", ("wipe-log.pdf", PDF, "application/pdf"))]
    return await client.post(f"{path}/confirmation", data=form, files=files)


class TestRequest:
    async def test_termination_asks_the_privacy_contact(self, client, auth):
        _, deletion = await asked_vendor(client, auth)
        [mail] = await outbox()
        assert mail["recipients"] == [PRIVACY] and mail["kind"] == "vendor_request"
        assert "[[portal_url]]" in mail["text"] and "[[portal_url]]" in mail["html"]
        assert "Email" in mail["text"] and "DPA-9" in mail["text"] and "2025-07-30" in mail["text"]
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        assert request["state"] == "overdue" and request["recipient"] == PRIVACY
        assert [m["kind"] for m in request["messages"]] == ["vendor_request"]

    async def test_the_first_view_opens_it(self, client, auth):
        _, deletion = await asked_vendor(client, auth, terminated_on=clock.today().isoformat())
        url = f"/deletions/{deletion['id']}/requests"
        assert (await client.get(url, headers=auth())).json()[0]["state"] == "sent"
        page = await client.get(await link())
        assert page.status_code == 200 and ">opened<" in page.text
        [request] = (await client.get(url, headers=auth())).json()
        assert request["state"] == "opened" and request["opened_at"] is not None

    async def test_a_vendor_without_address_cannot_be_asked(self, client, auth):
        _, deletion = await asked_vendor(client, auth, privacy_contact=None, contact=None)
        assert await outbox() == []
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        assert request["state"] == "cannot_be_asked"
        report = (await client.get("/reports/supervision", headers=auth())).json()
        assert "vendor_cannot_be_asked" in [i["kind"] for i in report["items"]]


def _link_in(message) -> str:
    """The portal path of the link in a received message (plain part), checked against the HTML part."""
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    url = re.search(r"https?://\S+/portal/[A-Za-z0-9_-]+", text).group(0)
    assert f'href="{url}"' in html and "[[portal_url]]" not in text + html
    return re.sub(r"^https?://[^/]+", "", url)


class TestEndToEnd:
    @pytest.fixture
    def settings(self, settings, mailbox):
        return settings_with_mail(settings, mailbox)

    async def test_mail_link_submit_return_resubmit_accept_attest(self, client, auth, mailbox):
        _, deletion = await asked_vendor(client, auth)
        [asked] = await mailbox.wait_for(to=PRIVACY)
        assert "Email" in asked.get_body(("plain",)).get_content()  # categories by name
        path = _link_in(asked)
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["referrer-policy"] == "no-referrer" and page.headers["x-frame-options"] == "DENY"
        assert "I confirm this on behalf of Acme Hosting" in page.text
        response = await _submit(client, path)
        assert response.status_code == 303, response.text
        after = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert after["status"] == "overdue" and after["confirmations"] == []  # nothing confirmed yet
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        [submission] = request["submissions"]
        assert request["state"] == "submitted" and submission["state"] == "submitted"
        assert submission["user_agent"].startswith("python-httpx")
        changes = await Change.select(Change.actor).where(Change.object_type == "portal_submission")
        assert [c["actor"] for c in changes] == ["vendor:ana@acme.example"]

        base = f"/deletions/{deletion['id']}/submissions"
        returned = await client.post(
            f"{base}/{submission['id']}/return", json={"reasons": "Name the backup system."}, headers=auth()
        )
        assert returned.status_code == 200, returned.text
        # The fresh link goes to the contact on record, not to the address typed into the form.
        [_, back] = await mailbox.wait_for(to=PRIVACY, count=2)
        assert mailbox.received("ana@acme.example") == []
        assert "Name the backup system." in back.get_body(("plain",)).get_content()
        path = _link_in(back)
        page = await client.get(path)
        assert "Name the backup system." in page.text

        assert (await _submit(client, path, systems="Support desk\nBackup vault")).status_code == 303
        [request] = (await client.get(f"/deletions/{deletion['id']}/requests", headers=auth())).json()
        second = request["submissions"][-1]
        accepted = await client.post(f"{base}/{second['id']}/accept", headers=auth())
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "accepted"
        confirmed = (await client.get(f"/deletions/{deletion['id']}", headers=auth())).json()
        assert confirmed["status"] == "confirmed"
        [c] = confirmed["confirmations"]
        assert c["declared"]["name"] == "Ana Ruiz" and c["declared"]["accepted_by"] == "test-admin"
        assert [e["filename"] for e in c["evidence"]] == ["wipe-log.pdf"]
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
        assert issued.status_code == 201, issued.text
        facts = issued.json()
        pdf = await client.get(f"/attestations/{facts['serial']}/pdf", headers=auth())
        text = " ".join(pdf_text(pdf.content).split())
        assert "Declared by Ana Ruiz, Head of IT, Acme Hosting" in text
        assert "through the vendor portal" in text and "Accepted by test-admin" in text
        assert (await client.get(path)).status_code == 404  # acceptance revoked the links
        for token in (_link_in(asked).rsplit("/", 1)[1], path.rsplit("/", 1)[1]):
            for table in TABLES:  # every table, every column: the token is nowhere at rest
                assert token not in str(await table.select()), table._meta.tablename


class TestTruth:
    async def test_a_typed_confirmation_is_not_said_to_come_through_the_portal(self, client, auth):
        deletion = await confirmed_deletion(client, auth)
        typed = {**CONFIRMATION, "declared": {"name": "Ana Ruiz"}}
        refused = await client.post(f"/deletions/{deletion['id']}/confirmations", json=typed, headers=auth())
        assert refused.status_code == 400 and "declared" in refused.text
        issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
        assert issued.status_code == 201, issued.text
        pdf = await client.get(f"/attestations/{issued.json()['serial']}/pdf", headers=auth())
        text = " ".join(pdf_text(pdf.content).split())
        assert "Performed by Ana Ruiz" in text
        assert "vendor portal" not in text and "Declared by" not in text


class TestPortal:
    async def test_bad_tokens_get_the_same_plain_page(self, client, auth):
        await asked_vendor(client, auth)
        expired_or_revoked = await link()
        pages = [await client.get("/portal/" + "x" * 43)]
        await PortalToken.update({PortalToken.revoked_at: PortalToken.created_at}).where(PortalToken.id > 0)
        pages.append(await client.get(expired_or_revoked))
        assert {p.status_code for p in pages} == {404}
        assert len({p.text for p in pages}) == 1
        assert (
            "Acme" not in pages[0].text and "/ui/vendors" not in pages[0].text and "DPA" not in pages[0].text
        )

    async def test_validation_failure_keeps_values_and_records_nothing(self, client, auth):
        await asked_vendor(client, auth)
        path = await link()
        response = await _submit(client, path, on_behalf="", completed_on="2025-13-01", tool="vault-shred 9")
        assert response.status_code == 400
        assert 'value="vault-shred 9"' in response.text
        assert 'id="on_behalf-error"' in response.text and 'id="completed_on-error"' in response.text
        assert "Choose the files again" in response.text
        assert await PortalSubmission.count() == 0

    async def test_tokens_are_stored_hashed_only(self, client, auth):
        await asked_vendor(client, auth)
        token = (await link()).rsplit("/", 1)[1]
        rows = [r["token_hash"] for r in await PortalToken.select(PortalToken.token_hash)]
        assert token not in str(rows) and len(rows) == 1
        for m in await outbox():
            assert token not in m["text"] + (m["html"] or "")
        assert await DeletionConfirmation.count() == 0


class TestThrottle:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"portal_requests_per_minute": 3})

    async def test_guessing_is_throttled(self, client):
        statuses = [(await client.get(f"/portal/guess-{n:040d}")).status_code for n in range(5)]
        assert statuses == [404, 404, 404, 429, 429]
        refused = await client.get("/portal/guess-again-0000000000000000000000000")
        assert "retry-after" in refused.headers and "Acme" not in refused.text


class TestLogs:
    async def test_no_token_in_the_server_log(self, client, auth, settings, tmp_path, caplog):
        await asked_vendor(client, auth)
        path = await link()
        token = path.rsplit("/", 1)[1]
        log = tmp_path / "server.log"
        server = Server(settings, log=log, REGISTRY_ACCESS_LOG="true", REGISTRY_LOG_LEVEL="DEBUG")
        server.start()
        try:
            async with httpx.AsyncClient(base_url=server.base) as http:
                assert (await http.get(path)).status_code == 200
                assert (await http.get(f"{path}x")).status_code == 404
                broken = await http.post(
                    f"{path}/confirmation",
                    content=b"--x\r\n",
                    headers={"content-type": "multipart/form-data; boundary=x"},
                )
                assert broken.status_code < 500
        finally:
            server.stop()
        text = log.read_text()
        assert "/portal/<token>" in text  # the access log has the line, without the token
        assert token not in text
        assert token not in " ".join(r.getMessage() for r in caplog.records if r.name.startswith("registry"))
