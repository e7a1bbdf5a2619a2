"""Vendor rules and writes. Every write runs in one transaction with its change row."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.columns.combination import WhereRaw

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.contracts import conformance
from registry.contracts.rules import vendor_status, vendor_status_sql
from registry.enums import ChangeAction, VendorKind, VendorStatus
from registry.errors import conflict, invalid, not_found
from registry.tables import Attestation, Contract, Disclosure, JournalEntry, SubprocessorEngagement, Vendor
from registry.vendors.schemas import VendorCreate, VendorRead, VendorUpdate

SORTS = {
    "name": Vendor.name,
    "country": Vendor.country,
    "kind": Vendor.kind,
    "created_at": Vendor.created_at,
    "updated_at": Vendor.updated_at,
    "id": Vendor.id,
}
_CONTACTS = ("contact", "privacy_contact")
_CONTACT_FIELDS = ("name", "email", "phone")
_TAG_SQL = {
    "sqlite": "EXISTS (SELECT 1 FROM json_each(vendor.tags) WHERE json_each.value = {})",
    "postgres": "EXISTS (SELECT 1 FROM json_array_elements_text(vendor.tags) AS t(value) WHERE t.value = {})",
}


@dataclass
class VendorFilter:
    q: str | None = None
    kind: VendorKind | None = None
    country: str | None = None
    status: VendorStatus | None = None
    tag: str | None = None
    conformance: str | None = None
    sort: str = "name"
    limit: int = 50
    offset: int = 0


def _like(term: str) -> str:
    escaped = term.lower().replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _where(f: VendorFilter, day: date) -> list:
    where: list = []
    if f.q:
        pattern = _like(f.q)
        where.append(
            WhereRaw(
                "(lower(vendor.name) LIKE {} ESCAPE '!' OR lower(vendor.legal_name) LIKE {} ESCAPE '!'"
                " OR lower(vendor.notes) LIKE {} ESCAPE '!')",
                pattern,
                pattern,
                pattern,
            )
        )
    if f.kind:
        where.append(Vendor.kind == f.kind.value)
    if f.country:
        where.append(Vendor.country == f.country)
    if f.tag:
        where.append(WhereRaw(_TAG_SQL[db.current_engine().engine_type], f.tag))
    if f.status:
        sql, args = vendor_status_sql(f.status, day)
        where.append(WhereRaw(sql, *args))
    if f.conformance:
        rule = conformance.vendor_gaps_sql if f.conformance == "gaps" else conformance.vendor_complete_sql
        sql, args = rule(day)
        where.append(WhereRaw(sql, *args))
    return where


async def list_vendors(f: VendorFilter) -> tuple[list[VendorRead], int]:
    day = clock.today()
    where = _where(f, day)
    column = SORTS[f.sort.removeprefix("-")]
    query = Vendor.select().output(load_json=True).order_by(column, ascending=not f.sort.startswith("-"))
    count = Vendor.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    rows = await query.order_by(Vendor.id).limit(f.limit).offset(f.offset)
    return await _read_many(rows, day), await count


async def _read_many(rows: list[dict[str, Any]], day: date) -> list[VendorRead]:
    ids = [row["id"] for row in rows]
    contracts = (
        await Contract.select(
            Contract.id,
            Contract.vendor,
            Contract.signed_on,
            Contract.effective_from,
            Contract.ends_on,
            Contract.terminated_on,
            Contract.deletion_due_on,
        ).where(Contract.vendor.is_in(ids))
        if ids
        else []
    )
    await with_deletion_state(contracts)
    by_vendor: dict[int, list] = {}
    for c in contracts:
        by_vendor.setdefault(c["vendor"], []).append(c)
    return [_to_read(row, vendor_status(by_vendor.get(row["id"], []), day)) for row in rows]


async def with_deletion_state(contracts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adds what rules.deletion_pending reads to each contract row: ``disclosed`` (anything was
    disclosed under it) and ``attested`` (a standing attestation covers its deletion). Two queries."""
    ids = [c["id"] for c in contracts]
    disclosed, attested = set(), set()
    if ids:
        rows = await Disclosure.select(Disclosure.contract).where(Disclosure.contract.is_in(ids))
        disclosed = {r["contract"] for r in rows}
        standing = await Attestation.select(Attestation.obligation.contract.as_alias("contract")).where(
            Attestation.obligation.contract.is_in(ids), Attestation.revoked_at.is_null()
        )
        attested = {r["contract"] for r in standing}
    for c in contracts:
        c["disclosed"], c["attested"] = c["id"] in disclosed, c["id"] in attested
    return contracts


def _to_read(row: dict[str, Any], status: VendorStatus) -> VendorRead:
    data = {k: v for k, v in row.items() if not k.startswith(_CONTACTS)}
    for prefix in _CONTACTS:
        values = {f: row[f"{prefix}_{f}"] for f in _CONTACT_FIELDS}
        data[prefix] = values if any(values.values()) else None
    data["parent_id"] = data.pop("parent")
    return VendorRead.model_validate({**data, "status": status})


async def _row(vendor_id: int) -> dict[str, Any]:
    row = await Vendor.select().where(Vendor.id == vendor_id).output(load_json=True).first()
    if row is None:
        raise not_found("vendor", vendor_id)
    return row


async def get_vendor(vendor_id: int) -> VendorRead:
    return (await _read_many([await _row(vendor_id)], clock.today()))[0]


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """Schema fields to table columns: contacts flattened, URLs as text."""
    values = {k: v for k, v in data.items() if k not in _CONTACTS}
    for prefix in _CONTACTS:
        if prefix in data:
            contact = data[prefix] or {}
            values.update({f"{prefix}_{f}": contact.get(f) for f in _CONTACT_FIELDS})
    if "parent_id" in values:
        values["parent"] = values.pop("parent_id")
    if values.get("website") is not None:
        values["website"] = str(values["website"])
    return values


def snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """What the change log keeps of a vendor row."""
    return {k: v for k, v in row.items()}


async def _check_name_free(name: str, vendor_id: int | None = None) -> None:
    other = await Vendor.select(Vendor.id).where(Vendor.name == name).first()
    if other and other["id"] != vendor_id:
        raise conflict(
            f"A vendor named {name!r} already exists (id {other['id']}).",
            conflicts=[{"type": "vendor", "id": other["id"]}],
        )


async def _check_parent(parent_id: int | None, vendor_id: int | None = None) -> None:
    seen = {vendor_id}
    current = parent_id
    while current is not None:
        if current in seen:
            raise invalid("parent_id", "no_cycle", "would make the vendor its own ancestor")
        seen.add(current)
        row = await Vendor.select(Vendor.parent).where(Vendor.id == current).first()
        if row is None:
            raise invalid("parent_id", "exists", f"vendor {current} does not exist")
        current = row["parent"]


async def create_vendor(ctx: WriteContext, data: VendorCreate) -> VendorRead:
    values = _columns(data.model_dump(mode="json"))
    async with db.write_transaction():
        await _check_name_free(data.name)
        await _check_parent(data.parent_id)
        inserted = await Vendor.insert(Vendor(**values)).returning(Vendor.id)
        row = await _row(inserted[0]["id"])
        await record_change(ctx, "vendor", row["id"], ChangeAction.create, None, snapshot(row))
    return await get_vendor(row["id"])


async def update_vendor(
    ctx: WriteContext, vendor_id: int, data: VendorUpdate, if_match: int | None
) -> VendorRead:
    sent = data.model_dump(mode="json", exclude_unset=True)
    for required in ("name", "kind", "country", "registration_ids", "tags", "public"):
        if required in sent and sent[required] is None:
            raise invalid(required, "not_null", "cannot be cleared")
    async with db.write_transaction():
        query = Vendor.select().where(Vendor.id == vendor_id).output(load_json=True)
        before = await db.locked_row(query, "vendor", vendor_id, if_match)
        if "name" in sent:
            await _check_name_free(sent["name"], vendor_id)
        if "parent_id" in sent:
            await _check_parent(sent["parent_id"], vendor_id)
        values = {**_columns(sent), "version": before["version"] + 1, "updated_at": clock.now()}
        await Vendor.update(values, use_auto_update=False).where(Vendor.id == vendor_id)
        after = await _row(vendor_id)
        await record_change(ctx, "vendor", vendor_id, ChangeAction.update, snapshot(before), snapshot(after))
    return await get_vendor(vendor_id)


async def delete_vendor(ctx: WriteContext, vendor_id: int) -> None:
    async with db.write_transaction():
        before = await _row(vendor_id)
        contracts = (
            await Contract.select(Contract.id, Contract.title, Contract.reference)
            .where(Contract.vendor == vendor_id)
            .order_by(Contract.id)
        )
        children = await Vendor.select(Vendor.id, Vendor.name).where(Vendor.parent == vendor_id)
        disclosures = await Disclosure.select(Disclosure.id).where(
            Disclosure.vendor == vendor_id, Disclosure.contract.is_null()
        )
        notes = await JournalEntry.count().where(JournalEntry.vendor == vendor_id)
        engagements = await SubprocessorEngagement.select(SubprocessorEngagement.id).where(
            (SubprocessorEngagement.engaged_by == vendor_id)
            | (SubprocessorEngagement.subprocessor == vendor_id)
        )
        if contracts or children or disclosures or notes or engagements:
            names = [f"contract {c['id']} ({c['title']})" for c in contracts]
            names += [f"vendor {v['id']} ({v['name']})" for v in children]
            names += [f"disclosure {d['id']}" for d in disclosures]
            names += [f"{notes} journal entries"] if notes else []
            names += [f"sub-processor engagement {e['id']}" for e in engagements]
            raise conflict(
                f"Vendor {vendor_id} cannot be deleted while these refer to it: {', '.join(names)}.",
                conflicts=[
                    {"type": "contract", "id": c["id"], "title": c["title"], "reference": c["reference"]}
                    for c in contracts
                ]
                + [{"type": "vendor", "id": v["id"], "name": v["name"]} for v in children]
                + [{"type": "disclosure", "id": d["id"]} for d in disclosures]
                + [{"type": "subprocessor_engagement", "id": e["id"]} for e in engagements],
            )
        await Vendor.delete().where(Vendor.id == vendor_id)
        await record_change(ctx, "vendor", vendor_id, ChangeAction.delete, snapshot(before), None)
