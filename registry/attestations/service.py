"""Issuing, listing, revoking and verifying attestations. Rendering happens in the PDF pool."""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from registry import clock, db, words
from registry.attestations import chain
from registry.attestations.schemas import AttestationRead, Verification
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.deletions.rules import attestation_blockers, superseded
from registry.deletions.schemas import DeletionRead
from registry.deletions.service import get_deletion
from registry.deletions.subprocessor_rules import subprocessor_facts
from registry.enums import AttestationStatus, ChangeAction, TaxonomyKind
from registry.errors import conflict, not_found
from registry.files import store_file
from registry.settings import Settings
from registry.tables import Attestation, Contract, TaxonomyEntry, Vendor

Render = Callable[[dict], Awaitable[bytes]]
# A genuine attestation names one serial; a file naming more is looked up by its first few only
# (one IN list, far below SQLite's bound-parameter limit).
MAX_SERIAL_CANDIDATES = 20
# What a checked signature adds to a verdict (pades.SignatureReport without "valid").
SIGNATURE_FIELDS = (
    "signer",
    "signed_at",
    "timestamped",
    "timestamp_at",
    "timestamp_authority",
    "timestamp_valid",
    "validation_data_embedded",
)
_locks: dict[int, asyncio.Lock] = {}

STATEMENT = (
    "{controller} attests that {vendor} has reported the deletion of the personal data described above, "
    "which it received under the contract named above, and that the report was verified as stated. "
    "The registry recorded each report when it was received and has kept an unbroken, hash-chained "
    "history of these records."
)


def serial_for(obligation_id: int, issued_at: datetime) -> str:
    return f"PRA-{issued_at.year:04d}-{obligation_id:06d}"


def verification_url(settings: Settings, serial: str) -> str:
    return f"{settings.document_base_url}/attestations/{serial}/verify"


async def build_facts(deletion: DeletionRead, settings: Settings, issued_at: datetime) -> dict[str, Any]:
    vendor = await Vendor.select().where(Vendor.id == deletion.vendor_id).output(load_json=True).first()
    contract = await Contract.select().where(Contract.id == deletion.contract_id).first()
    names = {
        r["key"]: r["name"]
        for r in await TaxonomyEntry.select(TaxonomyEntry.key, TaxonomyEntry.name).where(
            TaxonomyEntry.kind == TaxonomyKind.data_category.value,
            TaxonomyEntry.key.is_in(deletion.categories or [""]),
        )
    }
    serial = serial_for(deletion.id, issued_at)
    completed_on = deletion.deadline.active_deleted_on

    def iso(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "serial": serial,
        "issued_at": issued_at.isoformat(),
        "controller": settings.organisation_name,
        "verification_url": verification_url(settings, serial),
        "vendor": {
            k: vendor[k]
            for k in ("id", "name", "legal_name", "kind", "country", "registered_address", "registration_ids")
        },
        "contract": {
            "id": contract["id"],
            "reference": contract["reference"],
            "title": contract["title"],
            "kind": contract["kind"],
            "signed_on": iso(contract["signed_on"]),
            "effective_from": iso(contract["effective_from"]),
            "expires_on": iso(contract["expires_on"]),
            "end_of_contract": contract["end_of_contract"],
            "deletion_deadline_days": contract["deletion_deadline_days"],
            "backups_covered": contract["backups_covered"],
            "minimum_sanitization": contract["minimum_sanitization"],
            "evidence_required": contract["evidence_required"],
        },
        "ended": {"how": deletion.end_kind, "on": iso(deletion.ended_on), "reason": deletion.end_reason},
        "obligation": {
            "id": deletion.id,
            "due_on": iso(deletion.due_on),
            "categories": [{"key": k, "name": names.get(k, k)} for k in deletion.categories],
            "data_subjects": deletion.data_subjects,
            "backups_in_scope": deletion.backups_in_scope,
        },
        "confirmations": _confirmation_facts(deletion),
        **subprocessor_facts(deletion, superseded(deletion.confirmations)),
        "completed_on": iso(completed_on),
        # Computed by registry/deletions/rules.py, as the API shows it: never typed in.
        "deadline_met": deletion.deadline.met,
        "deadline": deletion.deadline.model_dump(mode="json"),
        "statement": STATEMENT.format(controller=settings.organisation_name, vendor=vendor["name"]),
    }


def _confirmation_facts(deletion: DeletionRead) -> list[dict[str, Any]]:
    """The reports as recorded; one a later passed report replaced names it by its number (1-based)."""
    replaced = superseded(deletion.confirmations)
    number = {c.id: i for i, c in enumerate(deletion.confirmations, 1)}
    return [
        {
            **c.model_dump(mode="json", exclude={"id", "created_at", "created_by"}),
            "superseded_by": number[replaced[c.id]] if c.id in replaced else None,
        }
        for c in deletion.confirmations
    ]


def _select():
    return Attestation.select(
        *Attestation.all_columns(exclude=[Attestation.facts]),
        Attestation.vendor.name.as_alias("vendor_name"),
    )


def _read(row: dict[str, Any], settings: Settings, superseded_by: str | None = None) -> AttestationRead:
    return AttestationRead(
        id=row["id"],
        serial=row["serial"],
        obligation_id=row["obligation"],
        vendor_id=row["vendor"],
        vendor_name=row["vendor_name"],
        sha256=row["sha256"],
        issued_at=row["issued_at"],
        issued_by=row["issued_by"],
        status=AttestationStatus.revoked if row["revoked_at"] else AttestationStatus.valid,
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        revocation_reason=row["revocation_reason"],
        verification_url=verification_url(settings, row["serial"]),
        supersedes=row["supersedes"],
        superseded_by=superseded_by,
    )


async def _read_all(rows: list[dict[str, Any]], settings: Settings) -> list[AttestationRead]:
    """The rows as read, each naming the attestation that superseded it (one more query)."""
    later = await chain.successors([r["serial"] for r in rows])
    return [_read(r, settings, later.get(r["serial"])) for r in rows]


async def _existing(obligation_id: int) -> dict[str, Any] | None:
    """The obligation's standing attestation: revoked ones stay on record but do not count."""
    return (
        await _select()
        .where(Attestation.obligation == obligation_id, Attestation.revoked_at.is_null())
        .first()
    )


def _refuse_untrue(deletion: DeletionRead, settings: Settings) -> None:
    """409 listing every reason the deletion may not be attested (one errors[] entry each)."""
    blockers = attestation_blockers(deletion, settings.attestation_requires_evidence)
    if blockers:
        reasons = "; ".join(f"{e.field}: {e.message}" for e in blockers)
        raise conflict(f"Deletion {deletion.id} may not be attested: {reasons}", errors=blockers)


async def issue(
    ctx: WriteContext, obligation_id: int, settings: Settings, render: Render
) -> tuple[AttestationRead, bool]:
    """The obligation's attestation, issuing it if there is none; (attestation, newly issued)."""
    lock = _locks.setdefault(obligation_id, asyncio.Lock())
    async with lock:  # one render per obligation per worker; the unique index settles the rest
        async with db.read_session():  # SQLite: the reads share one connection
            if existing := await _existing(obligation_id):
                return _read(existing, settings), False
            deletion = await get_deletion(obligation_id)
            _refuse_untrue(deletion, settings)
            issued_at = clock.now().replace(microsecond=0)
            facts = await build_facts(deletion, settings, issued_at)
            await chain.link(facts, obligation_id, lambda serial: verification_url(settings, serial))
            facts["words"] = await words.for_attestation(facts)  # the worker has no database
        pdf = await render(facts)  # outside any transaction: rendering takes a while
        try:
            async with db.write_transaction():
                if existing := await _existing(obligation_id):
                    return _read(existing, settings), False
                stored = await store_file(
                    ctx, pdf, "application/pdf", f"{facts['serial']}.pdf", facts["serial"]
                )
                await Attestation.insert(
                    Attestation(
                        serial=facts["serial"],
                        obligation=obligation_id,
                        vendor=deletion.vendor_id,
                        pdf=stored.id,
                        sha256=stored.sha256,
                        facts=facts,
                        issued_at=issued_at,
                        issued_by=ctx.actor,
                        supersedes=(facts["supersedes"] or {}).get("serial"),
                    )
                )
                row = await _existing(obligation_id)
                await record_change(
                    ctx,
                    "attestation",
                    facts["serial"],
                    ChangeAction.issue,
                    None,
                    {**_read(row, settings).model_dump(mode="json"), "facts": facts},
                )
        except Exception as exc:
            # Another worker issued for this obligation meanwhile: the partial unique index refused ours.
            if not db.is_unique_violation(exc) or not (existing := await _existing(obligation_id)):
                raise
            return _read(existing, settings), False
    _locks.pop(obligation_id, None)
    return _read(row, settings), True


async def list_attestations(settings: Settings, vendor_id: int | None, limit: int, offset: int):
    query, count = _select(), Attestation.count()
    if vendor_id is not None:
        query, count = (
            query.where(Attestation.vendor == vendor_id),
            count.where(Attestation.vendor == vendor_id),
        )
    rows = await query.order_by(Attestation.id).limit(limit).offset(offset)
    return await _read_all(rows, settings), await count


async def get_attestation(serial: str, settings: Settings) -> AttestationRead:
    row = await _select().where(Attestation.serial == serial).first()
    if row is None:
        raise not_found("attestation", serial)
    return (await _read_all([row], settings))[0]


async def get_pdf(serial: str) -> bytes:
    row = (
        await Attestation.select(Attestation.pdf.data.as_alias("data"))
        .where(Attestation.serial == serial)
        .first()
    )
    if row is None:
        raise not_found("attestation", serial)
    return row["data"]


async def revoke(ctx: WriteContext, serial: str, reason: str, settings: Settings) -> AttestationRead:
    async with db.write_transaction():
        before = await get_attestation(serial, settings)
        if before.revoked_at:
            raise conflict(f"Attestation {serial} was already revoked on {before.revoked_at:%Y-%m-%d}.")
        await Attestation.update(
            {
                Attestation.revoked_at: clock.now(),
                Attestation.revoked_by: ctx.actor,
                Attestation.revocation_reason: reason,
            }
        ).where(Attestation.serial == serial)
        after = await get_attestation(serial, settings)
        await record_change(
            ctx,
            "attestation",
            serial,
            ChangeAction.revoke,
            before.model_dump(mode="json"),
            after.model_dump(mode="json"),
        )
    return after


def _verdict(
    row: dict[str, Any],
    status: AttestationStatus,
    detail: str,
    signature: dict | None = None,
    superseded_by: str | None = None,
) -> Verification:
    return Verification(
        status=status,
        serial=row["serial"],
        vendor=row["vendor_name"],
        issued_at=row["issued_at"],
        revoked_at=row["revoked_at"],
        detail=detail,
        supersedes=row["supersedes"],
        superseded_by=superseded_by,
        **{k: v for k, v in (signature or {}).items() if k in SIGNATURE_FIELDS},
    )


async def _revoked(row: dict[str, Any], signature: dict | None = None) -> Verification:
    """A revoked attestation's verdict, naming the one issued in its place if there is one."""
    successor = (await chain.successors([row["serial"]])).get(row["serial"])
    detail = f"Revoked: {row['revocation_reason']}"
    if successor:
        detail += f" Superseded by {successor}."
    return _verdict(row, AttestationStatus.revoked, detail, signature, successor)


async def verify_serial(serial: str) -> Verification:
    row = await _select().where(Attestation.serial == serial).first()
    if row is None:
        return Verification(
            status=AttestationStatus.unknown,
            serial=serial,
            detail="No attestation with this serial number was issued here.",
        )
    if row["revoked_at"]:
        return await _revoked(row)
    return _verdict(row, AttestationStatus.valid, "Issued here and not revoked.")


async def verify_pdf(
    pdf: bytes,
    check_signature: Callable[[bytes], Awaitable[dict]],
    serials_in: Callable[[bytes, int], list[str]],
) -> Verification:
    """valid / revoked: byte-identical to an issued PDF whose signature holds; tampered: it names a
    serial issued here (among the first MAX_SERIAL_CANDIDATES it names) but is not that PDF; unknown:
    nothing here matches it. At most two queries, whatever the file."""
    digest = hashlib.sha256(pdf).hexdigest()
    row = await _select().where(Attestation.sha256 == digest).first()
    if row is not None:
        signature = await check_signature(pdf)
        if not signature["valid"]:
            return _verdict(row, AttestationStatus.tampered, "The stored copy's signature does not verify.")
        if row["revoked_at"]:
            return await _revoked(row, signature)
        return _verdict(
            row,
            AttestationStatus.valid,
            "Identical to the attestation issued here; signature valid.",
            signature,
        )
    # One query whatever the file holds: a public caller must not buy one query per serial-like string.
    candidates = serials_in(pdf, MAX_SERIAL_CANDIDATES)
    if candidates:
        rows = await _select().where(Attestation.serial.is_in(candidates)).order_by(Attestation.serial)
        if rows:
            return _verdict(
                rows[0],
                AttestationStatus.tampered,
                "This file differs from the attestation issued under its serial number.",
            )
    return Verification(
        status=AttestationStatus.unknown, detail="This file matches no attestation issued here."
    )
