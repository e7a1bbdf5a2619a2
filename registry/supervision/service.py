"""The supervision report: one read of everything that is late, close, or not as the rules require."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from registry import clock, db
from registry.contracts import conformance, rules
from registry.contracts.rules import vendor_status_sql
from registry.contracts.service import contract_facts
from registry.enums import (
    ConfirmationKind,
    JournalKind,
    JournalObject,
    LegalBasis,
    VendorStatus,
    VerificationOutcome,
)
from registry.supervision.schemas import ItemKind, ReportItem, Severity, SupervisionReport
from registry.supervision.subprocessors import flow_down_items
from registry.supervision.transfers import transfer_items
from registry.tables import (
    Contract,
    DeletionConfirmation,
    DeletionObligation,
    Disclosure,
    JournalEntry,
    Vendor,
)

DO = DeletionObligation
_ORDER = {Severity.overdue: 0, Severity.gap: 1, Severity.due_soon: 2}
# An item is "overdue" when a duty is late: these make `registry remind` exit non-zero.
OVERDUE_KINDS = (ItemKind.deletion_overdue, ItemKind.backup_follow_up_missing)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if it has fewer days)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _item(
    kind: ItemKind,
    severity: Severity,
    vendor: tuple[int, str],
    target: tuple[str, int, str],
    summary: str,
    day: date | None,
    today: date,
) -> ReportItem:
    object_type, object_id, href = target
    return ReportItem(
        kind=kind,
        severity=severity,
        vendor_id=vendor[0],
        vendor_name=vendor[1],
        object_type=object_type,
        object_id=object_id,
        summary=summary,
        date=day,
        days=(day - today).days if day else None,
        href=href,
        page=f"/ui/vendors/{vendor[0]}",
    )


async def _expiring_contracts(today: date, horizon: date) -> list[ReportItem]:
    in_force, args = rules.in_force_sql(today)
    rows = await Contract.select(
        Contract.id,
        Contract.title,
        Contract.vendor,
        Contract.vendor.name.as_alias("vendor_name"),
        Contract.ends_on,
    ).where(WhereRaw(in_force, *args), Contract.ends_on <= horizon)
    return [
        _item(
            ItemKind.contract_expiring,
            Severity.due_soon,
            (r["vendor"], r["vendor_name"]),
            ("contract", r["id"], f"/contracts/{r['id']}"),
            f"Contract “{r['title']}” ends on {r['ends_on']}.",
            r["ends_on"],
            today,
        )
        for r in rows
    ]


async def _deletions(today: date, horizon: date) -> list[ReportItem]:
    rows = await DO.select(
        DO.id,
        DO.vendor,
        DO.vendor.name.as_alias("vendor_name"),
        DO.due_on,
        DO.contract.title.as_alias("title"),
    ).where(DO.confirmed_on.is_null(), DO.due_on <= horizon)
    items = []
    for r in rows:
        late = r["due_on"] < today
        items.append(
            _item(
                ItemKind.deletion_overdue if late else ItemKind.deletion_due,
                Severity.overdue if late else Severity.due_soon,
                (r["vendor"], r["vendor_name"]),
                ("deletion", r["id"], f"/deletions/{r['id']}"),
                f"Deletion after “{r['title']}” {'was' if late else 'is'} due on {r['due_on']}"
                f"{' and is not confirmed' if late else ''}.",
                r["due_on"],
                today,
            )
        )
    return items


# Subqueries, not lists of ids: a list of thousands of parameters passes the engines' limits.
_BACKUP_OBLIGATIONS = "SELECT o.id FROM deletion_obligation o WHERE o.backups_in_scope = TRUE"


async def _backup_follow_ups(today: date) -> list[ReportItem]:
    """Deletions whose confirmed last backup expiry has passed with no later confirmation or review.

    A later confirmation counts only when its verification did not fail or stay partial: the item asks
    for a ``backup_follow_up`` confirmation that says the backups are gone."""
    obligations = await DO.select(DO.id, DO.vendor, DO.vendor.name.as_alias("vendor_name")).where(
        DO.backups_in_scope == True  # noqa: E712 (a Piccolo expression)
    )
    if not obligations:
        return []
    confirmations = (
        await DeletionConfirmation.select(
            DeletionConfirmation.obligation,
            DeletionConfirmation.completed_on,
            DeletionConfirmation.details,
            DeletionConfirmation.kind,
            DeletionConfirmation.verification_outcome,
        )
        .where(WhereRaw(f"deletion_confirmation.obligation IN ({_BACKUP_OBLIGATIONS})"))
        .output(load_json=True)
    )
    reviews = await JournalEntry.select(JournalEntry.object_id, JournalEntry.created_at).where(
        JournalEntry.object_type == JournalObject.deletion.value,
        JournalEntry.kind == JournalKind.review.value,
        WhereRaw(f"journal_entry.object_id IN ({_BACKUP_OBLIGATIONS})"),
    )
    expiry: dict[int, date] = {}
    latest: dict[int, date] = defaultdict(lambda: date.min)
    for c in confirmations:
        if c["verification_outcome"] not in (None, VerificationOutcome.passed.value):
            continue  # a failed report's expiry is not the backups' (its follow-up cannot be recorded)
        expires = _as_date(c["details"].get("last_backup_expires_on"))
        if expires and c["kind"] == ConfirmationKind.deletion.value:
            expiry[c["obligation"]] = max(expiry.get(c["obligation"], date.min), expires)
        latest[c["obligation"]] = max(latest[c["obligation"]], c["completed_on"])
    for r in reviews:
        latest[r["object_id"]] = max(latest[r["object_id"]], _as_datetime(r["created_at"]).date())
    items = []
    for o in obligations:
        expires = expiry.get(o["id"])
        if expires is None or expires >= today or latest[o["id"]] >= expires:
            continue
        items.append(
            _item(
                ItemKind.backup_follow_up_missing,
                Severity.overdue,
                (o["vendor"], o["vendor_name"]),
                ("deletion", o["id"], f"/deletions/{o['id']}"),
                f"The last backup copy was to expire on {expires}; no confirmation or review since says it did:"
                " record a backup_follow_up confirmation that the backups are gone.",
                expires,
                today,
            )
        )
    return items


_HOLDS_DATA = (
    "EXISTS (SELECT 1 FROM disclosure d WHERE d.vendor = vendor.id AND d.valid_from <= {}"
    " AND (d.valid_to IS NULL OR d.valid_to >= {}))"
)
# Disclosures a law requires (to a tax authority, say) come with no confidentiality contract.
_HOLDS_DATA_BY_CHOICE = _HOLDS_DATA.replace(
    "AND d.valid_from", "AND d.basis <> 'legal_obligation' AND d.valid_from"
)


async def _without_equivalent_confidentiality(today: date) -> list[ReportItem]:
    equivalent, args = rules.vendor_has_contract_sql(
        rules.in_force_sql(today, "c"), condition="c.confidentiality_equivalent = TRUE"
    )
    rows = await Vendor.select(Vendor.id, Vendor.name).where(
        WhereRaw(f"{_HOLDS_DATA_BY_CHOICE} AND NOT {equivalent}", today, today, *args)
    )
    return [
        _item(
            ItemKind.no_equivalent_confidentiality,
            Severity.gap,
            (r["id"], r["name"]),
            ("vendor", r["id"], f"/vendors/{r['id']}"),
            "Receives personal data today under no contract in force with confidentiality obligations "
            "equivalent to ours (policy §6.1).",
            None,
            today,
        )
        for r in rows
    ]


async def _consent_without_reference(today: date) -> list[ReportItem]:
    rows = await Disclosure.select(
        Disclosure.id,
        Disclosure.vendor,
        Disclosure.vendor.name.as_alias("vendor_name"),
        Disclosure.purpose,
        Disclosure.valid_from,
    ).where(
        Disclosure.basis == LegalBasis.consent.value,
        WhereRaw("(disclosure.consent_reference IS NULL OR TRIM(disclosure.consent_reference) = '')"),
        WhereRaw("(disclosure.valid_to IS NULL OR disclosure.valid_to >= {})", today),
    )
    return [
        _item(
            ItemKind.consent_without_reference,
            Severity.gap,
            (r["vendor"], r["vendor_name"]),
            ("disclosure", r["id"], f"/disclosures/{r['id']}"),
            f"Disclosure for {r['purpose']} rests on consent but names no consent record.",
            None,
            today,
        )
        for r in rows
    ]


async def _reviews_overdue(today: date, months: int, grace_days: int) -> list[ReportItem]:
    """Vendors that hold data (active, offboarding, or receiving data today under no contract) with
    no review recorded since the cut-off. A review of any of its records counts. A vendor never
    reviewed is due ``grace_days`` after it was added (not on the day it was added)."""
    active, active_args = vendor_status_sql(VendorStatus.active, today)
    leaving, leaving_args = vendor_status_sql(VendorStatus.offboarding, today)
    vendors = await Vendor.select(Vendor.id, Vendor.name, Vendor.created_at).where(
        WhereRaw(f"(({active}) OR ({leaving}) OR {_HOLDS_DATA})", *active_args, *leaving_args, today, today)
    )
    if not vendors:
        return []
    reviews = await JournalEntry.raw(
        "SELECT vendor, MAX(created_at) AS created_at FROM journal_entry WHERE kind = {} GROUP BY vendor",
        JournalKind.review.value,
    )
    last: dict[int, date] = {}
    for r in reviews:
        day = _as_datetime(r["created_at"]).date()
        last[r["vendor"]] = max(last.get(r["vendor"], day), day)
    cutoff = months_before(today, months)
    items = []
    for v in vendors:
        reviewed = last.get(v["id"])
        if reviewed is not None and reviewed > cutoff:
            continue
        first_due = _as_datetime(v["created_at"]).date() + timedelta(days=grace_days)
        if reviewed is None and first_due > today:
            continue  # new: its first review is not due yet
        summary = (
            f"Last reviewed on {reviewed}, more than {months} months ago."
            if reviewed
            else f"Never reviewed (first review due {first_due}): record a review in its journal."
        )
        items.append(
            _item(
                ItemKind.review_overdue,
                Severity.gap,
                (v["id"], v["name"]),
                ("vendor", v["id"], f"/vendors/{v['id']}"),
                summary,
                reviewed or first_due,
                today,
            )
        )
    return items


async def _clause_gaps(today: date) -> list[ReportItem]:
    """Vendors whose contracts in force, taken together, lack a clause the law or the policy requires.
    Four queries whatever the number of vendors: the vendors, their contracts in force, and those
    contracts' disclosures and vendors (what the clauses that turn on roles read)."""
    sql, args = conformance.vendor_gaps_sql(today)
    vendors = await Vendor.select(Vendor.id, Vendor.name).where(WhereRaw(sql, *args))
    if not vendors:
        return []
    gaps_of = f"SELECT vendor.id FROM vendor WHERE {sql}"
    in_force, in_force_args = rules.in_force_sql(today)
    contracts = await Contract.select().where(
        WhereRaw(f"contract.vendor IN ({gaps_of}) AND {in_force}", *args, *in_force_args)
    )
    facts = await contract_facts(contracts)
    present: dict[int, set[str]] = defaultdict(set)
    needed: dict[int, set[str]] = defaultdict(set)
    for contract in contracts:
        for clause, ok in conformance.evaluate(contract, facts[contract["id"]]):
            needed[contract["vendor"]].add(clause.id)
            if ok:
                present[contract["vendor"]].add(clause.id)
    items = []
    for v in vendors:
        missing = [c for c in conformance.CLAUSES if c.id in needed[v["id"]] - present[v["id"]]]
        items.append(
            _item(
                ItemKind.contract_clauses_missing,
                Severity.gap,
                (v["id"], v["name"]),
                ("vendor", v["id"], f"/vendors/{v['id']}/conformance"),
                f"Its contracts in force lack {len(missing)} of {len(needed[v['id']])} required clauses "
                f"({', '.join(dict.fromkeys(c.article for c in missing))}).",
                None,
                today,
            )
        )
    return items


_OPEN_REQUESTS = (
    "SELECT r.id, r.obligation, r.vendor, v.name AS vendor_name, r.state, r.due_on, r.created_at"
    " FROM vendor_request r JOIN vendor v ON v.id = r.vendor JOIN deletion_obligation o ON o.id = r.obligation"
    " WHERE o.confirmed_on IS NULL AND r.id = (SELECT MAX(x.id) FROM vendor_request x WHERE x.obligation = r.obligation)"
    " AND (r.state = 'cannot_be_asked' OR (r.state IN ('sent', 'opened', 'returned') AND r.due_on < {}))"
)


async def _vendor_requests(today: date) -> list[ReportItem]:
    """Vendors that were asked (registry/portal/) and have not answered by the due date, and vendors
    nobody can ask: no e-mail address."""
    items = []
    for r in await DO.raw(_OPEN_REQUESTS, today):
        due = _as_date(r["due_on"])
        asked = r["state"] != "cannot_be_asked"
        items.append(
            _item(
                ItemKind.vendor_not_answering if asked else ItemKind.vendor_cannot_be_asked,
                Severity.overdue if asked else Severity.gap,
                (r["vendor"], r["vendor_name"]),
                ("deletion", r["obligation"], f"/deletions/{r['obligation']}/requests"),
                f"Asked on {_as_date(r['created_at'])} to delete by {due}; no answer ({r['state']})."
                if asked
                else "Cannot be asked to delete: the vendor has no privacy contact or contact e-mail.",
                due,
                today,
            )
        )
    return items


async def supervision_report(
    within: int = 30, review_months: int = 12, limit: int | None = None, first_review_days: int = 30
) -> SupervisionReport:
    """The report; ``limit`` keeps the most urgent items (``counts`` always counts them all)."""
    today = clock.today()
    horizon = today + timedelta(days=within)
    items: list[ReportItem] = []
    async with db.read_session():
        items += await _deletions(today, horizon)
        items += await _backup_follow_ups(today)
        items += await _without_equivalent_confidentiality(today)
        items += await _consent_without_reference(today)
        items += await _clause_gaps(today)
        items += await transfer_items(today)
        items += await flow_down_items(today)
        items += await _reviews_overdue(today, review_months, first_review_days)
        items += await _expiring_contracts(today, horizon)
        items += await _vendor_requests(today)
    items.sort(key=lambda i: (_ORDER[i.severity], i.date or date.max, i.vendor_name.lower(), i.object_id))
    counts = {kind: 0 for kind in ItemKind}
    for item in items:
        counts[item.kind] += 1
    return SupervisionReport(
        as_of=today,
        within=within,
        review_months=review_months,
        overdue=any(counts[k] for k in OVERDUE_KINDS),
        counts=counts,
        total=len(items),
        items=items[:limit] if limit is not None else items,
    )


# Timed events `registry remind --emit` writes, once per thing and date (the dedupe key).
_TIMED = {
    ItemKind.deletion_overdue: "deletion.overdue",
    ItemKind.contract_expiring: "contract.expiring",
}


async def emit_due_events(report: SupervisionReport) -> int:
    """Write the events the report's overdue deletions and expiring contracts stand for, once each:
    running the reminder twice a day does not notify twice. Returns how many were new."""
    from registry.webhooks.events import enqueue

    emitted = 0
    async with db.write_transaction():
        for item in report.items:
            event_type = _TIMED.get(item.kind)
            if event_type is None:
                continue
            data = {
                "object_type": item.object_type,
                "object_id": str(item.object_id),
                "vendor_id": item.vendor_id,
                "vendor_name": item.vendor_name,
                "date": item.date.isoformat() if item.date else None,
                "summary": item.summary,
            }
            key = f"{event_type}:{item.object_id}:{item.date}"
            if await enqueue(event_type, item.object_type, item.object_id, data, dedupe_key=key):
                emitted += 1
    return emitted
