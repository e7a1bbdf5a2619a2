"""Links minted at send time are never at rest, and no message is lost when a server dies (SIGKILL)."""

import logging
import secrets
from pathlib import Path

import httpx
import pytest

from registry import db
from registry.mail.outbox import Mail, enqueue, messages_about, register_minter, supersede
from registry.tables import TABLES, MailMessage
from tests.conftest import Server, run_cli
from tests.smtp import free_port
from tests.test_mail import TO, in_state, until

pytestmark = pytest.mark.anyio
MINTED: list[str] = []


async def _mint_portal_link(about_id: int) -> dict[str, str]:
    """As the portal's minter does: a fresh token each time (its hash would be stored, never itself)."""
    token = secrets.token_urlsafe(24)
    MINTED.append(token)
    return {"portal_url": f"https://portal.example/r/{about_id}?t={token}&lang=en"}


register_minter("test_portal", _mint_portal_link)


class TestMintedLinks:
    @pytest.fixture
    def settings(self, mail_settings):
        return mail_settings.model_copy(update={"log_level": "DEBUG"})

    async def test_the_link_is_filled_in_at_send_time_and_stored_nowhere(
        self, client, auth, mailbox, engine_name, database_url, caplog
    ):
        caplog.set_level(logging.DEBUG)
        MINTED.clear()
        mail = Mail(
            kind="deletion_request",
            to=(TO,),
            subject="Please confirm the deletion",
            text="Open [[portal_url]] to answer.\n",
            html="<p><a href='[[portal_url]]'>Answer</a></p>",
            headers=(("List-Unsubscribe", "<mailto:unsubscribe@registry.example>"),),
            about_type="vendor_request",
            about_id=7,
            minter="test_portal",
        )
        async with db.write_transaction():
            message_id = await enqueue(mail)
        [message] = await mailbox.wait_for(to=TO)
        [token] = MINTED
        link = f"https://portal.example/r/7?t={token}&lang=en"
        text, html = message.iter_parts()
        assert f"Open {link} to answer." in text.get_content()
        assert f"href='https://portal.example/r/7?t={token}&amp;lang=en'" in html.get_content()
        assert message["List-Unsubscribe"] == "<mailto:unsubscribe@registry.example>"
        await until(lambda: in_state(client, auth, "sent"), "sent")
        [shown] = await messages_about("vendor_request", 7)
        assert (
            shown["id"] == message_id and shown["state"] == "sent" and shown["last_answer"].startswith("250")
        )
        stored = await MailMessage.select(MailMessage.text, MailMessage.html).first()
        assert "[[portal_url]]" in stored["text"] and "[[portal_url]]" in stored["html"]
        for table in TABLES:
            assert token not in repr(await table.select()), table._meta.tablename
        if engine_name == "sqlite":
            path = Path(database_url.removeprefix("sqlite:///"))
            for file in (path, path.with_name(path.name + "-wal")):
                assert not file.exists() or token.encode() not in file.read_bytes()
        # Every log of this process but the test SMTP server's own ("mail.log", which logs what it receives).
        logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if r.name != "mail.log")
        assert f"mail message {message_id}" in logged and "to vendor.example" in logged
        assert token not in logged
        # The registry's own logs name no address (aiosqlite's DEBUG log holds every query's parameters).
        ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("registry"))
        assert f"mail message {message_id}" in ours and TO not in ours

    async def test_a_minter_that_fails_is_a_failed_attempt_retried(self, client, auth, mailbox):
        async def broken(about_id: int) -> dict[str, str]:
            raise ValueError("the request was cancelled")

        register_minter("test_broken", broken)
        async with db.write_transaction():
            await enqueue(
                Mail(kind="k", to=(TO,), subject="s", text="[[x]]", about_id=1, minter="test_broken")
            )

        async def tried():
            [m] = await in_state(client, auth, "waiting") or [None]
            return m if m and m["attempts"] >= 1 else None

        waiting = await until(tried, "a failed attempt")
        assert waiting["last_answer"] == "link minter 'test_broken' failed: ValueError"
        assert mailbox.received() == []

    async def test_a_message_superseded_while_its_link_is_minted_is_not_sent(self, client, auth, mailbox):
        # The request is re-sent (its messages superseded) after the worker claimed this one and while
        # it mints: the fresh link must not go to the old recipient.
        async def superseding(about_id: int) -> dict[str, str]:
            async with db.write_transaction():
                await supersede("vendor_request", about_id, "test_superseding")
            return await _mint_portal_link(about_id)

        register_minter("test_superseding", superseding)
        async with db.write_transaction():
            await enqueue(
                Mail(
                    kind="deletion_request",
                    to=(TO,),
                    subject="s",
                    text="Open [[portal_url]]",
                    about_type="vendor_request",
                    about_id=3,
                    minter="test_superseding",
                )
            )

        async def tried():
            [m] = await in_state(client, auth, "superseded") or [None]
            return m if m and m["attempt_log"] else None

        superseded = await until(tried, "an attempt that did not send")
        [attempt] = superseded["attempt_log"]
        assert attempt["answer"] == "not sent: superseded while being sent" and attempt["code"] is None
        assert mailbox.received() == []

    async def test_an_unknown_minter_is_refused_at_enqueue(self, app):
        from registry.errors import RegistryError

        with pytest.raises(RegistryError) as refused:
            async with db.write_transaction():
                await enqueue(Mail(kind="k", to=(TO,), subject="s", text="t", about_id=1, minter="nobody"))
        assert refused.value.errors[0].field == "minter"
        assert await MailMessage.count() == 0


async def test_no_message_is_lost_when_the_server_is_killed(settings, database_url, mailbox):
    """Enqueued with SMTP down; the server dies (SIGKILL); the next one, with SMTP up, sends it once."""
    key = run_cli(database_url, "keys", "create", "killed", "--role", "admin").stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    env = {**mailbox.env(), "REGISTRY_SMTP_TIMEOUT_SECONDS": "1", "REGISTRY_MAIL_MAX_ATTEMPTS": "30"}
    first = Server(settings, **{**env, "REGISTRY_SMTP_PORT": str(free_port())})
    first.start()
    try:
        async with httpx.AsyncClient(base_url=first.base, headers=headers, timeout=30) as http:
            queued = await http.post("/mail/test", json={"to": TO})
            assert queued.status_code == 202, queued.text

            async def tried():
                [m] = (await http.get("/mail/messages")).json()["items"]
                return m["attempts"] >= 1

            await until(tried, "a failed attempt before the kill")
        first.kill()
    finally:
        first.stop()
    assert mailbox.received() == []
    second = Server(settings, **env)
    second.start()
    try:
        await mailbox.wait_for(to=TO, timeout=60)
        async with httpx.AsyncClient(base_url=second.base, headers=headers, timeout=30) as http:

            async def sent():
                [m] = (await http.get("/mail/messages")).json()["items"]
                return m if m["state"] == "sent" else None

            message = await until(sent, "shown sent after the restart")
    finally:
        second.stop()
    assert message["id"] == queued.json()["id"] and message["last_answer"].startswith("250")
    assert len(mailbox.received(TO)) == 1
