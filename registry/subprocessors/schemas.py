"""Sub-processor engagements at the edge: who engaged whom, under which authorisation and contract."""

from datetime import date, datetime

from pydantic import Field

from registry.enums import Authorisation
from registry.schemas import Day, Id, LongText, Schema, text


class EngagementCreate(Schema):
    """Our processor (the vendor in the path) engages another vendor as its sub-processor."""

    subprocessor_id: Id = Field(description="The vendor engaged as sub-processor.")
    authorisation: Authorisation = Field(
        description="specific: we authorised this sub-processor by name; general: we were told of it."
    )
    notified_on: Day | None = Field(
        default=None, description="general: the day the processor told us of it (required)."
    )
    objection_deadline: Day | None = Field(
        default=None, description="The last day we may object (general authorisation)."
    )
    valid_from: Day = Field(description="First day the sub-processor works for the processor.")
    valid_to: Day | None = Field(default=None, description="Last day, inclusive; omitted: open-ended.")
    flow_down_contract_id: Id | None = Field(
        default=None,
        description="The contract between processor and sub-processor (a contract whose vendor is the "
        "sub-processor); GDPR Art. 28(4) checks it imposes the processor's obligations.",
    )
    processor_contract_id: Id | None = Field(
        default=None, description="The processor's contract with us whose obligations flow down."
    )
    notes: LongText | None = None


class EngagementUpdate(Schema):
    """A partial change; the two vendors never change, ending and objecting have their own routes."""

    notified_on: Day | None = None
    objection_deadline: Day | None = None
    flow_down_contract_id: Id | None = None
    processor_contract_id: Id | None = None
    notes: LongText | None = None


class EngagementEnd(Schema):
    """The sub-processor stops working for the processor: its last day and why."""

    ended_on: Day
    reason: text(2000, min_length=1)


class Objection(Schema):
    """We object to a sub-processor (general authorisation), by the objection deadline."""

    objected_on: Day
    reason: text(2000, min_length=1)


class ChainLink(Schema):
    """One processor above a sub-processor, and the engagement by which it passed the data down."""

    vendor_id: int
    vendor_name: str
    engagement_id: int


class EngagementRead(Schema):
    """A sub-processor engagement as stored."""

    id: int
    engaged_by_id: int
    engaged_by_name: str
    subprocessor_id: int
    subprocessor_name: str
    authorisation: Authorisation
    notified_on: date | None
    objection_deadline: date | None
    objected_on: date | None
    objection_reason: str | None
    objected_by: str | None
    valid_from: date
    valid_to: date | None
    ended_reason: str | None
    flow_down_contract_id: int | None
    processor_contract_id: int | None
    notes: str | None
    chain: list[ChainLink] = Field(description="The processors from ours down to this sub-processor.")
    version: int
    created_at: datetime
    updated_at: datetime


class ChainNode(Schema):
    """A vendor in a processor's tree, with the sub-processors it engaged."""

    vendor_id: int
    vendor_name: str
    engagement: EngagementRead | None = Field(description="How it was engaged; null at the root.")
    subprocessors: list["ChainNode"]


class FlowDownConformance(Schema):
    """GDPR Art. 28(4): does the flow-down contract impose every obligation of the processor's
    contract with us (each clause the processor's contract has, the flow-down contract has too)."""

    engagement_id: int
    rule: str = Field(description="gdpr-28-4")
    article: str
    conforms: bool
    flow_down_contract_id: int | None
    processor_contract_id: int | None
    missing_clauses: list[str] = Field(description="Clause ids the flow-down contract lacks.")
    detail: str
