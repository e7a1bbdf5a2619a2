"""Disclosure rules and writes. §6.1 as code: a contract-basis disclosure needs a covering contract
with an equivalent confidentiality clause for its whole period."""

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.contracts import rules
from registry.disclosures.schemas import DisclosureCreate, DisclosureEnd, DisclosureRead, DisclosureUpdate
from registry.enums import ChangeAction, LegalBasis, RecipientRole, TaxonomyKind
from registry.errors import conflict, invalid, not_found
from registry.settings import get_settings
from registry.subprocessors.links import check_engagement
from registry.tables import Contract, Disclosure, DisclosureCategory, Vendor
from registry.taxonomy.service import require_keys

_NOT_NULL = ("categories", "data_subjects", "purpose", "basis", "role", "valid_from", "country", "origin")


@dataclass
class DisclosureFilter:
    vendor_id: int | None = None
    contract_id: int | None = None
    basis: LegalBasis | None = None
    as_of: date | None = None
    limit: int = 50
    offset: int = 0
    role: RecipientRole | None = None


def select_disclosures():
    """Disclosures with the names a reader needs, in one joined query."""
    return Disclosure.select(
        *Disclosure.all_columns(),
        Disclosure.vendor.name.as_alias("vendor_name"),
        Disclosure.contract.reference.as_alias("contract_reference"),
    ).output(load_json=True)


def valid_on(day: date) -> list:
    return [Disclosure.valid_from <= day, (Disclosure.valid_to.is_null()) | (Disclosure.valid_to >= day)]


async def list_disclosures(f: DisclosureFilter) -> tuple[list[DisclosureRead], int]:
    where: list = []
    if f.vendor_id is not None:
        where.append(Disclosure.vendor == f.vendor_id)
    if f.contract_id is not None:
        where.append(Disclosure.contract == f.contract_id)
    if f.basis:
        where.append(Disclosure.basis == f.basis.value)
    if f.role:
        where.append(Disclosure.role == f.role.value)
    if f.as_of:
        where += valid_on(f.as_of)
    query, count = select_disclosures(), Disclosure.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    rows = await query.order_by(Disclosure.id).limit(f.limit).offset(f.offset)
    return await read_many(rows), await count


async def read_many(rows: list[dict[str, Any]]) -> list[DisclosureRead]:
    """Attach each disclosure's categories (one query for the whole page)."""
    ids = [row["id"] for row in rows]
    categories: dict[int, list[str]] = {}
    if ids:
        found = await DisclosureCategory.select(
            DisclosureCategory.disclosure, DisclosureCategory.category
        ).where(DisclosureCategory.disclosure.is_in(ids))
        for item in sorted(found, key=lambda r: r["category"]):
            categories.setdefault(item["disclosure"], []).append(item["category"])
    return [
        DisclosureRead.model_validate(
            {
                **{k: v for k, v in row.items() if k not in ("vendor", "contract", "engagement")},
                "vendor_id": row["vendor"],
                "contract_id": row["contract"],
                "engagement_id": row["engagement"],
                "categories": categories.get(row["id"], []),
            }
        )
        for row in rows
    ]


# The disclosures of one vendor with their categories in one round trip (the lookup check's hot path;
# Piccolo would take two queries and spend longer building the joined one than the database runs it).
_OF_VENDOR = (
    "SELECT d.id, d.vendor, v.name AS vendor_name, d.contract, c.reference AS contract_reference, d.basis,"
    " d.role, d.purpose, d.consent_reference, d.legal_reference, d.data_subjects, d.country, d.origin,"
    " d.valid_from, d.valid_to, d.ended_reason, d.notes, d.engagement, d.version, d.created_at,"
    " d.updated_at, dc.category"
    " FROM disclosure d JOIN vendor v ON v.id = d.vendor LEFT JOIN contract c ON c.id = d.contract"
    " JOIN disclosure_category dc ON dc.disclosure = d.id WHERE d.vendor = {} ORDER BY d.id, dc.category"
)


async def disclosures_of_vendor(vendor_id: int) -> list[DisclosureRead]:
    grouped: dict[int, dict[str, Any]] = {}
    for row in await Disclosure.raw(_OF_VENDOR, vendor_id):
        item = grouped.get(row["id"])
        if item is None:
            subjects = row["data_subjects"]
            item = grouped[row["id"]] = {
                **row,
                "vendor_id": row["vendor"],
                "contract_id": row["contract"],
                "engagement_id": row["engagement"],
                "data_subjects": json.loads(subjects) if isinstance(subjects, str) else subjects,
                "categories": [],
            }
        item["categories"].append(row["category"])
    fields = DisclosureRead.model_fields
    return [
        DisclosureRead.model_validate({k: v for k, v in item.items() if k in fields})
        for item in grouped.values()
    ]


async def get_disclosure(disclosure_id: int) -> DisclosureRead:
    row = await select_disclosures().where(Disclosure.id == disclosure_id).first()
    if row is None:
        raise not_found("disclosure", disclosure_id)
    return (await read_many([row]))[0]


async def _contract(contract_id: int) -> dict[str, Any]:
    row = await Contract.select().where(Contract.id == contract_id).first()
    if row is None:
        raise invalid("contract_id", "exists", f"contract {contract_id} does not exist")
    return row


async def _check(values: dict[str, Any], valid_to_sent: bool) -> dict[str, Any]:
    """Enforce every rule on the complete new state; returns it with defaults filled in."""
    await require_keys(TaxonomyKind.data_category, values["categories"], "categories")
    await require_keys(TaxonomyKind.data_subject, values["data_subjects"], "data_subjects")
    await require_keys(TaxonomyKind.data_use, [values["purpose"]], "purpose")
    basis = LegalBasis(values["basis"])
    contract = await _contract(values["contract"]) if values.get("contract") else None
    if contract and contract["vendor"] != values["vendor"]:
        raise invalid("contract_id", "same_vendor", f"contract {contract['id']} is with another vendor")
    if basis is LegalBasis.contract:
        if contract is None:
            raise invalid("contract_id", "required", "a contract-basis disclosure names its contract")
        if not valid_to_sent and values.get("valid_to") is None:
            values["valid_to"] = contract["ends_on"]
    if basis is LegalBasis.consent and not values.get("consent_reference"):
        raise invalid("consent_reference", "required", "a consent-basis disclosure names the consent")
    if values.get("valid_to") is not None and values["valid_to"] < values["valid_from"]:
        raise invalid("valid_to", "date_order", "must not be before valid_from")
    await check_engagement(values)
    if basis is LegalBasis.contract:
        problem = rules.coverage_problem(contract, values["valid_from"], values.get("valid_to"))
        if problem:
            raise invalid("contract_id", "covering_contract", problem)
    return values


async def _write_categories(disclosure_id: int, values: dict[str, Any]) -> None:
    await DisclosureCategory.delete().where(DisclosureCategory.disclosure == disclosure_id)
    await DisclosureCategory.insert(
        *[
            DisclosureCategory(
                disclosure=disclosure_id,
                vendor=values["vendor"],
                category=category,
                valid_from=values["valid_from"],
                valid_to=values.get("valid_to"),
            )
            for category in values["categories"]
        ]
    )


def _snapshot(read: DisclosureRead) -> dict[str, Any]:
    return read.model_dump(mode="json")


async def create_disclosure(
    ctx: WriteContext, data: DisclosureCreate, default_origin: str | None = None
) -> DisclosureRead:
    """Record a disclosure; without an origin it leaves from ``default_origin`` (the setting's)."""
    values = data.model_dump(mode="python")
    values["origin"] = values["origin"] or default_origin or get_settings().origin_country
    values["vendor"], values["contract"] = values.pop("vendor_id"), values.pop("contract_id")
    values["engagement"] = values.pop("engagement_id")
    async with db.write_transaction():
        vendor = await Vendor.select(Vendor.country).where(Vendor.id == values["vendor"]).first()
        if vendor is None:
            raise invalid("vendor_id", "exists", f"vendor {values['vendor']} does not exist")
        values["country"] = values["country"] or vendor["country"]
        values = await _check(values, "valid_to" in data.model_fields_set)
        columns = {k: v for k, v in values.items() if k != "categories"}
        columns["basis"], columns["role"] = values["basis"].value, values["role"].value
        inserted = await Disclosure.insert(Disclosure(**columns)).returning(Disclosure.id)
        disclosure_id = inserted[0]["id"]
        await _write_categories(disclosure_id, values)
        after = await get_disclosure(disclosure_id)
        await record_change(ctx, "disclosure", disclosure_id, ChangeAction.create, None, _snapshot(after))
    return after


async def _locked(disclosure_id: int, if_match: int | None) -> DisclosureRead:
    query = Disclosure.select(Disclosure.id, Disclosure.version).where(Disclosure.id == disclosure_id)
    await db.locked_row(query, "disclosure", disclosure_id, if_match)
    return await get_disclosure(disclosure_id)


def _columns(read: DisclosureRead) -> dict[str, Any]:
    values = read.model_dump(exclude={"vendor_name", "contract_reference", "id", "created_at", "updated_at"})
    values["vendor"], values["contract"] = values.pop("vendor_id"), values.pop("contract_id")
    values["engagement"] = values.pop("engagement_id")
    return values


async def _save(ctx: WriteContext, before: DisclosureRead, values: dict[str, Any], action: ChangeAction):
    columns = {k: v for k, v in values.items() if k not in ("categories", "vendor")}
    columns.update(
        basis=LegalBasis(values["basis"]).value,
        role=RecipientRole(values["role"]).value,
        version=before.version + 1,
        updated_at=clock.now(),
    )
    await Disclosure.update(columns, use_auto_update=False).where(Disclosure.id == before.id)
    await _write_categories(before.id, values)
    after = await get_disclosure(before.id)
    await record_change(ctx, "disclosure", before.id, action, _snapshot(before), _snapshot(after))
    return after


async def update_disclosure(
    ctx: WriteContext, disclosure_id: int, data: DisclosureUpdate, if_match: int | None
) -> DisclosureRead:
    sent = data.model_dump(mode="python", exclude_unset=True)
    for name in _NOT_NULL:
        if name in sent and sent[name] is None:
            raise invalid(name, "not_null", "cannot be cleared")
    if "contract_id" in sent:
        sent["contract"] = sent.pop("contract_id")
    if "engagement_id" in sent:
        sent["engagement"] = sent.pop("engagement_id")
    async with db.write_transaction():
        before = await _locked(disclosure_id, if_match)
        values = await _check({**_columns(before), **sent}, "valid_to" in sent)
        return await _save(ctx, before, values, ChangeAction.update)


async def end_disclosure(
    ctx: WriteContext, disclosure_id: int, data: DisclosureEnd, if_match: int | None = None
) -> DisclosureRead:
    async with db.write_transaction():
        before = await _locked(disclosure_id, if_match)
        return await _end(ctx, before, data.ended_on, data.reason)


async def _end(ctx: WriteContext, before: DisclosureRead, ended_on: date, reason: str) -> DisclosureRead:
    if before.ended_reason is not None:
        raise conflict(f"Disclosure {before.id} already ended on {before.valid_to} ({before.ended_reason}).")
    if ended_on < before.valid_from:
        raise invalid(
            "ended_on", "date_order", f"must not be before the disclosure starts ({before.valid_from})"
        )
    if before.valid_to is not None and ended_on > before.valid_to:
        raise invalid("ended_on", "date_order", f"the disclosure already stops on {before.valid_to}")
    values = {**_columns(before), "valid_to": ended_on, "ended_reason": reason}
    return await _save(ctx, before, values, ChangeAction.end)


async def end_for_contract(ctx: WriteContext, contract: dict[str, Any]) -> None:
    """A terminated contract ends its open disclosures on the termination date (inside its transaction)."""
    day, reason = (
        contract["terminated_on"],
        f"contract {contract['id']} terminated: {contract['termination_reason']}",
    )
    rows = await Disclosure.select(Disclosure.id, Disclosure.valid_from).where(
        Disclosure.contract == contract["id"],
        Disclosure.ended_reason.is_null(),
        (Disclosure.valid_to.is_null()) | (Disclosure.valid_to > day),
    )
    starting_later = [r["id"] for r in rows if r["valid_from"] > day]
    if starting_later:
        raise conflict(
            f"Disclosures {', '.join(map(str, starting_later))} start after {day}; end or move them first.",
            conflicts=[{"type": "disclosure", "id": i} for i in starting_later],
        )
    for row in rows:
        await _end(ctx, await get_disclosure(row["id"]), day, reason)


async def check_contract_change(contract: dict[str, Any]) -> None:
    """409 if a contract's new state would no longer cover its contract-basis disclosures."""
    rows = await Disclosure.select(Disclosure.id, Disclosure.valid_from, Disclosure.valid_to).where(
        Disclosure.contract == contract["id"], Disclosure.basis == LegalBasis.contract.value
    )
    broken = [
        (r["id"], p) for r in rows if (p := rules.coverage_problem(contract, r["valid_from"], r["valid_to"]))
    ]
    if broken:
        raise conflict(
            "The change would leave contract-basis disclosures uncovered: "
            + "; ".join(f"disclosure {i}: {p}" for i, p in broken),
            conflicts=[{"type": "disclosure", "id": i, "problem": p} for i, p in broken],
        )


async def end_for_engagement(ctx: WriteContext, engagement_id: int, day: date, reason: str) -> None:
    """An ended sub-processor engagement ends the disclosures resting on it (inside its transaction)."""
    rows = await Disclosure.select(Disclosure.id, Disclosure.valid_from).where(
        Disclosure.engagement == engagement_id,
        Disclosure.ended_reason.is_null(),
        (Disclosure.valid_to.is_null()) | (Disclosure.valid_to > day),
    )
    starting_later = [r["id"] for r in rows if r["valid_from"] > day]
    if starting_later:
        raise conflict(
            f"Disclosures {', '.join(map(str, starting_later))} start after {day}; end or move them first.",
            conflicts=[{"type": "disclosure", "id": i} for i in starting_later],
        )
    for row in rows:
        await _end(ctx, await get_disclosure(row["id"]), day, reason)
