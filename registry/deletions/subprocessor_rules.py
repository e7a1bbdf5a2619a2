"""The sub-processors of a processor's deletion (GDPR Art. 28(4)): what a deletion report must answer
for each (422), when they block an attestation (409), and what the attestation says of each. One
definition used by the API, the staff's and the portal's forms and the attestation (via rules.py)."""

from typing import Any

from registry.deletions.schemas import ConfirmationCreate, DeletionRead
from registry.enums import ConfirmationKind
from registry.errors import FieldError


def subprocessor_errors(data: ConfirmationCreate, deletion: DeletionRead) -> list[FieldError]:
    """A deletion report answers for each listed sub-processor exactly once, and for no other
    (Art. 28(4): the processor answers for its sub-processors' deletion too)."""
    listed = {s.vendor_id: s.vendor_name for s in deletion.subprocessors}
    errors, seen = [], set()
    for i, answer in enumerate(data.subprocessors):
        at = f"subprocessors[{i}]."
        if answer.vendor_id not in listed:
            errors.append(
                FieldError(
                    at + "vendor_id",
                    "in_obligation",
                    f"vendor {answer.vendor_id} is not a listed sub-processor",
                )
            )
        elif answer.vendor_id in seen:
            errors.append(
                FieldError(at + "vendor_id", "once", f"{listed[answer.vendor_id]} is answered twice")
            )
        seen.add(answer.vendor_id)
        if answer.deleted and answer.completed_on is None:
            errors.append(FieldError(at + "completed_on", "required_when_deleted", "say when it deleted"))
        if answer.deleted and answer.completed_on and answer.completed_on < deletion.ended_on:
            errors.append(
                FieldError(
                    at + "completed_on",
                    "after_end",
                    f"must not be before the contract ended ({deletion.ended_on})",
                )
            )
        if answer.deleted and answer.completed_on and answer.completed_on > data.completed_on:
            # The report is made once everything it reports is done: a later day is a promise, and
            # the attestation would sign it as a fact.
            errors.append(
                FieldError(
                    at + "completed_on",
                    "not_after_report",
                    f"must not be after the report's own completion day ({data.completed_on})",
                )
            )
        if not answer.deleted and not answer.note:
            errors.append(FieldError(at + "note", "required_when_not_deleted", "say why, and what remains"))
    unanswered = [name for vid, name in listed.items() if vid not in seen]
    if unanswered:
        errors.append(
            FieldError(
                "subprocessors", "every_subprocessor", f"say whether each deleted: {', '.join(unanswered)}"
            )
        )
    return errors


def subprocessor_blockers(deletion: DeletionRead, replaced: dict[int, int]) -> list[FieldError]:
    """Nothing signed may be false: a listed sub-processor that did not delete, or of which the last
    deletion report says nothing, keeps the deletion from being attested."""
    reports = [
        c for c in deletion.confirmations if c.kind is ConfirmationKind.deletion and c.id not in replaced
    ]
    answers = {a.vendor_id: a for c in reports for a in c.subprocessors}  # the latest report decides
    errors = []
    for s in deletion.subprocessors:
        answer = answers.get(s.vendor_id)
        if answer is None:
            errors.append(
                FieldError("subprocessors", "answered", f"{s.vendor_name}: no report says whether it deleted")
            )
        elif not answer.deleted:
            errors.append(
                FieldError("subprocessors", "deleted", f"{s.vendor_name} did not delete: {answer.note}")
            )
    return errors


def subprocessor_facts(deletion: DeletionRead, replaced: dict[int, int]) -> dict[str, Any]:
    """Each listed sub-processor with what the latest deletion report says of it (only present when the
    obligation lists any; a deletion with one that did not delete is never attested: rules.py)."""
    if not deletion.subprocessors:
        return {}
    answers: dict[int, tuple[int, Any]] = {}
    for number, c in enumerate(deletion.confirmations, 1):
        if c.kind is ConfirmationKind.deletion and c.id not in replaced:
            answers.update({a.vendor_id: (number, a) for a in c.subprocessors})
    listed = []
    for s in deletion.subprocessors:
        report, answer = answers.get(s.vendor_id, (None, None))
        listed.append(
            {
                **s.model_dump(mode="json"),
                "deleted": bool(answer and answer.deleted),
                "completed_on": answer.completed_on.isoformat() if answer and answer.completed_on else None,
                "note": answer.note if answer else None,
                "report": report,
            }
        )
    names = {str(s.vendor_id): s.vendor_name for s in deletion.subprocessors}
    return {"subprocessors": listed, "subprocessor_names": names}
