"""The supervision report at the edge."""

import datetime as dt
from enum import StrEnum

from pydantic import Field

from registry.schemas import Schema


class ItemKind(StrEnum):
    contract_expiring = "contract_expiring"
    deletion_overdue = "deletion_overdue"
    deletion_due = "deletion_due"
    backup_follow_up_missing = "backup_follow_up_missing"
    no_equivalent_confidentiality = "no_equivalent_confidentiality"
    consent_without_reference = "consent_without_reference"
    review_overdue = "review_overdue"
    contract_clauses_missing = "contract_clauses_missing"
    vendor_not_answering = "vendor_not_answering"
    vendor_cannot_be_asked = "vendor_cannot_be_asked"
    # registry.transfers.rules: the codes of its problems.
    transfer_without_mechanism = "transfer_without_mechanism"
    transfer_assessment_missing = "transfer_assessment_missing"
    transfer_assessment_overdue = "transfer_assessment_overdue"
    transfer_consent_missing = "transfer_consent_missing"
    transfer_filing_missing = "transfer_filing_missing"
    flow_down_gap = "flow_down_gap"


class Severity(StrEnum):
    """overdue: a duty is already late; gap: a rule is not met today; due_soon: act before ``date``."""

    overdue = "overdue"
    gap = "gap"
    due_soon = "due_soon"


class ReportItem(Schema):
    kind: ItemKind
    severity: Severity
    vendor_id: int
    vendor_name: str
    object_type: str = Field(description="vendor, contract, deletion or disclosure")
    object_id: int
    summary: str
    date: dt.date | None = Field(default=None, description="The date the item turns on (due, expiry).")
    days: int | None = Field(default=None, description="Days from today to ``date``; negative when late.")
    href: str = Field(description="The record in the API.")
    page: str = Field(description="The vendor's page in the web interface.")


class SupervisionReport(Schema):
    """Everything that needs attention on ``as_of``, most urgent first."""

    as_of: dt.date
    within: int
    review_months: int
    overdue: bool = Field(description="Something is already late (a deletion, a backup follow-up).")
    counts: dict[ItemKind, int]
    total: int = Field(description="Items in all; ``items`` holds the first ``limit`` of them.")
    items: list[ReportItem]
