"""The reminder schedule of requests the vendor has not answered: before the due date, on it, then every
few days while overdue; escalated (cc the vendor's other contact and the internal owner) once long
overdue. Each step is recorded when its e-mail is queued, in the same transaction, so it is sent once."""

from dataclasses import dataclass
from datetime import date, timedelta

from registry import db
from registry.mail.outbox import enqueue
from registry.portal import mails
from registry.portal.requests import AWAITING, asked, contacts
from registry.settings import Settings
from registry.tables import RequestReminder, VendorRequest

_CLAIM_STEP = (
    "INSERT INTO request_reminder (request, step, step_key, created_at) VALUES ({}, {}, {}, CURRENT_TIMESTAMP)"
    " ON CONFLICT (step_key) DO NOTHING RETURNING id"
)


@dataclass(frozen=True)
class Step:
    name: str
    on: date
    late_days: int
    escalated: bool


def schedule(due: date, until: date, settings: Settings) -> list[Step]:
    """Every step of a request due on ``due``, up to ``until``, in date order."""
    before, every, escalate = (
        settings.reminder_days_before,
        settings.reminder_overdue_every_days,
        settings.reminder_escalate_after_days,
    )
    steps = [
        Step(f"before_{before}", due - timedelta(days=before), -before, False),
        Step("due", due, 0, False),
    ]
    late = {every * k for k in range(1, (until - due).days // every + 1)} | {escalate}
    for days in sorted(late):
        if due + timedelta(days=days) <= until:
            name = "escalation" if days == escalate and days % every else f"overdue_{days}"
            steps.append(Step(name, due + timedelta(days=days), days, days >= escalate))
    return steps


def due_step(created_on: date, due: date, today: date, settings: Settings) -> Step | None:
    """The latest step that fell due after the request was made (the request itself covers the day it
    was made and anything before): one message, however long the scheduler was away."""
    steps = [s for s in schedule(due, today, settings) if created_on < s.on <= today]
    return steps[-1] if steps else None


async def queue_due(settings: Settings, today: date) -> int:
    """Queue each awaiting request's due reminder, once; returns how many were queued."""
    rows = await VendorRequest.select().where(
        VendorRequest.state.is_in(list(AWAITING)), VendorRequest.recipient.is_not_null()
    )
    queued = 0
    for row in rows:
        step = due_step(_day(row["created_at"]), row["due_on"], today, settings)
        if step is not None and await _send(row, step, settings):
            queued += 1
    return queued


async def _send(row: dict, step: Step, settings: Settings) -> bool:
    async with db.write_transaction():
        key = f"{row['id']}:{row['due_on']}:{step.name}"
        if not await RequestReminder.raw(_CLAIM_STEP, row["id"], step.name, key):
            return False  # already queued (by another run, or earlier)
        recipient, other = await contacts(row["vendor"])
        to = recipient or row["recipient"]
        cc = tuple(e for e in (other, settings.portal_legal_team_email) if e and step.escalated)
        await enqueue(mails.reminder_mail(await asked(row), (to,), cc, step.name, step.late_days))
    return True


def _day(value) -> date:
    return value.date() if hasattr(value, "date") else date.fromisoformat(str(value)[:10])
