"""Answers from validity dates, never from "now": who held what, when, and may we send it."""

from datetime import date
from typing import Any

from registry.contracts import rules
from registry.disclosures.service import read_many, select_disclosures, valid_on
from registry.enums import ContractStatus, LegalBasis, TaxonomyKind
from registry.errors import invalid, not_found
from registry.lookup.schemas import (
    CheckRequest,
    CheckResult,
    ContractSummary,
    HeldCategory,
    Recipient,
    RecipientList,
    VendorHoldings,
)
from registry.tables import Contract, Disclosure, DisclosureCategory, Vendor
from registry.taxonomy.service import keys_under, require_keys

DC = DisclosureCategory
_D = DC.disclosure
_RECIPIENT_COLUMNS = (
    DC.category,
    DC.valid_from,
    DC.valid_to,
    _D.id.as_alias("disclosure_id"),
    _D.purpose.as_alias("purpose"),
    _D.basis.as_alias("basis"),
    _D.consent_reference.as_alias("consent_reference"),
    _D.country.as_alias("country"),
    _D.vendor.id.as_alias("vendor_id"),
    _D.vendor.name.as_alias("vendor_name"),
    _D.vendor.kind.as_alias("vendor_kind"),
    _D.vendor.country.as_alias("vendor_country"),
    _D.contract.id.as_alias("contract_id"),
    _D.contract.reference.as_alias("contract_reference"),
    _D.contract.title.as_alias("contract_title"),
    _D.contract.kind.as_alias("contract_kind"),
    _D.contract.ends_on.as_alias("contract_ends_on"),
    _D.contract.confidentiality_equivalent.as_alias("contract_confidentiality_equivalent"),
)


def _ancestors(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


async def matching_categories(categories: list[str]) -> list[str]:
    """Each category, everything under it, and everything it is under (user.contact holds the e-mail)."""
    await require_keys(TaxonomyKind.data_category, categories, "category", fresh=False)
    matched: set[str] = set()
    for key in categories:
        matched.update(await keys_under(TaxonomyKind.data_category, key), _ancestors(key))
    return sorted(matched)


async def _purposes(purpose: str | None) -> list[str] | None:
    if purpose is None:
        return None
    await require_keys(TaxonomyKind.data_use, [purpose], "purpose", fresh=False)
    return await keys_under(TaxonomyKind.data_use, purpose)


def _summary(row: dict[str, Any], prefix: str = "contract_") -> ContractSummary | None:
    if row[f"{prefix}id"] is None:
        return None
    return ContractSummary(
        id=row[f"{prefix}id"],
        reference=row[f"{prefix}reference"],
        title=row[f"{prefix}title"],
        kind=row[f"{prefix}kind"],
        ends_on=row[f"{prefix}ends_on"],
        confidentiality_equivalent=row[f"{prefix}confidentiality_equivalent"],
    )


async def recipients(
    categories: list[str],
    date_from: date,
    date_to: date,
    purpose: str | None,
    basis: LegalBasis | None,
    limit: int = 1000,
    offset: int = 0,
) -> RecipientList:
    """Disclosures of the categories whose period overlaps [date_from, date_to] (one day for as_of),
    ordered by vendor id, then disclosure id; ``total`` counts them all, ``items`` holds one page."""
    if date_to < date_from:
        raise invalid("to", "date_order", "must not be before from")
    matched = await matching_categories(categories)
    where = [
        DC.category.is_in(matched),
        DC.valid_from <= date_to,
        (DC.valid_to.is_null()) | (DC.valid_to >= date_from),
    ]
    purposes = await _purposes(purpose)
    if purposes is not None:
        where.append(_D.purpose.is_in(purposes))
    if basis is not None:
        where.append(_D.basis == basis.value)
    # The database counts and pages the matching disclosures; only one page of rows comes back.
    total = await DC.count(distinct=[DC.disclosure]).where(*where)
    found = (
        await DC.select(DC.vendor, DC.disclosure)
        .where(*where)
        .distinct()
        .order_by(DC.vendor)
        .order_by(DC.disclosure)
        .limit(limit)
        .offset(offset)
    )
    page = [row["disclosure"] for row in found]
    rows = await DC.select(*_RECIPIENT_COLUMNS).where(DC.disclosure.is_in(page), *where) if page else []
    grouped: dict[int, Recipient] = {}
    for row in rows:
        item = grouped.get(row["disclosure_id"])
        if item is None:
            grouped[row["disclosure_id"]] = Recipient(
                **{k: row[k] for k in Recipient.model_fields if k in row and k != "categories"},
                categories=[row["category"]],
                contract=_summary(row),
            )
        else:
            item.categories.append(row["category"])
    items = [grouped[i] for i in page]
    for item in items:
        item.categories.sort()
    return RecipientList(
        categories=categories,
        matched_categories=matched,
        date_from=date_from,
        date_to=date_to,
        items=items,
        total=total,
        limit=limit,
        offset=offset,
    )


async def _contract_summaries(ids: set[int]) -> list[ContractSummary]:
    if not ids:
        return []
    rows = await Contract.select(
        Contract.id,
        Contract.reference,
        Contract.title,
        Contract.kind,
        Contract.ends_on,
        Contract.confidentiality_equivalent,
    ).where(Contract.id.is_in(sorted(ids)))
    return [ContractSummary(**row) for row in sorted(rows, key=lambda r: r["id"])]


async def _vendor(vendor_id: int, field: str | None = None) -> dict[str, Any]:
    row = await Vendor.select(Vendor.id, Vendor.name).where(Vendor.id == vendor_id).first()
    if row is None:
        if field:
            raise invalid(field, "exists", f"vendor {vendor_id} does not exist")
        raise not_found("vendor", vendor_id)
    return row


async def vendor_holdings(vendor_id: int, as_of: date) -> VendorHoldings:
    vendor = await _vendor(vendor_id)
    rows = (
        await select_disclosures()
        .where(Disclosure.vendor == vendor_id, *valid_on(as_of))
        .order_by(Disclosure.id)
    )
    disclosures = await read_many(rows)
    held: dict[str, HeldCategory] = {}
    for d in disclosures:
        for category in d.categories:
            entry = held.setdefault(
                category, HeldCategory(category=category, disclosure_ids=[], contract_ids=[])
            )
            entry.disclosure_ids.append(d.id)
            if d.contract_id and d.contract_id not in entry.contract_ids:
                entry.contract_ids.append(d.contract_id)
    return VendorHoldings(
        vendor_id=vendor_id,
        vendor_name=vendor["name"],
        as_of=as_of,
        categories=[held[k] for k in sorted(held)],
        disclosures=disclosures,
        contracts=await _contract_summaries({d.contract_id for d in disclosures if d.contract_id}),
    )


def _under(key: str, ancestor: str) -> bool:
    return key == ancestor or key.startswith(ancestor + ".")


async def check(request: CheckRequest, today: date) -> CheckResult:
    """Allowed when every category is covered, on that day, by a disclosure for that purpose whose
    contract (for basis contract) is in force with an equivalent confidentiality clause."""
    on = request.on or today
    vendor = await _vendor(request.vendor, "vendor")
    categories = list(dict.fromkeys(request.categories))
    await require_keys(TaxonomyKind.data_category, categories, "categories", fresh=False)
    if request.purpose:
        await require_keys(TaxonomyKind.data_use, [request.purpose], "purpose", fresh=False)
    rows = await select_disclosures().where(Disclosure.vendor == vendor["id"]).order_by(Disclosure.id)
    every = await read_many(rows)
    contracts = {
        c["id"]: c
        for c in await Contract.select().where(
            Contract.id.is_in([d.contract_id for d in every if d.contract_id] or [0])
        )
    }

    def usable(d) -> str | None:
        """Why disclosure d cannot be relied on for this request on ``on``, or None."""
        if d.valid_from > on:
            return f"disclosure {d.id} starts on {d.valid_from}"
        if d.valid_to is not None and d.valid_to < on:
            why = f" ({d.ended_reason})" if d.ended_reason else ""
            return f"disclosure {d.id} ended on {d.valid_to}{why}"
        if request.purpose and not _under(request.purpose, d.purpose):
            return f"disclosure {d.id} is for purpose {d.purpose}, not {request.purpose}"
        if d.basis is LegalBasis.contract:
            contract = contracts[d.contract_id]
            status = rules.contract_status(contract, on)
            if status is not ContractStatus.active:
                return f"contract {contract['id']} ({contract['reference'] or contract['title']}) is {status.value} on {on}"
            if not contract["confidentiality_equivalent"]:
                return f"contract {contract['id']} lacks an equivalent confidentiality clause"
        return None

    reasons, relied_on, allowed = [], {}, True
    for category in categories:
        relevant = [d for d in every if any(_under(category, held) for held in d.categories)]
        good = [d for d in relevant if usable(d) is None]
        if good:
            relied_on.update({d.id: d for d in good})
            ids = ", ".join(str(d.id) for d in good)
            reasons.append(f"{category}: covered by disclosure {ids} ({good[0].basis.value})")
            continue
        allowed = False
        if relevant:
            latest = max(relevant, key=lambda d: d.valid_from)
            reasons.append(f"{category}: not allowed: {usable(latest)}")
        else:
            reasons.append(f"{category}: not allowed: no disclosure of it to {vendor['name']} is recorded")
    used = sorted(relied_on.values(), key=lambda d: d.id)
    return CheckResult(
        allowed=allowed,
        vendor_id=vendor["id"],
        on=on,
        purpose=request.purpose,
        categories=categories,
        reasons=reasons,
        disclosures=used,
        contracts=await _contract_summaries({d.contract_id for d in used if d.contract_id}),
    )
