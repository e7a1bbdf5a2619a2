"""Deletion obligations and the vendor's confirmations, at the edge."""

from datetime import date, datetime

from pydantic import Field

from registry.enums import (
    ConfirmationKind,
    DeletionStatus,
    EndOfContract,
    SanitizationMethod,
    SanitizationTechnique,
    VerificationOutcome,
)
from registry.schemas import Day, Id, Schema, text
from registry.taxonomy.schemas import TaxonomyKey

Line = text(200, min_length=1)


class Person(Schema):
    """Who did or checked the deletion."""

    name: Line
    title: Line
    organisation: Line


class Retained(Schema):
    """Data kept despite the deletion because a law requires it."""

    what: text(500, min_length=1)
    law: text(300, min_length=1)
    until: Day


class Remaining(Schema):
    """What a partial deletion left behind, and where."""

    what: text(500, min_length=1)
    where: text(500, min_length=1)


class ReturnRecord(Schema):
    """The data handed back before the deletion (contracts that say return-then-delete)."""

    returned_on: Day
    format: text(200, min_length=1) = Field(description="e.g. CSV export over SFTP, encrypted disk.")
    received_by: Line = Field(description="Who received it on our side (name and role).")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of what was returned.")


class SubprocessorDeletion(Schema):
    """What the vendor says of one of its sub-processors the obligation lists: did it delete too."""

    vendor_id: Id
    deleted: bool
    completed_on: Day | None = Field(default=None, description="Required when deleted.")
    note: text(1000) | None = Field(
        default=None, description="Required when not deleted: why, and what remains."
    )


class ListedSubprocessor(Schema):
    """A sub-processor of the processor on the day its contract ended (GDPR Art. 28(4))."""

    vendor_id: int
    vendor_name: str
    engagement_id: int


class ConfirmationCreate(Schema):
    """What the vendor reports (the fields of a NIST SP 800-88 certificate of sanitization)."""

    kind: ConfirmationKind = Field(
        default=ConfirmationKind.deletion,
        description="backup_follow_up: a later report that the backup copies are gone too.",
    )
    categories: list[TaxonomyKey] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Categories covered; left out: all of the obligation (an empty list is refused).",
    )
    performed_by: Person
    verified_by: Person
    method_category: SanitizationMethod
    technique: SanitizationTechnique
    tool: text(200) | None = None
    tool_version: text(100) | None = None
    systems: list[Line] = Field(min_length=1, max_length=50)
    environments: list[text(100, min_length=1)] = Field(default_factory=list, max_length=20)
    backups_handling: text(2000) | None = Field(
        default=None, description="Required when backups are in scope."
    )
    last_backup_expires_on: Day | None = Field(default=None, description="When the last backup copy expires.")
    subprocessors_covered: list[Line] = Field(default_factory=list, max_length=50)
    subprocessors: list[SubprocessorDeletion] = Field(
        default_factory=list,
        max_length=200,
        description="One answer for each sub-processor the obligation lists (a deletion report).",
    )
    retained: list[Retained] = Field(default_factory=list, max_length=20)
    completed_on: Day
    verification_method: text(1000, min_length=1)
    verification_result: text(1000, min_length=1)
    verification_outcome: VerificationOutcome = Field(
        description="What the verification found; only passed can be attested."
    )
    remaining: list[Remaining] = Field(
        default_factory=list, max_length=50, description="Required when the outcome is partial."
    )
    self_verification_reason: text(1000) | None = Field(
        default=None, description="Why the performer verified their own work (required to attest it)."
    )
    returned: ReturnRecord | None = Field(
        default=None, description="Required when the contract says return-then-delete."
    )


class DeadlineVerdict(Schema):
    """The deadline computed from the confirmations (registry/deletions/rules.py), never typed in."""

    met: bool = Field(description="Active copies and, in scope, the last backup copy gone by the due date.")
    due_on: date
    active_deleted_on: date
    active_days_late: int = Field(description="0 when on time.")
    backups_in_scope: bool
    last_backup_expires_on: date | None
    backups_days_late: int | None = Field(description="0 when on time; null when not in scope or not stated.")
    backups_gone_on: date | None = Field(
        description="When a passed backup follow-up said the copies are gone."
    )
    sentence: str = Field(description="What holds, in words, as the attestation prints it.")


class EvidenceRead(Schema):
    filename: str
    content_type: str
    size: int
    sha256: str


class PortalDeclaration(Schema):
    """Who declared a confirmation through the vendor portal, and who in the legal team accepted it.
    Only the portal's review writes it: a confirmation typed in through the API never has one."""

    name: str
    title: str
    organisation: str
    email: str
    declared_at: datetime
    accepted_by: str
    accepted_at: datetime


class ConfirmationRead(ConfirmationCreate):
    """A recorded confirmation."""

    id: int
    declared: PortalDeclaration | None = Field(
        default=None, description="Set when the vendor declared it through the portal and it was accepted."
    )
    categories: list[str]
    verification_outcome: VerificationOutcome | None = Field(
        description="null: recorded before the outcome was a field (not stated); never attested."
    )
    evidence: list[EvidenceRead]
    created_at: datetime
    created_by: str


class DeletionRead(Schema):
    """A deletion obligation, its status derived today."""

    id: int
    status: DeletionStatus
    vendor_id: int
    vendor_name: str
    contract_id: int
    contract_reference: str | None
    ended_on: date
    end_kind: str = Field(description="terminated or expired")
    end_reason: str | None
    due_on: date
    end_of_contract: EndOfContract
    backups_in_scope: bool
    minimum_sanitization: SanitizationMethod | None = Field(description="The contract's clause, if any.")
    evidence_required: bool = Field(description="The contract requires evidence files before attesting.")
    categories: list[str]
    data_subjects: list[str]
    subprocessors: list[ListedSubprocessor] = Field(
        default_factory=list, description="Sub-processors in force on the end day; each must answer."
    )
    covered_categories: list[str]
    missing_categories: list[str]
    confirmed_on: date | None
    confirmations: list[ConfirmationRead]
    deadline: DeadlineVerdict | None = Field(description="Computed once a deletion report is recorded.")
    attestation_serial: str | None
    created_at: datetime
