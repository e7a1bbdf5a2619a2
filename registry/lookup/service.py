"""Answers from validity dates, never from "now": who held what, when, and may we send it."""

import functools
from collections.abc import Callable
from datetime import date
from typing import Any

from registry.contracts import rules
from registry.disclosures.schemas import DisclosureRead
from registry.disclosures.service import disclosures_of_vendor, read_many, select_disclosures, valid_on
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
from registry.subprocessors.reads import edges_and_names
from registry.subprocessors.rules import chain
from registry.subprocessors.schemas import ChainLink
from registry.tables import Contract, Disclosure, SubprocessorEngagement, Vendor
from registry.taxonomy.service import keys_under, require_keys
from registry.transfers import rules as transfer_rules
from registry.transfers.service import decision_data

# The recipients question in one round trip: the matching (vendor, disclosure) pairs come from the
# covering index on disclosure_category, the window count gives the total before LIMIT, and only the page
# is joined to its disclosure, vendor and contract. Hand-written because Piccolo spends longer building a
# joined select than the database takes to run it, and lookups are on every data transfer's path.
_RECIPIENTS = """
WITH hits AS (
  SELECT DISTINCT dc.vendor, dc.disclosure FROM disclosure_category dc{join}
  WHERE {match}
), page AS (
  SELECT vendor, disclosure, count(*) OVER () AS total FROM hits
  ORDER BY vendor, disclosure LIMIT {{}} OFFSET {{}}
)
SELECT page.total, dc.category, dc.valid_from, dc.valid_to, d.id AS disclosure_id, d.purpose, d.basis,
  d.consent_reference, d.country, d.role, d.engagement, v.id AS vendor_id, v.name AS vendor_name, v.kind AS vendor_kind,
  v.country AS vendor_country, c.id AS contract_id, c.reference AS contract_reference,
  c.title AS contract_title, c.kind AS contract_kind, c.ends_on AS contract_ends_on,
  c.confidentiality_equivalent AS contract_confidentiality_equivalent
FROM page
JOIN disclosure d ON d.id = page.disclosure
JOIN vendor v ON v.id = page.vendor
LEFT JOIN contract c ON c.id = d.contract
JOIN disclosure_category dc ON dc.disclosure = page.disclosure AND {row_match}
ORDER BY page.vendor, page.disclosure, dc.category
"""
_COUNT = (
    "SELECT count(*) AS total FROM (SELECT DISTINCT dc.disclosure FROM disclosure_category dc{join}"
    " WHERE {match}) AS hits"
)


def _placeholders(n: int) -> str:
    return ", ".join(["{}"] * n)


def _recipients_match(
    matched: list[str], date_from: date, date_to: date, purposes: list[str] | None, basis: LegalBasis | None
) -> tuple[str, str, str, list[Any]]:
    """(join, where, where on the page's own category rows, arguments of where)."""
    where = f"dc.category IN ({_placeholders(len(matched))}) AND dc.valid_from <= {{}}"
    where += " AND (dc.valid_to IS NULL OR dc.valid_to >= {})"
    row_match, args = where, [*matched, date_to, date_from]
    join = ""
    if purposes is not None or basis is not None:
        join = " JOIN disclosure fd ON fd.id = dc.disclosure"
    if purposes is not None:
        where += f" AND fd.purpose IN ({_placeholders(len(purposes))})"
        args += purposes
    if basis is not None:
        where += " AND fd.basis = {}"
        args.append(basis.value)
    return join, where, row_match, args


@functools.lru_cache(maxsize=4096)
def _holding(category: str) -> frozenset[str]:
    """The category and every one above it: a disclosure of any of them holds the category."""
    return frozenset((category, *_ancestors(category)))


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
    purposes = await _purposes(purpose)
    join, where, row_match, args = _recipients_match(matched, date_from, date_to, purposes, basis)
    sql = _RECIPIENTS.format(join=join, match=where, row_match=row_match)
    rows = await Disclosure.raw(sql, *args, limit, offset, *matched, date_to, date_from)
    items: list[Recipient] = []
    for row in rows:
        if not items or items[-1].disclosure_id != row["disclosure_id"]:
            items.append(
                Recipient(
                    **{k: row[k] for k in Recipient.model_fields if k in row and k != "categories"},
                    categories=[row["category"]],
                    contract=_summary(row),
                )
            )
        else:
            items[-1].categories.append(row["category"])
    if rows:
        total = rows[0]["total"]
    else:  # past the last page (or nothing matched): count on its own
        total = (await Disclosure.raw(_COUNT.format(join=join, match=where), *args))[0]["total"]
    await _with_chains(items, {row["disclosure_id"]: row["engagement"] for row in rows if row["engagement"]})
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


async def _with_chains(items: list[Recipient], engagement_of: dict[int, int]) -> None:
    """Each sub-processor's chain (the engagements are few: read them all once)."""
    if not engagement_of:
        return
    edges, names = await edges_and_names()
    for item in items:
        if item.disclosure_id in engagement_of:
            item.chain = [
                ChainLink(**link) for link in chain(engagement_of[item.disclosure_id], edges, names)
            ]


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
    contracts = await _contract_summaries({d.contract_id for d in disclosures if d.contract_id})
    return holdings(vendor_id, vendor["name"], as_of, disclosures, contracts)


def holdings(
    vendor_id: int,
    vendor_name: str,
    as_of: date,
    disclosures: list[DisclosureRead],
    contracts: list[ContractSummary],
) -> VendorHoldings:
    """What the vendor held on ``as_of``: its disclosures valid then (id order), by category."""
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
        vendor_name=vendor_name,
        as_of=as_of,
        categories=[held[k] for k in sorted(held)],
        disclosures=disclosures,
        contracts=contracts,
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
    every = await disclosures_of_vendor(vendor["id"])
    contract_ids = sorted({d.contract_id for d in every if d.contract_id})
    contracts = (
        {c["id"]: c for c in await Contract.select().where(Contract.id.is_in(contract_ids))}
        if contract_ids
        else {}
    )
    transfers = await decision_data([d.id for d in every])
    engagements = await engagement_terms({d.engagement_id for d in every if d.engagement_id})
    missing = sorted(
        {e["processor_contract"] for e in engagements.values() if e["processor_contract"]} - set(contracts)
    )
    if missing:
        contracts.update({c["id"]: c for c in await Contract.select().where(Contract.id.is_in(missing))})
    return decide(request, on, vendor, categories, every, contracts, transfers, engagements)


async def engagement_terms(ids: set[int]) -> dict[int, dict[str, Any]]:
    """What decides whether a sub-processor may still receive: its engagement's period, our
    objection, and the processor's contract with us (by engagement id)."""
    if not ids:
        return {}
    rows = await SubprocessorEngagement.select(
        SubprocessorEngagement.id,
        SubprocessorEngagement.valid_from,
        SubprocessorEngagement.valid_to,
        SubprocessorEngagement.objected_on,
        SubprocessorEngagement.processor_contract,
    ).where(SubprocessorEngagement.id.is_in(sorted(ids)))
    return {r["id"]: r for r in rows}


def _sub_processor_problem(d, on: date, engagement, contracts) -> str | None:
    """Why a sub-processor cannot receive on ``on`` through its engagement, or None."""
    if engagement is None:
        return f"disclosure {d.id}: its sub-processor engagement {d.engagement_id} is not recorded"
    objected = _day(engagement["objected_on"])
    if objected is not None and objected <= on:
        return f"disclosure {d.id}: we objected to sub-processor engagement {d.engagement_id} on {objected}"
    start, end = _day(engagement["valid_from"]), _day(engagement["valid_to"])
    if start > on or (end is not None and end < on):
        return f"disclosure {d.id}: sub-processor engagement {d.engagement_id} is not in force on {on}"
    contract = contracts.get(engagement["processor_contract"])
    if contract is not None:
        status = rules.contract_status(contract, on)
        if status is not ContractStatus.active:
            name = contract["reference"] or contract["title"]
            return f"disclosure {d.id}: the processor's contract {contract['id']} ({name}) is {status.value} on {on}"
    return None


def _day(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def decide(
    request: CheckRequest,
    on: date,
    vendor: dict[str, Any],
    categories: list[str],
    every: list[DisclosureRead],
    contracts: dict[int, dict[str, Any]],
    transfers: dict[int, dict[str, Any]],
    engagements: dict[int, dict[str, Any]] | None = None,
    read: Callable[[Any], DisclosureRead] | None = None,
) -> CheckResult:
    """The check's answer from the vendor's disclosures (with categories, id order), their contracts
    and their transfer records by disclosure id (the SQL path and the in-memory index both decide here).

    The disclosures are DisclosureReads, or anything with their attributes that ``read`` turns into one
    (the index's: only the disclosures the answer relies on are made into DisclosureReads)."""

    why: dict[int, str | None] = {}  # by disclosure: a disclosure of several asked categories is judged once

    def usable(d) -> str | None:
        if d.id not in why:
            why[d.id] = _unusable(d)
        return why[d.id]

    def _unusable(d) -> str | None:
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
        if d.engagement_id is not None:
            problem = _sub_processor_problem(d, on, (engagements or {}).get(d.engagement_id), contracts)
            if problem:
                return problem
        transfer = transfer_rules.blocking(d.origin, d.country, transfers.get(d.id), on)
        return f"disclosure {d.id}: {transfer}" if transfer else None

    reasons, relied_on, allowed = [], {}, True
    for category in categories:
        # A disclosure of the category or of one above it holds it (_under): user.contact holds the e-mail.
        holding = _holding(category)
        relevant = [d for d in every if not holding.isdisjoint(d.categories)]
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
    if read is not None:
        used = [read(d) for d in used]
    return CheckResult(
        allowed=allowed,
        vendor_id=vendor["id"],
        on=on,
        purpose=request.purpose,
        categories=categories,
        reasons=reasons,
        disclosures=used,
        contracts=[
            ContractSummary(**{k: contracts[i][k] for k in ContractSummary.model_fields})
            for i in sorted({d.contract_id for d in used if d.contract_id})
        ],
    )
