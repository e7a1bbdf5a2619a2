"""The events the registry emits, and the outbox they are written to.

``enqueue`` runs inside the writer's transaction (``record_change`` calls it), so an event exists if
and only if its change was committed: nothing is sent for a rolled-back write, and nothing committed
is lost when the process dies before delivery. Deliveries to every subscribed endpoint are written in
the same transaction; a worker sends them later.
"""

from typing import Any

from registry import clock
from registry.tables import Webhook, WebhookDelivery, WebhookEvent

# (object type in the change log, action) -> event type. Keys, people and webhooks emit nothing:
# their changes carry credentials' metadata that endpoints have no business receiving.
EVENT_OF_CHANGE: dict[tuple[str, str], str] = {
    ("vendor", "create"): "vendor.created",
    ("vendor", "update"): "vendor.updated",
    ("vendor", "delete"): "vendor.deleted",
    ("contract", "create"): "contract.created",
    ("contract", "update"): "contract.updated",
    ("contract", "upload"): "contract.document_uploaded",
    ("contract", "terminate"): "contract.terminated",
    ("disclosure", "create"): "disclosure.created",
    ("disclosure", "update"): "disclosure.updated",
    ("disclosure", "end"): "disclosure.ended",
    ("deletion_obligation", "open"): "deletion.opened",
    ("deletion_obligation", "confirm"): "deletion.confirmed",
    ("attestation", "issue"): "attestation.issued",
    ("attestation", "revoke"): "attestation.revoked",
    ("journal_entry", "create"): "journal.created",
    ("transfer", "create"): "transfer.recorded",
    ("transfer", "update"): "transfer.recorded",
    ("transfer", "upload"): "transfer.document_uploaded",
    ("subprocessor_engagement", "create"): "subprocessor.engaged",
    ("subprocessor_engagement", "update"): "subprocessor.updated",
    ("subprocessor_engagement", "object"): "subprocessor.objected",
    ("subprocessor_engagement", "end"): "subprocessor.ended",
    ("subprocessor_engagement", "delete"): "subprocessor.deleted",
}
# Events that come from the passing of time, emitted by `registry remind --emit` once per thing.
TIMED_EVENTS = ("deletion.overdue", "contract.expiring")
EVENT_TYPES: tuple[str, ...] = tuple(sorted({*EVENT_OF_CHANGE.values(), *TIMED_EVENTS}))

# What of a record goes into an event: enough to act on, the rest is one authenticated GET away.
_SUMMARY_FIELDS = (
    "name",
    "title",
    "reference",
    "serial",
    "vendor",
    "vendor_id",
    "contract",
    "kind",
    "status",
    "engaged_by_id",
    "engaged_by_name",
    "subprocessor_id",
    "subprocessor_name",
    "disclosure_id",
    "mechanism",
)


def _summary(record: dict[str, Any] | None) -> dict[str, Any]:
    if not record:
        return {}
    return {key: record[key] for key in _SUMMARY_FIELDS if key in record}


async def enqueue(
    event_type: str,
    object_type: str,
    object_id: object,
    data: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    webhook_id: int | None = None,
) -> int | None:
    """Write one event and its deliveries (inside the caller's transaction). With ``dedupe_key``,
    an event already written under that key is not written again; with ``webhook_id``, it goes to
    that webhook only, whatever it subscribes to. Returns the new event's id."""
    if dedupe_key is not None and await WebhookEvent.exists().where(WebhookEvent.dedupe_key == dedupe_key):
        return None
    now = clock.now()
    payload = {"type": event_type, "created_at": now.isoformat(), "data": data}
    insert = WebhookEvent.insert(
        WebhookEvent(
            type=event_type,
            object_type=object_type,
            object_id=str(object_id),
            payload=payload,
            dedupe_key=dedupe_key,
            created_at=now,
        )
    )
    if dedupe_key is not None:
        # Two reminders running at once: the second writes nothing instead of failing.
        insert = insert.on_conflict(target=WebhookEvent.dedupe_key, action="DO NOTHING")
    inserted = await insert.returning(WebhookEvent.id)
    if not inserted:
        return None
    event_id = inserted[0]["id"]
    hooks = Webhook.select(Webhook.id, Webhook.events).where(Webhook.disabled_at.is_null())
    if webhook_id is not None:
        hooks = hooks.where(Webhook.id == webhook_id)
    due = int(now.timestamp() * 1000)
    rows = [
        WebhookDelivery(webhook=hook["id"], event=event_id, next_attempt_ms=due, created_at=now)
        for hook in await hooks.output(load_json=True)
        if webhook_id is not None or event_type in hook["events"] or "*" in hook["events"]
    ]
    if rows:
        await WebhookDelivery.insert(*rows)
    return event_id


async def enqueue_for_change(
    change_id: int | None,
    object_type: str,
    object_id: object,
    action: str,
    actor: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """The event a change row stands for, if any (called by ``record_change``)."""
    event_type = EVENT_OF_CHANGE.get((object_type, action))
    if event_type is None:
        return
    data = {
        "object_type": object_type,
        "object_id": str(object_id),
        "action": action,
        "actor": actor,
        "change_id": change_id,
        "object": _summary(after if after is not None else before),
    }
    await enqueue(event_type, object_type, object_id, data)
