"""Subscribers' links: a random token per link, only its SHA-256 stored, minted just before each send.

A confirmation mail carries ``[[confirm_url]]``; a notice ``[[objection_url]]`` and, in its body and its
List-Unsubscribe header, ``[[unsubscribe_url]]``. The mail worker calls the minters registered here
(by the message's kind, never by its body), so a token exists only in the message and the inbox.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from registry import clock, db
from registry.mail.outbox import register_minter
from registry.portal.tokens import current_settings
from registry.tables import SubprocessorNotice, Subscriber, SubscriberToken

CONFIRM_MINTER = "subscription"
NOTICE_MINTER = "subprocessor_notice"
PATHS = {"confirm": "confirm", "unsubscribe": "unsubscribe", "object": "object"}
CLOSED_LINK = "(this subscription has ended; no link)"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(purpose: str, token: str) -> str:
    return f"{current_settings().document_base_url}/public/{PATHS[purpose]}/{token}"


async def mint(subscriber_id: int, purpose: str, days: int, notice_id: int | None = None) -> str | None:
    """A fresh token, or None when the subscriber has unsubscribed (read under lock, as the portal's)."""
    token = secrets.token_urlsafe(32)
    async with db.write_transaction():
        query = Subscriber.select(Subscriber.state).where(Subscriber.id == subscriber_id)
        found = await db.for_update(query).first()
        if found is None or found["state"] == "unsubscribed":
            return None
        await SubscriberToken.insert(
            SubscriberToken(
                subscriber=subscriber_id,
                purpose=purpose,
                notice=notice_id,
                token_hash=token_hash(token),
                expires_at=clock.now() + timedelta(days=days),
            )
        )
    return token


async def resolve(token: str, purpose: str) -> dict[str, Any] | None:
    """The token's row with its subscriber's state, or None: unknown, expired, ended look the same."""
    if not 20 <= len(token) <= 100:
        return None
    row = (
        await SubscriberToken.select(
            SubscriberToken.id,
            SubscriberToken.subscriber,
            SubscriberToken.notice,
            SubscriberToken.expires_at,
            SubscriberToken.subscriber.state.as_alias("state"),
        )
        .where(SubscriberToken.token_hash == token_hash(token), SubscriberToken.purpose == purpose)
        .first()
    )
    if row is None or row["state"] == "unsubscribed" or _aware(row["expires_at"]) <= clock.now():
        return None
    return row


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def mint_confirmation(subscriber_id: int) -> dict[str, str]:
    token = await mint(subscriber_id, "confirm", current_settings().subscription_confirm_days)
    return {"confirm_url": link("confirm", token) if token else CLOSED_LINK}


async def mint_notice_links(notice_id: int) -> dict[str, str]:
    """The objection link to this notice and an unsubscribe link, for the subscriber it goes to."""
    notice = (
        await SubprocessorNotice.select(SubprocessorNotice.subscriber)
        .where(SubprocessorNotice.id == notice_id)
        .first()
    )
    days = current_settings().subscriber_link_days
    if notice is None:
        return {"objection_url": CLOSED_LINK, "unsubscribe_url": CLOSED_LINK}
    objection = await mint(notice["subscriber"], "object", days, notice_id)
    unsubscribe = await mint(notice["subscriber"], "unsubscribe", days)
    return {
        "objection_url": link("object", objection) if objection else CLOSED_LINK,
        "unsubscribe_url": link("unsubscribe", unsubscribe) if unsubscribe else CLOSED_LINK,
    }


register_minter(CONFIRM_MINTER, mint_confirmation)
register_minter(NOTICE_MINTER, mint_notice_links)
