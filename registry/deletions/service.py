"""Deletion obligations: opened when a contract ends, closed by the vendor's confirmations.

Termination opens the obligation at once; an expiry is noticed by `sync_obligations`, which every
read of /deletions runs and `registry deletions sync` runs from cron.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.columns.combination import WhereRaw

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.deletions.rules import confirmation_errors, covers, deadline_verdict
from registry.deletions.schemas import ConfirmationCreate, ConfirmationRead, DeletionRead, EvidenceRead
from registry.enums import ChangeAction, ConfirmationKind, DeletionStatus
from registry.errors import conflict, invalid, not_found, unprocessable
from registry.files import check_upload, store_file
from registry.tables import (
    Attestation,
    ConfirmationEvidence,
    Contract,
    DeletionConfirmation,
    DeletionObligation,
    Disclosure,
    DisclosureCategory,
    SubprocessorEngagement,
)

DO = DeletionObligation
_ATTESTED = "EXISTS (SELECT 1 FROM attestation a WHERE a.obligation = deletion_obligation.id AND a.revoked_at IS NULL)"
_PENDING = (
    "NOT EXISTS (SELECT 1 FROM deletion_obligation o WHERE o.contract = contract.id)"
    " AND contract.signed_on IS NOT NULL AND contract.effective_from IS NOT NULL"
    " AND (contract.terminated_on IS NOT NULL OR contract.ends_on < {})"
    " AND EXISTS (SELECT 1 FROM disclosure d WHERE d.contract = contract.id)"
)


def status_sql(status: DeletionStatus, day: date) -> tuple[str, list]:
    if status is DeletionStatus.attested:
        return _ATTESTED, []
    if status is DeletionStatus.confirmed:
        return f"deletion_obligation.confirmed_on IS NOT NULL AND NOT {_ATTESTED}", []
    compare = "<" if status is DeletionStatus.overdue else ">="
    return f"deletion_obligation.confirmed_on IS NULL AND deletion_obligation.due_on {compare} {{}}", [day]


async def open_obligation(ctx: WriteContext, contract: dict[str, Any]) -> None:
    """Open the obligation for an ended contract (inside the caller's transaction)."""
    disclosures = (
        await Disclosure.select(Disclosure.id, Disclosure.data_subjects)
        .where(Disclosure.contract == contract["id"])
        .output(load_json=True)
    )
    if not disclosures:
        return  # nothing was disclosed under it, so there is nothing to delete
    categories = await DisclosureCategory.select(DisclosureCategory.category).where(
        DisclosureCategory.disclosure.is_in([d["id"] for d in disclosures])
    )
    terminated = contract["terminated_on"] is not None and contract["terminated_on"] == contract["ends_on"]
    values = {
        "contract": contract["id"],
        "vendor": contract["vendor"],
        "ended_on": contract["ends_on"],
        "end_kind": "terminated" if terminated else "expired",
        "end_reason": contract["termination_reason"] if terminated else None,
        "due_on": contract["deletion_due_on"],
        "end_of_contract": contract["end_of_contract"],
        "backups_in_scope": contract["backups_covered"],
        "categories": sorted({c["category"] for c in categories}),
        "data_subjects": sorted({s for d in disclosures for s in d["data_subjects"]}),
        "subprocessors": await _subprocessors(contract["vendor"], contract["ends_on"]),
    }
    inserted = await DO.insert(DO(**values)).returning(DO.id)
    row = await DO.select().where(DO.id == inserted[0]["id"]).output(load_json=True).first()
    await record_change(ctx, "deletion_obligation", row["id"], ChangeAction.open, None, row)
    # Imported here: the portal's services read deletions through this module.
    from registry.portal.requests import open_request

    await open_request(ctx, row["id"])  # the vendor is asked in the same transaction


async def _subprocessors(vendor_id: int, day: date) -> list[dict[str, Any]]:
    """The processor's sub-processors engaged on the end day, and theirs, down the whole chain: each
    must delete too (Art. 28(4) binds every sub-processor to the same obligations)."""
    E = SubprocessorEngagement
    rows = (
        await E.select(E.id, E.engaged_by, E.subprocessor, E.subprocessor.name.as_alias("name"))
        .where(E.valid_from <= day, (E.valid_to.is_null()) | (E.valid_to >= day))
        .order_by(E.id)
    )
    below: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        below.setdefault(r["engaged_by"], []).append(r)
    listed: dict[int, dict[str, Any]] = {}
    frontier = [vendor_id]
    while frontier:  # breadth first: the processor's own sub-processors come first
        found = [r for v in frontier for r in below.get(v, []) if r["subprocessor"] not in listed]
        frontier = []
        for r in found:
            if r["subprocessor"] != vendor_id and r["subprocessor"] not in listed:
                listed[r["subprocessor"]] = {
                    "vendor_id": r["subprocessor"],
                    "vendor_name": r["name"],
                    "engagement_id": r["id"],
                }
                frontier.append(r["subprocessor"])
    return list(listed.values())


async def sync_obligations(ctx: WriteContext, today: date) -> int:
    """Open obligations for contracts that ended (expired) without anyone touching them."""
    pending = Contract.select(Contract.id).where(WhereRaw(_PENDING, today))
    if not await pending:
        return 0
    opened = 0
    async with db.write_transaction():
        for row in await Contract.select().where(WhereRaw(_PENDING, today)):
            await open_obligation(ctx, row)
            opened += 1
    return opened


async def open_expired(request_id: str | None = None) -> int:
    """Catch up: contracts that expired since anyone looked open their obligations, recorded as the
    system's. Whatever shows deletions or what is due runs this first."""
    return await sync_obligations(WriteContext("system", request_id, "contract expired"), clock.today())


@dataclass
class DeletionFilter:
    status: DeletionStatus | None = None
    vendor_id: int | None = None
    due_before: date | None = None
    limit: int = 50
    offset: int = 0


def _select():
    return DO.select(
        *DO.all_columns(),
        DO.vendor.name.as_alias("vendor_name"),
        DO.contract.reference.as_alias("contract_reference"),
        DO.contract.minimum_sanitization.as_alias("minimum_sanitization"),
        DO.contract.evidence_required.as_alias("evidence_required"),
    ).output(load_json=True)


async def list_deletions(f: DeletionFilter) -> tuple[list[DeletionRead], int]:
    day = clock.today()
    where: list = []
    if f.status:
        sql, args = status_sql(f.status, day)
        where.append(WhereRaw(sql, *args))
    if f.vendor_id is not None:
        where.append(DO.vendor == f.vendor_id)
    if f.due_before:
        where.append(DO.due_on < f.due_before)
    query, count = _select(), DO.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    rows = await query.order_by(DO.due_on).order_by(DO.id).limit(f.limit).offset(f.offset)
    return await _read_many(rows, day), await count


async def _read_many(rows: list[dict[str, Any]], day: date) -> list[DeletionRead]:
    ids = [r["id"] for r in rows] or [0]
    confirmations = await _confirmations(ids)
    attestations = {
        a["obligation"]: a["serial"]
        for a in await Attestation.select(Attestation.obligation, Attestation.serial).where(
            Attestation.obligation.is_in(ids), Attestation.revoked_at.is_null()
        )
    }
    result = []
    for row in rows:
        mine = confirmations.get(row["id"], [])
        covered = sorted(
            {c for confirmation in mine if covers(confirmation) for c in confirmation.categories}
        )
        serial = attestations.get(row["id"])
        if serial:
            status = DeletionStatus.attested
        elif row["confirmed_on"]:
            status = DeletionStatus.confirmed
        else:
            status = DeletionStatus.overdue if row["due_on"] < day else DeletionStatus.open
        read = DeletionRead(
            **{k: v for k, v in row.items() if k not in ("vendor", "contract", "version", "updated_at")},
            vendor_id=row["vendor"],
            contract_id=row["contract"],
            status=status,
            covered_categories=covered,
            missing_categories=sorted(set(row["categories"]) - set(covered)),
            confirmations=mine,
            deadline=None,
            attestation_serial=serial,
        )
        result.append(read.model_copy(update={"deadline": deadline_verdict(read)}))
    return result


async def _confirmations(obligation_ids: list[int]) -> dict[int, list[ConfirmationRead]]:
    rows = (
        await DeletionConfirmation.select()
        .where(DeletionConfirmation.obligation.is_in(obligation_ids))
        .order_by(DeletionConfirmation.id)
        .output(load_json=True)
    )
    evidence: dict[int, list[EvidenceRead]] = {}
    if rows:
        found = (
            await ConfirmationEvidence.select(
                ConfirmationEvidence.confirmation,
                ConfirmationEvidence.file.filename.as_alias("filename"),
                ConfirmationEvidence.file.content_type.as_alias("content_type"),
                ConfirmationEvidence.file.size.as_alias("size"),
                ConfirmationEvidence.file.sha256.as_alias("sha256"),
            )
            .where(ConfirmationEvidence.confirmation.is_in([r["id"] for r in rows]))
            .order_by(ConfirmationEvidence.id)
        )
        for item in found:
            evidence.setdefault(item.pop("confirmation"), []).append(EvidenceRead(**item))
    result: dict[int, list[ConfirmationRead]] = {}
    for row in rows:
        read = ConfirmationRead(
            **row["details"],
            id=row["id"],
            kind=row["kind"],
            verification_outcome=row["verification_outcome"],
            categories=row["categories"],
            completed_on=row["completed_on"],
            evidence=evidence.get(row["id"], []),
            created_at=row["created_at"],
            created_by=row["created_by"],
        )
        result.setdefault(row["obligation"], []).append(read)
    return result


async def get_deletion(obligation_id: int) -> DeletionRead:
    row = await _select().where(DO.id == obligation_id).first()
    if row is None:
        raise not_found("deletion obligation", obligation_id)
    return (await _read_many([row], clock.today()))[0]


async def add_confirmation(
    ctx: WriteContext,
    obligation_id: int,
    data: ConfirmationCreate,
    declared: dict[str, Any] | None = None,
    evidence_files: list[int] = (),  # type: ignore[assignment]
) -> DeletionRead:
    """Record a confirmation; ``declared`` and ``evidence_files`` come from an accepted portal submission."""
    async with db.write_transaction():
        before = await get_deletion(obligation_id)
        follow_up = data.kind is ConfirmationKind.backup_follow_up
        if before.status is DeletionStatus.attested and not follow_up:
            raise conflict(
                f"Deletion {obligation_id} is attested ({before.attestation_serial}); revoke it first."
            )
        categories = sorted(set(data.categories or before.categories))
        errors = confirmation_errors(data, before, clock.today())
        if errors:
            raise unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
        # kind and outcome are columns (a rule or a query reads them); the rest is the report as given.
        details = data.model_dump(
            mode="json", exclude={"categories", "completed_on", "kind", "verification_outcome"}
        )
        if declared:
            details["declared"] = declared
        inserted = await DeletionConfirmation.insert(
            DeletionConfirmation(
                obligation=obligation_id,
                categories=categories,
                details=details,
                completed_on=data.completed_on,
                kind=data.kind.value,
                verification_outcome=data.verification_outcome.value,
                created_by=ctx.actor,
            )
        ).returning(DeletionConfirmation.id)
        for file_id in evidence_files:
            await ConfirmationEvidence.insert(
                ConfirmationEvidence(confirmation=inserted[0]["id"], file=file_id)
            )
        await _update_coverage(obligation_id)
        after = await get_deletion(obligation_id)
        confirmation = next(c for c in after.confirmations if c.id == inserted[0]["id"])
        await record_change(
            ctx,
            "deletion_confirmation",
            confirmation.id,
            ChangeAction.create,
            None,
            {**confirmation.model_dump(mode="json"), "obligation": obligation_id},
        )
        if after.confirmed_on != before.confirmed_on:
            await record_change(
                ctx,
                "deletion_obligation",
                obligation_id,
                ChangeAction.confirm,
                before.model_dump(mode="json"),
                after.model_dump(mode="json"),
            )
    return after


async def _update_coverage(obligation_id: int) -> None:
    current = await get_deletion(obligation_id)
    if current.missing_categories:
        return
    confirmed_on = max(c.completed_on for c in current.confirmations if c.kind is ConfirmationKind.deletion)
    await DO.update({DO.confirmed_on: confirmed_on, DO.updated_at: clock.now()}, use_auto_update=False).where(
        DO.id == obligation_id
    )


async def add_evidence(
    ctx: WriteContext,
    obligation_id: int,
    confirmation_id: int,
    content: bytes,
    content_type: str,
    filename: str | None,
) -> DeletionRead:
    media = check_upload(content, content_type)
    async with db.write_transaction():
        row = (
            await DeletionConfirmation.select(DeletionConfirmation.id)
            .where(
                DeletionConfirmation.id == confirmation_id, DeletionConfirmation.obligation == obligation_id
            )
            .first()
        )
        if row is None:
            raise not_found(f"confirmation of deletion {obligation_id}", confirmation_id)
        stored = await store_file(ctx, content, media, filename, f"evidence-{confirmation_id}")
        await ConfirmationEvidence.insert(ConfirmationEvidence(confirmation=confirmation_id, file=stored.id))
        await record_change(
            ctx,
            "deletion_confirmation",
            confirmation_id,
            ChangeAction.upload,
            None,
            {"filename": stored.filename, "sha256": stored.sha256, "size": len(content)},
        )
    return await get_deletion(obligation_id)


async def extend_due(ctx: WriteContext, obligation_id: int, due_on: date, reason: str) -> DeletionRead:
    """Move the due date (an accepted extension); the reason goes to the change log."""
    async with db.write_transaction():
        before = await get_deletion(obligation_id)
        if due_on <= before.due_on:
            raise invalid("until", "after_due", f"must be after the current due date ({before.due_on})")
        await DO.update({DO.due_on: due_on, DO.updated_at: clock.now()}, use_auto_update=False).where(
            DO.id == obligation_id
        )
        after = await get_deletion(obligation_id)
        extended = WriteContext(ctx.actor, ctx.request_id, f"due date extended: {reason}"[:1000])
        await record_change(
            extended,
            "deletion_obligation",
            obligation_id,
            ChangeAction.extend,
            before.model_dump(mode="json"),
            after.model_dump(mode="json"),
        )
    return after
