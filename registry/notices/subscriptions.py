"""Subscribing to the sub-processor list by e-mail: double opt-in, and unsubscribing, which erases the
address (from the subscriber and from the outbox's copies of its messages) and keeps only the id.

No change rows: subscriptions are not records of the register, and the change log would keep the
address for good. Nothing here moves the lookup head.
"""

from datetime import timedelta

from registry import clock, db
from registry.mail.outbox import ERASED, ERASED_ANSWER, check_address, enqueue
from registry.notices.mails import confirmation_mail
from registry.notices.tokens import CONFIRM_MINTER, NOTICE_MINTER
from registry.settings import Settings
from registry.tables import MailAttempt, MailMessage, SubprocessorNotice, Subscriber, SubscriberToken

RESEND_AFTER = timedelta(minutes=10)
SENT = (
    "If the address can receive mail, a message with a confirmation link is on its way to it. "
    "Nothing is sent to it until the link is followed and the subscription confirmed."
)
_ADD = "INSERT INTO subscriber (email, state, created_at) VALUES ({}, 'pending', {}) ON CONFLICT (email) DO NOTHING"


async def subscribe(settings: Settings, address: str) -> None:
    """A confirmation mail for a new or still unconfirmed address; nothing for a confirmed one. The
    caller answers the same either way, so the answer says nothing about who is subscribed."""
    email = check_address("email", address)
    async with db.write_transaction():
        await Subscriber.raw(_ADD, email, clock.now())
        found = await db.for_update(
            Subscriber.select(Subscriber.id, Subscriber.state).where(Subscriber.email == email)
        ).first()
        if found["state"] != "pending" or await _recently_asked(found["id"]):
            return
        days = settings.subscription_confirm_days
        await enqueue(confirmation_mail(settings.organisation_name, email, found["id"], days))


async def _recently_asked(subscriber_id: int) -> bool:
    """A confirmation went out in the last few minutes: another would only flood the inbox."""
    return await MailMessage.exists().where(
        (MailMessage.about_type == "subscriber")
        & (MailMessage.about_id == subscriber_id)
        & (MailMessage.created_at > clock.now() - RESEND_AFTER)
    )


async def confirm(subscriber_id: int) -> None:
    """The subscription counts from now (again: a second confirmation changes nothing)."""
    async with db.write_transaction():
        await Subscriber.update({Subscriber.state: "confirmed", Subscriber.confirmed_at: clock.now()}).where(
            (Subscriber.id == subscriber_id) & (Subscriber.state == "pending")
        )
        await SubscriberToken.delete().where(
            (SubscriberToken.subscriber == subscriber_id) & (SubscriberToken.purpose == "confirm")
        )


async def unsubscribe(subscriber_id: int) -> None:
    async with db.write_transaction():
        await _erase(subscriber_id)


async def erase_unconfirmed(settings: Settings) -> int:
    """Addresses never confirmed within the confirmation period are erased (the scheduler's job)."""
    cutoff = clock.now() - timedelta(days=settings.subscription_confirm_days)
    rows = await Subscriber.select(Subscriber.id).where(
        (Subscriber.state == "pending") & (Subscriber.created_at < cutoff)
    )
    for row in rows:
        async with db.write_transaction():
            await _erase(row["id"])
    return len(rows)


async def _erase(subscriber_id: int) -> None:
    """The address is gone everywhere it was kept; every link stops working; nothing more is sent."""
    await Subscriber.update(
        {Subscriber.email: None, Subscriber.state: "unsubscribed", Subscriber.ended_at: clock.now()}
    ).where(Subscriber.id == subscriber_id)
    await SubscriberToken.delete().where(SubscriberToken.subscriber == subscriber_id)
    notices = SubprocessorNotice.select(SubprocessorNotice.id).where(
        SubprocessorNotice.subscriber == subscriber_id
    )
    ids = [r["id"] for r in await notices]
    mine = ((MailMessage.about_type == "subscriber") & (MailMessage.about_id == subscriber_id)) | (
        # Piccolo refuses an empty IN list; no message is about notice 0.
        (MailMessage.about_type == "subprocessor_notice") & MailMessage.about_id.is_in(ids or [0])
    )
    await MailMessage.update({MailMessage.status: "superseded", MailMessage.lease_until_ms: 0}).where(
        mine
        & MailMessage.status.is_in(["waiting", "failed"])
        & MailMessage.minter.is_in([CONFIRM_MINTER, NOTICE_MINTER])
    )
    await MailMessage.update({MailMessage.recipients: [ERASED]}).where(mine)
    # An SMTP server's reply may quote the address ("550 <a@b>: no such user"): only its code stays.
    sent = [r["id"] for r in await MailMessage.select(MailMessage.id).where(mine)]
    if sent:
        await MailMessage.update({MailMessage.last_answer: ERASED_ANSWER}).where(
            MailMessage.id.is_in(sent) & MailMessage.last_answer.is_not_null()
        )
        await MailAttempt.update({MailAttempt.answer: ERASED_ANSWER}).where(MailAttempt.message.is_in(sent))
