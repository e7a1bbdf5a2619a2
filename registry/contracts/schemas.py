"""Contracts at the edge. The clauses the policy and the law need are fields, not only a file."""

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from registry.enums import ContractKind, ContractStatus, EndOfContract, SanitizationMethod
from registry.schemas import Day, Id, LongText, Schema, text


class _ContractFields(Schema):
    reference: text(100) | None = Field(default=None, description="Your reference; unique when set.")
    signed_on: Day | None = None
    effective_from: Day | None = None
    expires_on: Day | None = Field(default=None, description="Last day in force; none if open-ended.")
    governing_law: text(200) | None = None
    confidentiality_equivalent: bool = Field(
        default=False, description="Confidentiality obligations and measures equivalent to ours (§6.1)."
    )
    confidentiality_text: LongText | None = None
    security_measures: LongText | None = None
    end_of_contract: EndOfContract = Field(
        default=EndOfContract.delete, description="Delete, or return then delete (GDPR Art. 28(3)(g))."
    )
    deletion_deadline_days: int = Field(default=30, ge=0, le=3650)
    backups_covered: bool = Field(default=False, description="The deletion duty covers backups.")
    minimum_sanitization: SanitizationMethod | None = Field(
        default=None,
        description="The weakest NIST SP 800-88 category the vendor agreed to (clear < purge < destroy).",
    )
    evidence_required: bool = Field(
        default=False, description="Each deletion report needs an evidence file before it is attested."
    )
    subprocessing_requires_consent: bool = False
    audit_right: bool = False
    purposes: LongText | None = Field(default=None, description="Purposes of processing (PIPL Art. 21).")
    processing_period: text(2000) | None = None
    processing_method: text(2000) | None = Field(
        default=None, description="How the vendor processes the data (PIPL Art. 21)."
    )
    documented_instructions: bool = Field(
        default=False, description="Processes only on our documented instructions (GDPR Art. 28(3)(a))."
    )
    personnel_confidentiality: bool = Field(
        default=False, description="Its staff are bound to confidentiality (GDPR Art. 28(3)(b))."
    )
    assists_data_subject_rights: bool = Field(
        default=False, description="Helps us answer data subjects' requests (GDPR Art. 28(3)(e))."
    )
    assists_compliance: bool = Field(
        default=False,
        description="Helps with security, breach notification and impact assessments (GDPR Art. 28(3)(f)).",
    )
    joint_arrangement: bool = Field(
        default=False, description="Sets out joint controllers' responsibilities (GDPR Art. 26(1))."
    )
    joint_arrangement_essence: text(2000) | None = Field(
        default=None,
        description="Where the arrangement's essence is made available to data subjects (Art. 26(2)).",
    )
    notes: LongText | None = None


class ContractCreate(_ContractFields):
    """A new contract with a vendor."""

    vendor_id: Id
    kind: ContractKind
    title: text(300, min_length=1)


class ContractUpdate(_ContractFields):
    """A partial change; the vendor of a contract never changes, and termination has its own route."""

    kind: ContractKind | None = None
    title: text(300, min_length=1) | None = None
    confidentiality_equivalent: bool | None = None
    end_of_contract: EndOfContract | None = None
    deletion_deadline_days: int | None = Field(default=None, ge=0, le=3650)
    backups_covered: bool | None = None
    evidence_required: bool | None = None
    subprocessing_requires_consent: bool | None = None
    audit_right: bool | None = None
    documented_instructions: bool | None = None
    personnel_confidentiality: bool | None = None
    assists_data_subject_rights: bool | None = None
    assists_compliance: bool | None = None
    joint_arrangement: bool | None = None


class ContractTermination(Schema):
    """Ending a contract early: the last day in force and why."""

    terminated_on: Day
    reason: text(2000, min_length=1)


class DocumentRead(Schema):
    """The signed contract file as stored."""

    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str


class ContractRead(_ContractFields):
    """A contract as stored, with its status and end derived from its dates today."""

    id: int
    vendor_id: int
    kind: ContractKind
    title: str
    status: ContractStatus
    terminated_on: date | None
    termination_reason: str | None
    ends_on: date | None = Field(description="The earlier of expiry and termination: the last day in force.")
    deletion_due_on: date | None = Field(description="ends_on + deletion_deadline_days.")
    document: DocumentRead | None
    version: int
    created_at: datetime
    updated_at: datetime


class ClauseCheck(Schema):
    """One clause the law or the policy requires, and whether the contract records it."""

    id: str = Field(description="Stable id, e.g. gdpr-28-3-a.")
    framework: Literal["gdpr", "pipl", "policy"]
    article: str
    requirement: str
    present: bool
    fields: list[str] = Field(description="The contract fields that record this clause.")


class DeletionTerm(Schema):
    """A deletion clause the registry enforces when present but no law requires: shown, not counted."""

    id: str
    requirement: str
    present: bool
    fields: list[str]


class ContractConformance(Schema):
    """Which required clauses a contract has and which it lacks."""

    contract_id: int
    vendor_id: int
    title: str
    status: ContractStatus
    conforms: bool
    present: int
    missing: int
    clauses: list[ClauseCheck]
    deletion_terms: list[DeletionTerm] = Field(
        description="Optional clauses (minimum sanitization, evidence) that bind the vendor's deletion reports."
    )


class VendorConformance(Schema):
    """A vendor's contracts against the required clauses. The vendor conforms when its contracts in
    force together have every clause (an MSA and its DPA count as one legal act); drafts and ended
    contracts are listed with their own results but do not bind the vendor today."""

    vendor_id: int
    vendor_name: str
    in_force_contracts: int
    conforms: bool
    required_clauses: list[str] = Field(
        description="Ids of the clauses its contracts in force need, by the roles of their disclosures "
        "(all of them when none is in force)."
    )
    missing_clauses: list[str] = Field(
        description="Ids of clauses none of its contracts in force has (all of them when none is in force)."
    )
    contracts: list[ContractConformance]
