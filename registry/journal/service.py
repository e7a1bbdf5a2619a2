"""Journal entries: written once with their change row, never updated or deleted."""

from dataclasses import dataclass
from typing import Any

from registry import db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction, JournalKind, JournalObject
from registry.errors import invalid, not_found
from registry.journal.schemas import JournalCreate, JournalRead
from registry.tables import Attestation, Contract, DeletionObligation, JournalEntry, Vendor

# Each kind of object and how to find the vendor it belongs to.
_OWNER = {
    JournalObject.vendor: (Vendor, Vendor.id),
    JournalObject.contract: (Contract, Contract.vendor),
    JournalObject.deletion: (DeletionObligation, DeletionObligation.vendor),
    JournalObject.attestation: (Attestation, Attestation.vendor),
}


async def vendor_of(object_type: JournalObject, object_id: int) -> int:
    table, vendor_column = _OWNER[object_type]
    row = await table.select(vendor_column.as_alias("vendor")).where(table.id == object_id).first()
    if row is None:
        raise invalid("object_id", "exists", f"{object_type.value} {object_id} does not exist")
    return row["vendor"]


async def add_entry(ctx: WriteContext, data: JournalCreate) -> JournalRead:
    async with db.write_transaction():
        vendor_id = await vendor_of(data.object_type, data.object_id)
        values = {
            "object_type": data.object_type.value,
            "object_id": data.object_id,
            "vendor": vendor_id,
            "kind": data.kind.value,
            "text": data.text,
            "author": ctx.actor,
        }
        inserted = await JournalEntry.insert(JournalEntry(**values)).returning(JournalEntry.id)
        entry_id = inserted[0]["id"]
        row = await JournalEntry.select().where(JournalEntry.id == entry_id).first()
        await record_change(ctx, "journal_entry", entry_id, ChangeAction.create, None, row)
    return await get_entry(entry_id)


def _select():
    return JournalEntry.select(*JournalEntry.all_columns(), JournalEntry.vendor.name.as_alias("vendor_name"))


def _to_read(row: dict[str, Any]) -> JournalRead:
    data = {k: v for k, v in row.items() if k != "vendor"}
    return JournalRead.model_validate({**data, "vendor_id": row["vendor"]})


async def get_entry(entry_id: int) -> JournalRead:
    row = await _select().where(JournalEntry.id == entry_id).first()
    if row is None:
        raise not_found("journal entry", entry_id)
    return _to_read(row)


@dataclass
class JournalFilter:
    object_type: JournalObject | None = None
    object_id: int | None = None
    vendor_id: int | None = None
    kind: JournalKind | None = None
    limit: int = 50
    offset: int = 0


async def list_entries(f: JournalFilter) -> tuple[list[JournalRead], int]:
    where: list = []
    if f.object_type is not None:
        where.append(JournalEntry.object_type == f.object_type.value)
    if f.object_id is not None:
        where.append(JournalEntry.object_id == f.object_id)
    if f.vendor_id is not None:
        where.append(JournalEntry.vendor == f.vendor_id)
    if f.kind is not None:
        where.append(JournalEntry.kind == f.kind.value)
    query, count = _select(), JournalEntry.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    async with db.read_session():
        rows = await query.order_by(JournalEntry.id, ascending=False).limit(f.limit).offset(f.offset)
        total = await count
    return [_to_read(r) for r in rows], total
