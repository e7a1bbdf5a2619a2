"""Deletion obligations and the vendor's confirmations, at the edge."""

from datetime import date, datetime

from pydantic import Field

from registry.enums import DeletionStatus, EndOfContract, SanitizationMethod, SanitizationTechnique
from registry.schemas import Day, Schema, text
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


class ConfirmationCreate(Schema):
    """What the vendor reports (the fields of a NIST SP 800-88 certificate of sanitization)."""

    categories: list[TaxonomyKey] | None = Field(
        default=None, max_length=200, description="Categories covered; default: all of the obligation."
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
    retained: list[Retained] = Field(default_factory=list, max_length=20)
    completed_on: Day
    verification_method: text(1000, min_length=1)
    verification_result: text(1000, min_length=1)


class EvidenceRead(Schema):
    filename: str
    content_type: str
    size: int
    sha256: str


class ConfirmationRead(ConfirmationCreate):
    """A recorded confirmation."""

    id: int
    categories: list[str]
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
    categories: list[str]
    data_subjects: list[str]
    covered_categories: list[str]
    missing_categories: list[str]
    confirmed_on: date | None
    confirmations: list[ConfirmationRead]
    attestation_serial: str | None
    created_at: datetime
