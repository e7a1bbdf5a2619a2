"""Lookup answers from the worker's in-memory index (registry.lookup.index), the same JSON as the SQL
answers of registry.lookup.service, which decides the check and groups the holdings for both paths.

Recipients filtered by purpose or basis are asked for rarely and still read the database (one read
session), as does every lookup when the index is off (``REGISTRY_LOOKUP_INDEX=false``: no keeper);
everything else reads no table but the taxonomy, which the taxonomy service keeps per head.
"""

import functools
import json
from datetime import date
from typing import Any

from registry import db
from registry.disclosures.schemas import DisclosureRead
from registry.enums import LegalBasis, TaxonomyKind
from registry.errors import invalid, not_found
from registry.head import observed_answers_head
from registry.lookup import service
from registry.lookup.index import DisclosureIndex, Held
from registry.lookup.keeper import IndexKeeper
from registry.lookup.schemas import (
    CheckRequest,
    CheckResult,
    ContractSummary,
    Recipient,
    RecipientList,
    VendorHoldings,
)
from registry.subprocessors.rules import chain
from registry.subprocessors.schemas import ChainLink
from registry.taxonomy.service import require_keys

_MOST_FRAGMENTS = 50_000  # about 25 MiB of JSON


def _summary(index: DisclosureIndex, contract_id: int | None) -> ContractSummary | None:
    contract = index.contracts.get(contract_id) if contract_id else None
    if contract is None:
        return None
    return ContractSummary(**{name: contract[name] for name in ContractSummary.model_fields})


def _recipient(index: DisclosureIndex, d: Held, matched: frozenset[str]) -> Recipient:
    name, kind, country = index.vendors[d.vendor]
    return Recipient(
        vendor_id=d.vendor,
        vendor_name=name,
        vendor_kind=kind,
        vendor_country=country,
        disclosure_id=d.id,
        categories=[c for c in d.categories if c in matched],
        purpose=d.purpose,
        basis=d.basis,
        role=d.role,
        contract=_summary(index, d.contract),
        consent_reference=d.consent_reference,
        valid_from=d.valid_from,
        valid_to=d.valid_to,
        country=d.country,
        chain=_chain(index, d.engagement),
    )


def _chain(index: DisclosureIndex, engagement_id: int | None) -> list[ChainLink] | None:
    if engagement_id is None:
        return None
    return [ChainLink(**link) for link in chain(engagement_id, index.engagements, _Names(index))]


class _Names:
    """Vendor names as the chain asks for them, straight from the index (no copy per recipient)."""

    def __init__(self, index: DisclosureIndex) -> None:
        self.vendors = index.vendors

    def get(self, vendor_id: int, default: str = "") -> str:
        vendor = self.vendors.get(vendor_id)
        return vendor[0] if vendor else default


def read(index: DisclosureIndex, d: Held) -> DisclosureRead:
    """The disclosure as the disclosure service reads it."""
    contract = index.contracts.get(d.contract) if d.contract else None
    # Unvalidated: the index holds each field in its read type (enums, dates), as validation leaves it.
    return DisclosureRead.model_construct(
        id=d.id,
        vendor_id=d.vendor,
        vendor_name=index.vendors[d.vendor][0],
        categories=list(d.categories),
        data_subjects=list(d.data_subjects),
        purpose=d.purpose,
        basis=d.basis,
        role=d.role,
        contract_id=d.contract,
        contract_reference=contract["reference"] if contract else None,
        consent_reference=d.consent_reference,
        legal_reference=d.legal_reference,
        country=d.country,
        origin=d.origin,
        valid_from=d.valid_from,
        valid_to=d.valid_to,
        ended_reason=d.ended_reason,
        notes=d.notes,
        engagement_id=d.engagement,
        version=d.version,
        created_at=d.created_at,
        updated_at=d.updated_at,
    )


async def _index(keeper: IndexKeeper) -> DisclosureIndex:
    return await keeper.at(observed_answers_head.get())


async def recipients(
    keeper: IndexKeeper | None,
    categories: list[str],
    date_from: date,
    date_to: date,
    purpose: str | None,
    basis: LegalBasis | None,
    limit: int = 1000,
    offset: int = 0,
) -> RecipientList | bytes:
    """As ``service.recipients``; from the index, already encoded as JSON."""
    if keeper is None or purpose is not None or basis is not None:
        async with db.read_session():
            return await service.recipients(categories, date_from, date_to, purpose, basis, limit, offset)
    if date_to < date_from:
        raise invalid("to", "date_order", "must not be before from")
    matched = await service.matching_categories(categories)
    index = await _index(keeper)
    asked = tuple(matched)
    total, page = index.recipients(asked, date_from, date_to, offset, limit)
    empty = RecipientList(
        categories=categories,
        matched_categories=matched,
        date_from=date_from,
        date_to=date_to,
        items=[],
        total=total,
        limit=limit,
        offset=offset,
    ).model_dump_json()
    # The list's JSON with each recipient's own JSON in its items: what pydantic writes for the whole,
    # without building and encoding a hundred models a request (test_lookup_index compares the two).
    before, after = empty.encode().split(b'"items":[]', 1)
    wanted = frozenset(matched)
    items = b",".join(_recipient_json(index, d, wanted) for d in page)
    return b"".join((before, b'"items":[', items, b"]", after))


def _recipient_json(index: DisclosureIndex, d: Held, wanted: frozenset[str]) -> bytes:
    """The recipient's JSON: pydantic's, made once per disclosure without the categories, which differ
    by question (keys of [a-z0-9_.], written as json would)."""
    parts = index.fragments.get(d.id)
    if parts is None:
        if len(index.fragments) >= _MOST_FRAGMENTS:
            index.fragments.clear()
        encoded = _recipient(index, d, frozenset()).model_dump_json().encode()
        parts = index.fragments[d.id] = tuple(encoded.split(b'"categories":[]', 1))
    hits = wanted.intersection(d.categories)  # in C; most recipients match one asked category
    if len(hits) == 1:
        matched = _quoted(next(iter(hits)))
    else:  # in the disclosure's order (its categories are unique: index.py)
        matched = b",".join([_quoted(c) for c in d.categories if c in wanted])
    return b"".join((parts[0], b'"categories":[', matched, b"]", parts[1]))


@functools.lru_cache(maxsize=4096)
def _quoted(key: str) -> bytes:
    """A category key as a JSON string (made once per key: a page writes a hundred lists of them)."""
    return json.dumps(key).encode()


def _vendor(index: DisclosureIndex, vendor_id: int, field: str | None = None) -> dict[str, Any]:
    vendor = index.vendors.get(vendor_id)
    if vendor is None:
        if field:
            raise invalid(field, "exists", f"vendor {vendor_id} does not exist")
        raise not_found("vendor", vendor_id)
    return {"id": vendor_id, "name": vendor[0]}


async def check(keeper: IndexKeeper | None, request: CheckRequest, today: date) -> CheckResult:
    """As ``service.check``."""
    if keeper is None:
        async with db.read_session():
            return await service.check(request, today)
    on = request.on or today
    index = await _index(keeper)
    vendor = _vendor(index, request.vendor, "vendor")
    categories = list(dict.fromkeys(request.categories))
    await require_keys(TaxonomyKind.data_category, categories, "categories", fresh=False)
    if request.purpose:
        await require_keys(TaxonomyKind.data_use, [request.purpose], "purpose", fresh=False)
    # Held has DisclosureRead's attributes that decide reads; only what the answer relies on is read.
    every = [d for d in index.of(vendor["id"]) if d.categories]
    contracts = {d.contract: index.contracts[d.contract] for d in every if d.contract}
    transfers = {d.id: index.transfers[d.id] for d in every if d.id in index.transfers}
    engagements = {
        d.engagement: index.engagement_terms[d.engagement]
        for d in every
        if d.engagement in index.engagement_terms
    }
    for terms in engagements.values():
        if terms["processor_contract"] in index.contracts:
            contracts[terms["processor_contract"]] = index.contracts[terms["processor_contract"]]
    return service.decide(
        request, on, vendor, categories, every, contracts, transfers, engagements, lambda d: read(index, d)
    )


async def vendor_holdings(keeper: IndexKeeper | None, vendor_id: int, as_of: date) -> VendorHoldings:
    """As ``service.vendor_holdings``."""
    if keeper is None:
        async with db.read_session():
            return await service.vendor_holdings(vendor_id, as_of)
    index = await _index(keeper)
    vendor = _vendor(index, vendor_id)
    disclosures = [
        read(index, d)
        for d in index.of(vendor_id)
        if d.valid_from <= as_of and (d.valid_to is None or d.valid_to >= as_of)
    ]
    contracts = [_summary(index, i) for i in sorted({d.contract_id for d in disclosures if d.contract_id})]
    return service.holdings(vendor_id, vendor["name"], as_of, disclosures, [c for c in contracts if c])
