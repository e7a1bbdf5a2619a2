"""The mail outbox through its front doors: POST /mail/test and the worker deliver to a real SMTP server
on loopback (aiosmtpd, tests/smtp.py); retries with backoff while SMTP is down; leases; STARTTLS and
AUTH; the CLI; roles and bad input. Links minted at send time: tests/test_mail_tokens.py."""

import asyncio
import dataclasses
import inspect
import time
from datetime import datetime

import anyio
import pytest

from registry import db
from registry.auth import WriteContext
from registry.enums import Role
from registry.errors import RegistryError
from registry.mail.outbox import Mail, enqueue, register_minter
from registry.mail.worker import MailWorker, backoff_seconds
from registry.people.service import create_person
from registry.tables import MailMessage
from tests.conftest import SMTP_PASSWORD, SMTP_USER, run_cli
from tests.smtp import Mailbox, SmtpServer, free_port, settings_with_mail
from tests.test_web import PASSWORD, sign_in

pytestmark = pytest.mark.anyio
PROBLEM = "application/problem+json"
TO = "dpo@vendor.example"


async def _no_link(about_id: int) -> dict[str, str]:
    return {}


async def until(condition, what: str, within: float = 30.0):
    """Poll ``condition`` (sync or async) until it is truthy, or fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await anyio.sleep(0.05)


async def messages(client, auth, **params) -> list[dict]:
    response = await client.get("/mail/messages", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def in_state(client, auth, state: str) -> list[dict]:
    return [m for m in await messages(client, auth) if m["state"] == state]


async def queue_test(client, auth, to: str = TO) -> dict:
    response = await client.post("/mail/test", json={"to": to}, headers=auth())
    assert response.status_code == 202, response.text
    return response.json()


class TestSending:
    @pytest.fixture
    def settings(self, mail_settings):
        return mail_settings

    async def test_a_test_message_arrives_with_text_html_and_headers(self, client, auth, mailbox):
        queued = await queue_test(client, auth)
        assert queued["state"] == "waiting" and queued["smtp_configured"] is True
        [message] = await mailbox.wait_for(to=TO)
        assert message["From"] == "Processor Registry <registry@example.org>"
        assert message["To"] == TO and message["Subject"] == "Test message from the Processor Registry"
        assert message["Date"] and message["Message-ID"].endswith("@example.org>")
        assert message.get_content_type() == "multipart/alternative"
        text, html = message.iter_parts()
        assert text.get_content_type() == "text/plain" and "mail settings work" in text.get_content()
        assert html.get_content_type() == "text/html" and "<p>" in html.get_content()
        [sent] = await until(lambda: in_state(client, auth, "sent"), "the message is shown sent")
        assert sent["id"] == queued["id"] and sent["to"] == [TO] and sent["kind"] == "test"
        assert sent["attempts"] == 1 and sent["last_answer"].startswith("250 ")
        assert sent["next_attempt_at"] is None and sent["sent_at"] is not None
        [attempt] = sent["attempt_log"]
        assert attempt["code"] == 250 and "accepted" in attempt["answer"]
        one = await client.get(f"/mail/messages/{sent['id']}", headers=auth("editor"))
        assert one.status_code == 200 and one.json()["state"] == "sent"
        assert len(mailbox.received(TO)) == 1

    async def test_a_non_ascii_address_is_sent_with_smtputf8(self, client, auth, mailbox):
        await queue_test(client, auth, to="josé@Vendor.Example")
        [message] = await mailbox.wait_for(to="josé@vendor.example")
        assert message["To"] == "josé@vendor.example"
        [sent] = await until(lambda: in_state(client, auth, "sent"), "sent")
        assert sent["to"] == ["josé@vendor.example"]

    async def test_the_list_filters_by_state_and_subject(self, client, auth, mailbox):
        await queue_test(client, auth)
        await until(lambda: in_state(client, auth, "sent"), "sent")
        assert len(await messages(client, auth, state="sent")) == 1
        assert await messages(client, auth, state="failed") == []
        assert await messages(client, auth, about_type="vendor_request", about_id=1) == []
        response = await client.get("/mail/messages", params={"about_id": 1}, headers=auth())
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "about_id"
        response = await client.get("/mail/messages", params={"state": "lost"}, headers=auth())
        assert response.status_code == 400 and response.headers["content-type"] == PROBLEM

    async def test_enqueue_refuses_to_run_outside_a_transaction(self, app):
        with pytest.raises(RuntimeError, match="write_transaction"):
            await enqueue(Mail(kind="test", to=(TO,), subject="s", text="t"))


class TestSmtpDown:
    @pytest.fixture
    def closed_port(self):
        return free_port()

    @pytest.fixture
    def settings(self, mail_settings, closed_port):
        return mail_settings.model_copy(update={"smtp_port": closed_port, "mail_max_attempts": 30})

    async def test_it_retries_with_backoff_then_sends_once_smtp_is_up(
        self, client, auth, settings, closed_port
    ):
        queued = await queue_test(client, auth)

        async def tried_twice():
            [m] = await messages(client, auth)
            return m if m["attempts"] >= 2 and m["state"] == "waiting" else None

        waiting = await until(tried_twice, "two failed attempts")
        assert "SMTPConnectError" in waiting["last_answer"] and waiting["sent_at"] is None
        assert all(a["code"] is None for a in waiting["attempt_log"])
        # The next try waits base × 2^(attempts-1) (±20 %) after the last one.
        last = waiting["attempt_log"][-1]["attempted_at"]
        gap = _seconds(waiting["next_attempt_at"]) - _seconds(last)
        base = settings.mail_retry_base_seconds * 2 ** (len(waiting["attempt_log"]) - 1)
        assert 0.8 * base - 0.05 <= gap <= 1.2 * base + 0.05, (gap, base)
        server = SmtpServer(port=closed_port).start()
        try:
            box = Mailbox(server)
            await box.wait_for(to=TO)
            [sent] = await until(lambda: in_state(client, auth, "sent"), "sent after SMTP came up")
            assert sent["id"] == queued["id"] and sent["last_answer"].startswith("250")
            assert sent["attempts"] == len(sent["attempt_log"]) >= 3
            await anyio.sleep(0.5)  # a second send would have arrived by now
            assert len(box.received(TO)) == 1
        finally:
            server.stop()

    def test_backoff_doubles_and_is_bounded(self):
        assert 8 <= backoff_seconds(1, 10) <= 12 and 16 <= backoff_seconds(2, 10) <= 24
        assert backoff_seconds(60, 10) <= 6 * 3600 * 1.2


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class TestWithoutSmtputf8:
    @pytest.fixture
    def plain_ascii_server(self):
        server = SmtpServer(utf8=False).start()
        yield server
        server.stop()

    @pytest.fixture
    def settings(self, settings, plain_ascii_server):
        return settings_with_mail(settings, Mailbox(plain_ascii_server))

    async def test_a_non_ascii_address_fails_at_once_where_smtputf8_is_not_offered(
        self, client, auth, plain_ascii_server
    ):
        await queue_test(client, auth, to="josé@vendor.example")
        [failed] = await until(lambda: in_state(client, auth, "failed"), "failed")
        assert failed["attempts"] == 1 and "does not offer SMTPUTF8" in failed["last_answer"]
        await queue_test(client, auth, to="jose@xn--vendr-mua.example")
        await Mailbox(plain_ascii_server).wait_for(to="jose@xn--vendr-mua.example")
        assert plain_ascii_server.count() == 1


class TestTwoWorkers:
    @pytest.fixture
    def settings(self, mail_settings):
        return mail_settings.model_copy(update={"mail_worker": False})

    async def test_two_workers_never_send_one_message_twice(self, client, auth, settings, mailbox):
        for n in range(12):
            await queue_test(client, auth, to=f"dpo{n}@vendor.example")
        tried = await asyncio.gather(MailWorker(settings).drain(), MailWorker(settings).drain())
        assert sum(tried) == 12
        received = mailbox.received()
        assert len(received) == 12 and len({m["Message-ID"] for m in received}) == 12
        rows = await MailMessage.select(MailMessage.status, MailMessage.attempts)
        assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)] * 12


class TestWithoutSmtp:
    async def test_messages_wait_and_the_dashboard_says_so(self, client, auth, settings):
        assert settings.smtp_host is None
        await queue_test(client, auth)
        await queue_test(client, auth)
        await MailWorker(settings).drain()  # does nothing: there is nowhere to send
        waiting = await messages(client, auth, state="waiting")
        assert len(waiting) == 2 and all(m["attempts"] == 0 and not m["attempt_log"] for m in waiting)
        await create_person(WriteContext(actor="test-setup"), "viewer-person", Role.viewer, PASSWORD)
        assert (await sign_in(client, "viewer-person")).status_code == 303
        page = await client.get("/ui/")
        assert page.status_code == 200
        assert "2 messages wait in the outbox: no SMTP server is configured" in page.text
        assert "could not be sent" not in page.text
        await MailMessage.update({MailMessage.status: "failed", MailMessage.attempts: 8}).where(
            MailMessage.id == waiting[0]["id"]
        )
        page = await client.get("/ui/")
        assert "1 message waits in the outbox" in page.text
        assert "1 message could not be sent and was given up" in page.text
        assert (
            "A test message of " in page.text
            and f"(message {waiting[0]['id']})" in page.text
            and "8 tries" in page.text
        )


class TestStartTlsAndAuth:
    @pytest.fixture
    def tls_mailbox(self, smtp_tls_server):
        return Mailbox(smtp_tls_server, user=SMTP_USER, password=SMTP_PASSWORD)

    @pytest.fixture
    def settings(self, settings, tls_mailbox):
        return settings_with_mail(settings, tls_mailbox, mail_max_attempts=1)

    async def test_it_sends_over_starttls_after_logging_in(self, client, auth, tls_mailbox):
        await queue_test(client, auth)
        [message] = await tls_mailbox.wait_for(to=TO)
        assert message["Subject"] == "Test message from the Processor Registry"
        [sent] = await until(lambda: in_state(client, auth, "sent"), "sent")
        assert sent["last_answer"].startswith("250")


class TestStartTlsRefusals:
    """Each test drains the outbox itself with settings of its own; the app's own worker, which
    has the right ones, would race it and send the message (seen as a flaky failure)."""

    @pytest.fixture
    def tls_mailbox(self, smtp_tls_server):
        return Mailbox(smtp_tls_server, user=SMTP_USER, password=SMTP_PASSWORD)

    @pytest.fixture
    def settings(self, settings, tls_mailbox):
        return settings_with_mail(settings, tls_mailbox, mail_max_attempts=1, mail_worker=False)

    async def test_a_wrong_password_is_a_failed_attempt_with_the_answer(self, app, client, auth, tls_mailbox):
        from pydantic import SecretStr

        settings = app.state["settings"].model_copy(
            update={"smtp_password": SecretStr("wrong"), "mail_worker": False}
        )
        async with db.write_transaction():
            await enqueue(Mail(kind="test", to=(TO,), subject="s", text="t"))
        assert await MailWorker(settings).drain() >= 1
        [failed] = await until(lambda: in_state(client, auth, "failed"), "failed")
        assert failed["last_answer"].startswith("535") and failed["attempt_log"][0]["code"] == 535
        assert tls_mailbox.received() == []

    async def test_an_untrusted_certificate_is_refused(self, app, client, auth, tls_mailbox):
        settings = app.state["settings"].model_copy(update={"smtp_ca_file": None, "mail_worker": False})
        async with db.write_transaction():
            await enqueue(Mail(kind="test", to=(TO,), subject="s", text="t"))
        await MailWorker(settings).drain()
        [failed] = await until(lambda: in_state(client, auth, "failed"), "failed")
        assert "CERTIFICATE_VERIFY_FAILED" in failed["last_answer"]
        assert tls_mailbox.received() == []


class TestRoutes:
    async def test_roles(self, client, auth):
        assert (await client.get("/mail/messages")).status_code == 401
        assert (await client.get("/mail/messages", headers=auth("viewer"))).status_code == 403
        assert (await client.get("/mail/messages", headers=auth("editor"))).status_code == 200
        for role in ("editor", "viewer"):
            response = await client.post("/mail/test", json={"to": TO}, headers=auth(role))
            assert response.status_code == 403
        assert await MailMessage.count() == 0

    @pytest.mark.parametrize(
        "bad", ["not-an-email", "a@", "a@b@c.example", "x" * 400, "dpo@vendor.example\r\nBcc: x@y.z"]
    )
    async def test_a_malformed_address_is_a_422_naming_the_field(self, client, auth, bad):
        response = await client.post("/mail/test", json={"to": bad}, headers=auth())
        assert response.status_code in (400, 422) and response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == "to"
        assert await MailMessage.count() == 0

    @pytest.mark.parametrize(
        ("field", "rule", "changes"),
        [
            ("headers[0]", "reserved", {"headers": (("Bcc", "boss@example.org"),)}),
            ("headers[0]", "single_line", {"headers": (("X-Note", "a\r\nBcc: boss@example.org"),)}),
            ("headers[0]", "header_name", {"headers": (("X Note", "a"),)}),
            ("subject", "single_line", {"subject": "Hello\nBcc: boss@example.org"}),
            ("cc[0]", "email", {"cc": ("not-an-address",)}),
            ("to", "min_items", {"to": ()}),
            ("about_id", "required", {"minter": "test_empty"}),
        ],
    )
    async def test_enqueue_refuses_what_would_break_the_message(self, app, field, rule, changes):
        register_minter("test_empty", _no_link)
        mail = Mail(kind="test", to=(TO,), subject="s", text="t")
        with pytest.raises(RegistryError) as refused:
            async with db.write_transaction():
                await enqueue(dataclasses.replace(mail, **changes))
        assert (refused.value.status, refused.value.errors[0].field) == (422, field)
        assert refused.value.errors[0].rule == rule
        assert await MailMessage.count() == 0

    async def test_only_a_failed_message_is_retried(self, client, auth, settings):
        queued = await queue_test(client, auth)
        response = await client.post(f"/mail/messages/{queued['id']}/retry", headers=auth("editor"))
        assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
        assert (await client.post("/mail/messages/999/retry", headers=auth())).status_code == 404
        await MailMessage.update({MailMessage.status: "failed", MailMessage.attempts: 8}).where(
            MailMessage.id == queued["id"]
        )
        response = await client.post(f"/mail/messages/{queued['id']}/retry", headers=auth("editor"))
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "waiting" and response.json()["attempts"] == 0


class TestCron:
    @pytest.fixture
    def settings(self, mail_settings):
        return mail_settings.model_copy(update={"mail_worker": False})

    async def test_mail_send_drains_the_outbox_and_mail_list_shows_it(
        self, client, auth, database_url, mailbox, monkeypatch
    ):
        queued = await queue_test(client, auth)
        for name, value in mailbox.env().items():
            monkeypatch.setenv(name, value)
        drained = run_cli(database_url, "mail", "send")
        assert "1 send attempt(s) made; 0 waiting, 0 failed" in drained.stdout
        await mailbox.wait_for(to=TO)
        listed = run_cli(database_url, "mail", "list", "--state", "sent").stdout
        assert listed.startswith(f"{queued['id']}\tsent\ttest\t1\t") and "vendor.example\t250 " in listed
        assert TO not in listed  # recipients' domains only
        monkeypatch.delenv("REGISTRY_SMTP_HOST")
        await queue_test(client, auth)
        refused = run_cli(database_url, "mail", "send", check=False)
        assert refused.returncode == 1 and "1 message(s) wait" in refused.stderr


def test_mail_test_on_the_command_line(database_url, mailbox, monkeypatch):
    failed = run_cli(database_url, "mail", "test", TO, check=False)
    assert failed.returncode == 1 and "SMTP is not configured" in failed.stderr
    for name, value in mailbox.env().items():
        monkeypatch.setenv(name, value)
    sent = run_cli(database_url, "mail", "test", TO)
    assert "250" in sent.stdout
    [message] = anyio.run(lambda: mailbox.wait_for(to=TO, timeout=10))
    assert message["Subject"] == "Test message from the Processor Registry"
    bad = run_cli(database_url, "mail", "test", "not-an-address", check=False)
    assert bad.returncode == 2 and "ADDRESS" in bad.stderr
    monkeypatch.setenv("REGISTRY_SMTP_FROM", "a@example.org, b@example.org")
    two = run_cli(database_url, "mail", "test", TO, check=False)
    assert two.returncode == 2 and "REGISTRY_SMTP_FROM: Value error, must be one address" in two.stderr
    monkeypatch.setenv("REGISTRY_SMTP_FROM", "registry@example.org")
    monkeypatch.setenv("REGISTRY_SMTP_PORT", str(free_port()))
    refused = run_cli(database_url, "mail", "test", TO, check=False)
    assert refused.returncode == 1 and "SMTPConnectError" in refused.stderr
