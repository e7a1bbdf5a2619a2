"""Objections to notified changes, through the personal link in a notice: once per subscriber and
change. One that arrives after the change took effect is still recorded, marked late: the customer's
objection matters to the legal team either way (it may end the contract), and refusing it would lose it."""

from datetime import date
from typing import Any

from registry import clock, db
from registry.errors import conflict
from registry.mail.outbox import enqueue
from registry.notices.mails import objection_mail
from registry.notices.schemas import ObjectionRead
from registry.settings import Settings
from registry.tables import NoticeObjection, SubprocessorNotice, Subscriber

_CLAIM = (
    "INSERT INTO notice_objection (notice, subscriber, reason, late, created_at) VALUES ({}, {}, {}, {}, {})"
    " ON CONFLICT (notice) DO NOTHING RETURNING id"
)


async def notice_of(notice_id: int) -> dict[str, Any]:
    return await SubprocessorNotice.select().where(SubprocessorNotice.id == notice_id).first()


async def objection_to(notice_id: int) -> dict[str, Any] | None:
    return await NoticeObjection.select().where(NoticeObjection.notice == notice_id).first()


async def record(settings: Settings, notice: dict[str, Any], reason: str | None, page: str) -> None:
    """Records the objection (409 if one was recorded before) and tells the legal team, if set."""
    late = clock.today() > notice["effective_on"]
    async with db.write_transaction():
        claimed = await NoticeObjection.raw(
            _CLAIM, notice["id"], notice["subscriber"], reason or None, late, clock.now()
        )
        if not claimed:
            raise conflict("An objection to this change was already recorded from this subscription.")
        if settings.portal_legal_team_email:
            legal = settings.portal_legal_team_email
            await enqueue(objection_mail(settings.organisation_name, legal, notice, late, page))


async def list_objections() -> list[ObjectionRead]:
    """Every objection, newest first, with what it objects to (the address only while subscribed)."""
    rows = await NoticeObjection.select(
        NoticeObjection.id,
        NoticeObjection.subscriber.as_alias("subscriber_id"),
        NoticeObjection.reason,
        NoticeObjection.late,
        NoticeObjection.created_at,
        NoticeObjection.notice.change.as_alias("change"),
        NoticeObjection.notice.vendor_name.as_alias("vendor_name"),
        NoticeObjection.notice.summary.as_alias("summary"),
        NoticeObjection.notice.effective_on.as_alias("effective_on"),
        NoticeObjection.notice.short_notice.as_alias("short_notice"),
        NoticeObjection.subscriber.email.as_alias("email"),
    ).order_by(NoticeObjection.id, ascending=False)
    return [ObjectionRead(**r) for r in rows]


async def count_objections() -> int:
    return await NoticeObjection.count()


async def subscriber_count() -> int:
    return await Subscriber.count().where(Subscriber.state == "confirmed")


_SHORT = (
    "SELECT change_key, vendor_name, summary, effective_on, COUNT(*) AS subscribers FROM subprocessor_notice"
    " WHERE short_notice = {} GROUP BY change_key, vendor_name, summary, effective_on"
    " ORDER BY effective_on DESC LIMIT 100"
)


async def short_notices() -> list[dict[str, Any]]:
    """Changes notified with less notice than the setting gives, newest first: the legal team's to answer for."""
    rows = await SubprocessorNotice.raw(_SHORT, True)
    return [{**r, "effective_on": date.fromisoformat(str(r["effective_on"])[:10])} for r in rows]
