"""The change log: one hash-chained row per write, written in the writer's transaction."""

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from registry import db
from registry.auth import WriteContext
from registry.enums import ChangeAction
from registry.idempotency import claim
from registry.tables import Change
from registry.webhooks.events import enqueue_for_change

GENESIS = "0" * 64
# Any constant works; it only has to be the same for every writer of the chain.
_CHAIN_LOCK = 724_050_101
HASHED = (
    "created_at",
    "object_type",
    "object_id",
    "action",
    "before",
    "after",
    "actor",
    "request_id",
    "message",
    "prev_hash",
)


def jsonable(value: Any) -> Any:
    """Dates and datetimes as ISO strings, recursively: what the change log stores."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(row: dict[str, Any]) -> str:
    """The SHA-256 of a change row's content, including the previous row's hash."""
    content = {key: row.get(key) for key in HASHED}
    content["created_at"] = row["created_at"].astimezone(UTC).isoformat()
    return hashlib.sha256(canonical(content).encode()).hexdigest()


async def record_change(
    ctx: WriteContext,
    object_type: str,
    object_id: object,
    action: ChangeAction,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Append one change row; call inside the transaction that made the change."""
    if not db.is_sqlite():
        # SQLite's IMMEDIATE transactions already serialise writers; PostgreSQL needs a lock
        # so that two transactions never chain onto the same previous row.
        await Change.raw("SELECT pg_advisory_xact_lock({})", _CHAIN_LOCK)
    last = await Change.select(Change.hash).order_by(Change.id, ascending=False).first()
    row = {
        "created_at": datetime.now(UTC),
        "object_type": object_type,
        "object_id": str(object_id),
        "action": action.value,
        "before": jsonable(before),
        "after": jsonable(after),
        "actor": ctx.actor,
        "request_id": ctx.request_id,
        "message": ctx.message,
        "prev_hash": last["hash"] if last else GENESIS,
    }
    row["hash"] = row_hash(row)
    stored = {**row, "before": _json_or_none(row["before"]), "after": _json_or_none(row["after"])}
    inserted = await Change.insert(Change(**stored)).returning(Change.id)
    # The request's Idempotency-Key, if any, is claimed by the same transaction as its write.
    await claim(inserted[0]["id"])
    # The outbox: the event this change stands for, committed or rolled back with it.
    await enqueue_for_change(
        inserted[0]["id"], object_type, object_id, action.value, ctx.actor, row["before"], row["after"]
    )


def _json_or_none(value: Any) -> str | None:
    return None if value is None else canonical(value)


async def list_changes(
    object_type: str | None, object_id: str | None, since: datetime | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of the change log, oldest first, and how many changes match."""
    where = []
    if object_type:
        where.append(Change.object_type == object_type)
    if object_id:
        where.append(Change.object_id == object_id)
    if since:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        where.append(Change.created_at >= since)
    query, count = Change.select().output(load_json=True), Change.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    return await query.order_by(Change.id).limit(limit).offset(offset), await count


async def timeline(objects: dict[str, list[str]], limit: int = 200) -> list[dict[str, Any]]:
    """The latest changes of the objects named ({object type: ids}), newest first."""
    where = None
    for object_type, ids in objects.items():
        if ids:
            clause = (Change.object_type == object_type) & Change.object_id.is_in(ids)
            where = clause if where is None else where | clause
    return (
        await Change.select(
            Change.created_at, Change.object_type, Change.object_id, Change.action, Change.actor
        )
        .where(where)
        .order_by(Change.id, ascending=False)
        .limit(limit)
    )
