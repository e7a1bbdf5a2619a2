"""Registering webhooks, rotating their secrets, and reading their delivery log (admins only)."""

import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction
from registry.errors import conflict, invalid, not_found
from registry.tables import Webhook, WebhookAttempt, WebhookDelivery
from registry.webhooks.events import EVENT_TYPES, enqueue
from registry.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookTestQueued,
    WebhookUpdate,
)
from registry.webhooks.signing import message_id, new_salt, secret_for

MAX_URL = 2048
# Everything but the salt: neither the answers nor the change log ever carry it.
_PUBLIC = (
    Webhook.id,
    Webhook.url,
    Webhook.events,
    Webhook.description,
    Webhook.created_at,
    Webhook.created_by,
    Webhook.disabled_at,
    Webhook.version,
)


def check_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise invalid("url", "required", "must not be empty")
    if len(url) > MAX_URL:
        raise invalid("url", "max_length", f"must be at most {MAX_URL} characters")
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise invalid("url", "characters", "must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise invalid("url", "format", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise invalid("url", "scheme", "must start with http:// or https://")
    if "@" in parts.netloc:
        raise invalid("url", "no_userinfo", "must not contain user:password@ (put a token in the path)")
    if not parts.hostname:
        raise invalid("url", "host", "must name a host")
    return url


def check_events(events: list[str]) -> list[str]:
    if not events:
        raise invalid("events", "min_items", "name at least one event type, or *")
    unknown = [e for e in events if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise invalid("events", "known_event", f"unknown event type(s): {', '.join(map(repr, unknown))}")
    return list(dict.fromkeys(events))


def logged(row: dict[str, Any]) -> dict[str, Any]:
    """What the change log keeps of a webhook: its URL's origin and a hash of the whole URL, since
    endpoints often carry a token in the path and the change log is open to viewers."""
    parts = urlsplit(row["url"])
    shown = f"{parts.scheme}://{parts.netloc}/…" if parts.path.strip("/") or parts.query else row["url"]
    return {**row, "url": shown, "url_sha256": hashlib.sha256(row["url"].encode()).hexdigest()}


async def _row(webhook_id: int, *, lock: bool = False) -> dict[str, Any]:
    query = Webhook.select(*_PUBLIC).where(Webhook.id == webhook_id).output(load_json=True)
    row = await (db.for_update(query) if lock else query).first()
    if row is None:
        raise not_found("webhook", webhook_id)
    return row


async def _enabled_row(webhook_id: int, if_match: int | None = None) -> dict[str, Any]:
    row = await _row(webhook_id, lock=True)
    if row["disabled_at"] is not None:
        raise conflict(f"Webhook {webhook_id} was disabled at {row['disabled_at']:%Y-%m-%d %H:%M} UTC.")
    db.check_version("webhook", webhook_id, row["version"], if_match)
    return row


async def create_webhook(ctx: WriteContext, data: WebhookCreate, key: bytes) -> WebhookCreated:
    url, events, salt = check_url(data.url), check_events(data.events), new_salt()
    async with db.write_transaction():
        inserted = await Webhook.insert(
            Webhook(
                url=url, events=events, description=data.description, secret_salt=salt, created_by=ctx.actor
            )
        ).returning(Webhook.id)
        row = await _row(inserted[0]["id"])
        await record_change(ctx, "webhook", row["id"], ChangeAction.create, None, logged(row))
    return WebhookCreated(**row, secret=secret_for(key, salt))


async def list_webhooks() -> list[WebhookRead]:
    rows = await Webhook.select(*_PUBLIC).order_by(Webhook.id).output(load_json=True)
    return [WebhookRead(**row) for row in rows]


async def get_webhook(webhook_id: int) -> WebhookRead:
    return WebhookRead(**await _row(webhook_id))


async def update_webhook(
    ctx: WriteContext, webhook_id: int, data: WebhookUpdate, if_match: int | None
) -> WebhookRead:
    sent = data.model_dump(exclude_unset=True)
    for required in ("url", "events"):
        if required in sent and sent[required] is None:
            raise invalid(required, "not_null", "cannot be cleared")
    values: dict[Any, Any] = {}
    if "url" in sent:
        values[Webhook.url] = check_url(sent["url"])
    if "events" in sent:
        values[Webhook.events] = check_events(sent["events"])
    if "description" in sent:
        values[Webhook.description] = sent["description"]
    async with db.write_transaction():
        before = await _enabled_row(webhook_id, if_match)
        await Webhook.update({**values, Webhook.version: before["version"] + 1}).where(
            Webhook.id == webhook_id
        )
        after = await _row(webhook_id)
        await record_change(ctx, "webhook", webhook_id, ChangeAction.update, logged(before), logged(after))
    return WebhookRead(**after)


async def disable_webhook(ctx: WriteContext, webhook_id: int) -> WebhookRead:
    """Stop sending to an endpoint; what was still pending is cancelled. The record stays."""
    async with db.write_transaction():
        before = await _enabled_row(webhook_id)
        await Webhook.update(
            {Webhook.disabled_at: clock.now(), Webhook.version: before["version"] + 1}
        ).where(Webhook.id == webhook_id)
        await WebhookDelivery.update({WebhookDelivery.status: DeliveryStatus.cancelled.value}).where(
            WebhookDelivery.webhook == webhook_id, WebhookDelivery.status == DeliveryStatus.pending.value
        )
        after = await _row(webhook_id)
        await record_change(ctx, "webhook", webhook_id, ChangeAction.revoke, logged(before), logged(after))
    return WebhookRead(**after)


async def rotate_secret(ctx: WriteContext, webhook_id: int, key: bytes) -> WebhookCreated:
    """A new secret at once: deliveries from now on, retries included, are signed with it."""
    salt = new_salt()
    ctx = dataclasses.replace(ctx, message=ctx.message or "signing secret rotated")
    async with db.write_transaction():
        before = await _enabled_row(webhook_id)
        await Webhook.update({Webhook.secret_salt: salt, Webhook.version: before["version"] + 1}).where(
            Webhook.id == webhook_id
        )
        after = await _row(webhook_id)
        await record_change(ctx, "webhook", webhook_id, ChangeAction.update, logged(before), logged(after))
    return WebhookCreated(**after, secret=secret_for(key, salt))


async def send_test(ctx: WriteContext, webhook_id: int) -> WebhookTestQueued:
    """Queue a ``webhook.test`` event for this webhook alone."""
    async with db.write_transaction():
        await _enabled_row(webhook_id)
        data = {"webhook_id": webhook_id, "actor": ctx.actor, "message": "Test event sent from the registry"}
        event_id = await enqueue("webhook.test", "webhook", webhook_id, data, webhook_id=webhook_id)
        delivery = (
            await WebhookDelivery.select(WebhookDelivery.id).where(WebhookDelivery.event == event_id).first()
        )
    return WebhookTestQueued(event_id=message_id(event_id), delivery_id=delivery["id"])


async def list_deliveries(
    webhook_id: int, status: DeliveryStatus | None, limit: int, offset: int
) -> tuple[list[DeliveryRead], int]:
    await _row(webhook_id)
    where = [WebhookDelivery.webhook == webhook_id]
    if status is not None:
        where.append(WebhookDelivery.status == status.value)
    # One snapshot: the worker may finish a delivery between the page and its count.
    async with db.read_session():
        rows = (
            await WebhookDelivery.select(
                *WebhookDelivery.all_columns(
                    exclude=[WebhookDelivery.webhook, WebhookDelivery.lease_until_ms]
                ),
                WebhookDelivery.event.type.as_alias("event_type"),
                WebhookDelivery.event.object_type.as_alias("object_type"),
                WebhookDelivery.event.object_id.as_alias("object_id"),
            )
            .where(*where)
            .order_by(WebhookDelivery.id, ascending=False)
            .limit(limit)
            .offset(offset)
        )
        total = await WebhookDelivery.count().where(*where)
        ids = [row["id"] for row in rows]
        attempts = (
            await WebhookAttempt.select()
            .where(WebhookAttempt.delivery.is_in(ids))
            .order_by(WebhookAttempt.id)
            if ids
            else []
        )
    by_delivery: dict[int, list[AttemptRead]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt["delivery"], []).append(
            AttemptRead(**_without(attempt, "id", "delivery"))
        )
    return [_delivery(row, by_delivery.get(row["id"], [])) for row in rows], total


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}


def _delivery(row: dict[str, Any], attempts: list[AttemptRead]) -> DeliveryRead:
    pending = row["status"] == DeliveryStatus.pending.value
    return DeliveryRead(
        **_without(row, "event", "next_attempt_ms"),
        event_id=message_id(row["event"]),
        next_attempt_at=datetime.fromtimestamp(row["next_attempt_ms"] / 1000, UTC) if pending else None,
        attempt_log=attempts,
    )
