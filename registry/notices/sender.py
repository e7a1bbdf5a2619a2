"""The scheduler's job: e-mail each confirmed subscriber each change to the sub-processor list once it
is within the notice period (REGISTRY_SUBPROCESSOR_NOTICE_DAYS before it takes effect). A change recorded
with less notice goes at once, flagged short notice. Each (subscriber, change) is claimed by a unique
key in the transaction that queues its mail, so two servers' schedulers never send it twice."""

from datetime import date

from registry import clock, db
from registry.mail.outbox import enqueue
from registry.notices.mails import notice_mail
from registry.public import feeds
from registry.public.service import Entry, country_name, public_state
from registry.settings import Settings
from registry.tables import SubprocessorNotice, Subscriber

_CLAIM = (
    "INSERT INTO subprocessor_notice (subscriber, change_key, notice_key, change, vendor_name, summary,"
    " effective_on, short_notice, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})"
    " ON CONFLICT (notice_key) DO NOTHING RETURNING id"
)


def change_key(entry: Entry) -> str:
    return f"{entry.change}-{entry.vendor.id}-{entry.on.isoformat()}"


def summary(entry: Entry, organisation: str) -> str:
    """What changes, in words."""
    if entry.change != "changed":
        return feeds.entry_text(entry, organisation)
    vendor = entry.vendor
    who = ", ".join(filter(None, [vendor.legal_name, country_name(vendor.country)]))
    return f"{vendor.name} ({who}), from {entry.on.isoformat()}: {entry.detail}."


def due(entry: Entry, today: date, days: int) -> bool:
    return (entry.on - today).days <= days


async def queue_notices(settings: Settings, today: date) -> int:
    """Queue every notice due today, each once; returns how many were queued."""
    days = settings.subprocessor_notice_days
    state = await public_state(settings.organisation_name, today)
    changes = [e for e in state.entries + state.changes if due(e, today, days)]
    if not changes:
        return 0
    subscribers = await Subscriber.select(Subscriber.id, Subscriber.email, Subscriber.confirmed_at).where(
        (Subscriber.state == "confirmed") & Subscriber.email.is_not_null()
    )
    queued = 0
    for entry in changes:
        for subscriber in subscribers:
            # Changes in effect by the day someone subscribed are history to them, not notices.
            if entry.on > _day(subscriber["confirmed_at"]) and await _send(
                entry, subscriber, settings, today
            ):
                queued += 1
    return queued


async def _send(entry: Entry, subscriber: dict, settings: Settings, today: date) -> bool:
    key = change_key(entry)
    short = (entry.on - today).days < settings.subprocessor_notice_days
    text = summary(entry, settings.organisation_name)
    async with db.write_transaction():
        claimed = await SubprocessorNotice.raw(
            _CLAIM,
            subscriber["id"],
            key,
            f"{subscriber['id']}:{key}",
            entry.change,
            entry.vendor.name[:200],
            text,
            entry.on,
            short,
            clock.now(),
        )
        if not claimed:
            return False  # already queued (by another run, or another server)
        notice = {
            "id": claimed[0]["id"],
            "vendor_name": entry.vendor.name,
            "change": entry.change,
            "summary": text,
            "effective_on": entry.on,
            "notice_days": settings.subprocessor_notice_days,
        }
        await enqueue(notice_mail(settings.organisation_name, subscriber["email"], notice, short))
    return True


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else date.fromisoformat(str(value)[:10])
