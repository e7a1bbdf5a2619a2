"""Reading the outbox for the API, the CLI and the dashboard; a test message; another try for a failed one."""

import time
from typing import Any

from registry import db
from registry.auth import WriteContext
from registry.errors import conflict, invalid, not_found
from registry.mail import smtp
from registry.mail.outbox import Mail, check_address, enqueue, listed_query, retry_refusal, shown
from registry.mail.schemas import MailAttemptRead, MailMessageRead, MailState, MailTestQueued
from registry.settings import Settings
from registry.tables import MailAttempt, MailMessage

TEST_SUBJECT = "Test message from the Processor Registry"


def _where(state: MailState | None, about_type: str | None, about_id: int | None, now_ms: int) -> list:
    where = []
    if state in (MailState.waiting, MailState.sending):
        held = MailMessage.lease_until_ms > now_ms
        free = MailMessage.lease_until_ms <= now_ms
        where += [MailMessage.status == "waiting", held if state == MailState.sending else free]
    elif state is not None:
        where.append(MailMessage.status == state.value)
    if about_id is not None and about_type is None:
        raise invalid("about_id", "with_about_type", "name about_type too")
    if about_type is not None:
        where.append(MailMessage.about_type == about_type)
    if about_id is not None:
        where.append(MailMessage.about_id == about_id)
    return where


async def list_messages(
    state: MailState | None = None,
    about_type: str | None = None,
    about_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    *,
    with_attempts: bool = True,
) -> tuple[list[MailMessageRead], int]:
    """Messages, newest first, each with its tries; and how many match."""
    now_ms = int(time.time() * 1000)
    where = _where(state, about_type, about_id, now_ms)
    # One snapshot: the worker may send a message between the page and its count.
    async with db.read_session():
        query = listed_query().order_by(MailMessage.id, ascending=False).limit(limit).offset(offset)
        rows = await (query.where(*where) if where else query)
        total = await (MailMessage.count().where(*where) if where else MailMessage.count())
        attempts = await _attempts([row["id"] for row in rows]) if with_attempts else {}
    return [_read(row, now_ms, attempts.get(row["id"], [])) for row in rows], total


async def get_message(message_id: int) -> MailMessageRead:
    async with db.read_session():
        row = await listed_query().where(MailMessage.id == message_id).first()
        if row is None:
            raise not_found("mail message", message_id)
        attempts = await _attempts([message_id])
    return _read(row, int(time.time() * 1000), attempts.get(message_id, []))


async def _attempts(ids: list[int]) -> dict[int, list[MailAttemptRead]]:
    if not ids:
        return {}
    rows = await MailAttempt.select().where(MailAttempt.message.is_in(ids)).order_by(MailAttempt.id)
    found: dict[int, list[MailAttemptRead]] = {}
    for row in rows:
        found.setdefault(row["message"], []).append(
            MailAttemptRead(**{k: row[k] for k in ("attempted_at", "duration_ms", "code", "answer")})
        )
    return found


def _read(row: dict[str, Any], now_ms: int, attempts: list[MailAttemptRead]) -> MailMessageRead:
    return MailMessageRead(**shown(row, now_ms), attempt_log=attempts)


def test_message(settings: Settings, to: str, actor: str) -> Mail:
    """The test message: says who asked for it and from where, nothing of the registry's contents."""
    text = (
        f"This is a test message from the Processor Registry of {settings.organisation_name}.\n"
        f"It was asked for by {actor}. If it reached you, the registry's mail settings work.\n"
    )
    html = (
        "<p>This is a test message from the Processor Registry.</p>"
        "<p>If it reached you, the registry's mail settings work.</p>"
    )
    return Mail(kind="test", to=(to,), subject=TEST_SUBJECT, text=text, html=html)


async def send_test(settings: Settings, ctx: WriteContext, to: str) -> MailTestQueued:
    """Write a test message to ``to`` into the outbox (the worker sends it, as any other)."""
    to = check_address("to", to)
    async with db.write_transaction():
        message_id = await enqueue(test_message(settings, to, ctx.actor))
    return MailTestQueued(id=message_id, state=MailState.waiting, smtp_configured=smtp.configured(settings))


async def retry(message_id: int) -> MailMessageRead:
    """A failed message back to waiting, due now, with its attempts counted afresh (its log stays)."""
    async with db.write_transaction():
        row = await db.for_update(
            MailMessage.select(MailMessage.status, MailMessage.minter, MailMessage.about_id).where(
                MailMessage.id == message_id
            )
        ).first()
        if row is None:
            raise not_found("mail message", message_id)
        if row["status"] != "failed":
            raise conflict(f"Mail message {message_id} is {row['status']}: only a failed message is retried.")
        # A message whose link would open something closed or re-sent is not sent again.
        refusal = await retry_refusal(row["minter"], row["about_id"])
        if refusal:
            raise conflict(f"Mail message {message_id} cannot be retried: {refusal}")
        await MailMessage.update(
            {
                MailMessage.status: "waiting",
                MailMessage.attempts: 0,
                MailMessage.next_attempt_ms: int(time.time() * 1000),
                MailMessage.lease_until_ms: 0,
            }
        ).where(MailMessage.id == message_id)
    return await get_message(message_id)


async def outbox_health(settings: Settings, shown_failed: int = 5) -> dict[str, Any]:
    """What the dashboard says of the outbox: how many messages wait (and whether SMTP is there to send
    them), how many failed, and the latest failed ones (id, kind, when, tries: no addresses)."""
    async with db.read_session():
        waiting = await MailMessage.count().where(MailMessage.status == "waiting")
        failed = await MailMessage.count().where(MailMessage.status == "failed")
        latest = await (
            MailMessage.select(MailMessage.id, MailMessage.kind, MailMessage.created_at, MailMessage.attempts)
            .where(MailMessage.status == "failed")
            .order_by(MailMessage.id, ascending=False)
            .limit(shown_failed)
        )
    return {
        "smtp_configured": smtp.configured(settings),
        "waiting": waiting,
        "failed": failed,
        "latest_failed": latest,
    }
