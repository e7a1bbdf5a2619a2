"""What a confirmation must say to be recorded, what a deletion must show to be attested, and the
deadline verdict: one definition each, used by the API, the pages, the PDF and the supervision report.

The NIST SP 800-88 Rev. 1 categories admit these techniques (docs/deletions.md explains the choice):
clear is logical (rewriting user-addressable storage), purge defeats laboratory recovery, destroy leaves
no medium. ``other`` is admitted by every category: the tool fields must then say what it was.
"""

from datetime import date

from registry.deletions.schemas import ConfirmationCreate, ConfirmationRead, DeadlineVerdict, DeletionRead
from registry.deletions.subprocessor_rules import subprocessor_blockers, subprocessor_errors
from registry.enums import (
    ConfirmationKind,
    DeletionStatus,
    EndOfContract,
    SanitizationMethod,
    SanitizationTechnique,
    VerificationOutcome,
)
from registry.errors import FieldError

M, T = SanitizationMethod, SanitizationTechnique
ADMITTED: dict[SanitizationMethod, frozenset[SanitizationTechnique]] = {
    M.clear: frozenset({T.logical_deletion, T.overwrite, T.return_then_delete, T.other}),
    M.purge: frozenset({T.overwrite, T.block_erase, T.cryptographic_erase, T.degaussing, T.other}),
    M.destroy: frozenset({T.physical_destruction, T.other}),
}


def covers(c: ConfirmationRead) -> bool:
    """A deletion report that closes its categories: a failed or partial one leaves them to do (an
    outcome not stated, on records older than the field, keeps the meaning it had when recorded)."""
    return c.kind is ConfirmationKind.deletion and c.verification_outcome in (
        None,
        VerificationOutcome.passed,
    )


def same_person(confirmation: ConfirmationCreate) -> bool:
    a, b = confirmation.performed_by, confirmation.verified_by
    return (a.name.casefold().split(), a.organisation.casefold().split()) == (
        b.name.casefold().split(),
        b.organisation.casefold().split(),
    )


def _method_errors(data: ConfirmationCreate, minimum: SanitizationMethod | None, prefix: str = ""):
    errors = []
    if data.technique not in ADMITTED[data.method_category]:
        admits = ", ".join(sorted(ADMITTED[data.method_category]))
        errors.append(
            FieldError(
                f"{prefix}technique",
                "admitted_by_method",
                f"{data.technique.value} is not a {data.method_category.value} technique (admitted: {admits})",
            )
        )
    if data.technique is T.other and not data.tool:
        errors.append(
            FieldError(
                f"{prefix}tool", "required_when_other", "technique other: name the tool or process used"
            )
        )
    if minimum is not None and data.method_category.strength < minimum.strength:
        errors.append(
            FieldError(
                f"{prefix}method_category",
                "minimum_sanitization",
                f"{data.method_category.value} is weaker than the contract's minimum, {minimum.value}",
            )
        )
    return errors


def confirmation_errors(data: ConfirmationCreate, deletion: DeletionRead, today: date) -> list[FieldError]:
    """Every way the confirmation contradicts itself or the obligation (a 422 names them all)."""
    errors = _method_errors(data, deletion.minimum_sanitization)
    outside = sorted(set(data.categories or []) - set(deletion.categories))
    if outside:
        errors.append(
            FieldError("categories", "in_obligation", f"not part of this obligation: {', '.join(outside)}")
        )
    if data.completed_on > today:
        errors.append(FieldError("completed_on", "not_future", "a deletion is confirmed once it is done"))
    if data.completed_on < deletion.ended_on:
        errors.append(
            FieldError(
                "completed_on", "after_end", f"must not be before the contract ended ({deletion.ended_on})"
            )
        )
    errors += _outcome_errors(data) + _claim_errors(data, deletion)
    if data.kind is ConfirmationKind.backup_follow_up:
        return errors + _follow_up_errors(data, deletion)
    return errors + _report_errors(data, deletion) + subprocessor_errors(data, deletion)


def _claim_errors(data: ConfirmationCreate, deletion: DeletionRead) -> list[FieldError]:
    """What the PDF would print and is not so: a reason for a self-verification that is not one, a
    backup copy that expired while the vendor still held the data under the contract."""
    errors = []
    if data.self_verification_reason and not same_person(data):
        errors.append(
            FieldError(
                "self_verification_reason",
                "only_when_self_verified",
                "performer and verifier are different people: there is no self-verification to explain",
            )
        )
    expires = data.last_backup_expires_on
    if expires is not None and expires < deletion.ended_on:
        errors.append(
            FieldError(
                "last_backup_expires_on",
                "after_end",
                f"backups were kept while the contract ran: not before it ended ({deletion.ended_on})",
            )
        )
    return errors


def _report_errors(data: ConfirmationCreate, deletion: DeletionRead) -> list[FieldError]:
    errors = []
    if deletion.backups_in_scope:
        for name in ("backups_handling", "last_backup_expires_on"):
            if getattr(data, name) is None:
                errors.append(
                    FieldError(name, "required", "the contract covers backups: say how they were handled")
                )
    if deletion.end_of_contract is EndOfContract.return_then_delete and data.returned is None:
        errors.append(
            FieldError("returned", "required", "the contract says return, then delete: record the return")
        )
    if data.returned and data.returned.returned_on > data.completed_on:
        errors.append(
            FieldError("returned.returned_on", "before_deletion", "the data is returned, then deleted")
        )
    return errors


def _outcome_errors(data: ConfirmationCreate) -> list[FieldError]:
    if data.verification_outcome is VerificationOutcome.partial and not data.remaining:
        return [
            FieldError("remaining", "required_when_partial", "a partial deletion says what remains and where")
        ]
    if data.verification_outcome is VerificationOutcome.passed and data.remaining:
        return [FieldError("remaining", "empty_when_passed", "a passed verification leaves nothing behind")]
    return []


def _follow_up_errors(data: ConfirmationCreate, deletion: DeletionRead) -> list[FieldError]:
    if not deletion.backups_in_scope:
        return [
            FieldError(
                "kind", "backups_in_scope", "the contract does not cover backups: nothing to follow up"
            )
        ]
    if deletion.confirmed_on is None:
        return [
            FieldError(
                "kind", "after_deletion", "record a passed deletion report before its backup follow-up"
            )
        ]
    if data.completed_on < deletion.confirmed_on:
        # The deletion report of that day said the backups would outlive it.
        return [
            FieldError(
                "completed_on",
                "after_deletion_report",
                f"a follow-up comes after the deletion report it follows up ({deletion.confirmed_on})",
            )
        ]
    return []


def attestation_blockers(deletion: DeletionRead, evidence_setting: bool) -> list[FieldError]:
    """Every reason the deletion may not be attested (a 409 lists them all); empty when it may."""
    errors = []
    if deletion.status is not DeletionStatus.confirmed:
        missing = ", ".join(deletion.missing_categories) or "none"
        errors.append(
            FieldError(
                "status",
                "confirmed",
                f"the deletion is {deletion.status.value}: only a confirmed deletion is attested"
                f" (categories without a passed report: {missing})",
            )
        )
    replaced = superseded(deletion.confirmations)
    for c in deletion.confirmations:
        if c.id not in replaced:  # the attestation rests on the later report, not on this one
            errors += _confirmation_blockers(c, deletion, evidence_setting)
    return errors + subprocessor_blockers(deletion, replaced)


def superseded(confirmations: list[ConfirmationRead]) -> dict[int, int]:
    """Each report that did not pass, mapped to the first later passed report of its kind covering all
    its categories: a vendor who redid a failed deletion reports it again, and the later report decides
    (the earlier one stays on record, and on the PDF as superseded)."""
    replaced = {}
    for i, c in enumerate(confirmations):
        if c.verification_outcome is VerificationOutcome.passed:
            continue
        later = next(
            (
                d
                for d in confirmations[i + 1 :]
                if d.kind is c.kind
                and d.verification_outcome is VerificationOutcome.passed
                and set(c.categories) <= set(d.categories)
            ),
            None,
        )
        if later is not None:
            replaced[c.id] = later.id
    return replaced


def _confirmation_blockers(c: ConfirmationRead, deletion: DeletionRead, evidence_setting: bool):
    at = f"confirmations[{c.id}]."
    errors = _method_errors(c, deletion.minimum_sanitization, at)
    if c.verification_outcome is None:
        errors.append(
            FieldError(at + "verification_outcome", "stated", "the verification outcome is not stated")
        )
    elif c.verification_outcome is not VerificationOutcome.passed:
        where = "; ".join(f"{r.what} ({r.where})" for r in c.remaining)
        message = f"verification {c.verification_outcome.value}: {c.verification_result}"
        errors.append(
            FieldError(
                at + "verification_outcome", "passed", message + (f"; remains: {where}" if where else "")
            )
        )
    if same_person(c) and not c.self_verification_reason:
        errors.append(
            FieldError(
                at + "self_verification_reason",
                "required_when_self_verified",
                "performer and verifier are the same person: record why",
            )
        )
    if (
        c.kind is ConfirmationKind.deletion
        and deletion.end_of_contract is EndOfContract.return_then_delete
        and c.returned is None
    ):
        errors.append(
            FieldError(
                at + "returned",
                "required",
                "the contract says return, then delete: the return is not recorded",
            )
        )
    if (evidence_setting or deletion.evidence_required) and not c.evidence:
        why = (
            "the contract requires evidence"
            if deletion.evidence_required
            else "this registry requires evidence"
        )
        errors.append(
            FieldError(at + "evidence", "evidence_required", f"{why}: upload at least one evidence file")
        )
    return errors


def deadline_verdict(deletion: DeletionRead) -> DeadlineVerdict | None:
    """Met only when the active copies were deleted, and in scope the last backup copy expires, by the due date.
    A superseded report says nothing any more: the later report that passed says when and until when."""
    replaced = superseded(deletion.confirmations)
    reports = [
        c for c in deletion.confirmations if c.kind is ConfirmationKind.deletion and c.id not in replaced
    ]
    if not reports:
        return None
    due = deletion.due_on
    deleted_on = max(c.completed_on for c in reports)
    active_late = max((deleted_on - due).days, 0)
    expiries = [c.last_backup_expires_on for c in reports]
    expires = max(expiries) if deletion.backups_in_scope and None not in expiries else None
    backups_late = max((expires - due).days, 0) if expires else None
    gone = [
        c.completed_on
        for c in deletion.confirmations
        if c.kind is ConfirmationKind.backup_follow_up
        and c.verification_outcome is VerificationOutcome.passed
    ]
    met = active_late == 0 and (not deletion.backups_in_scope or backups_late == 0)
    verdict = DeadlineVerdict(
        met=met,
        due_on=due,
        active_deleted_on=deleted_on,
        active_days_late=active_late,
        backups_in_scope=deletion.backups_in_scope,
        last_backup_expires_on=expires,
        backups_days_late=backups_late,
        backups_gone_on=max(gone) if gone else None,
        sentence="",
    )
    return verdict.model_copy(update={"sentence": _sentence(verdict)})


def _late(days: int) -> str:
    return "on time" if days == 0 else f"{days} day{'s' if days != 1 else ''} after the deadline"


def _sentence(v: DeadlineVerdict) -> str:
    parts = [f"active copies deleted on {v.active_deleted_on} ({_late(v.active_days_late)})"]
    if v.backups_in_scope and v.last_backup_expires_on is None:
        parts.append("when the last backup copy expires was not stated")
    elif v.backups_in_scope:
        parts.append(
            f"the last backup copy expires on {v.last_backup_expires_on}, {_late(v.backups_days_late)}"
        )
    head = f"Deadline {'met' if v.met else 'not met'} (due {v.due_on}): "
    tail = (
        f" The vendor confirmed on {v.backups_gone_on} that the backup copies are gone."
        if v.backups_gone_on
        else ""
    )
    return head + "; ".join(parts) + "." + tail
