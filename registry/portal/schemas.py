"""Requests to vendors, their submissions and messages, at the edge (API and portal forms)."""

from datetime import date, datetime
from typing import Any

from pydantic import EmailStr, Field, field_validator

from registry.enums import RequestState, SubmissionKind, SubmissionState
from registry.schemas import Day, Schema, text

Line = text(200, min_length=1)


class Declaration(Schema):
    """Who declares a confirmation on the vendor's behalf, through the portal."""

    name: Line
    title: Line
    email: EmailStr = Field(max_length=320)
    on_behalf: bool = Field(description="The box 'I confirm this on behalf of <vendor>'; must be ticked.")

    @field_validator("on_behalf")
    @classmethod
    def _ticked(cls, value: bool) -> bool:
        if not value:
            raise ValueError("tick the box to confirm this on behalf of the vendor")
        return value


class ExtensionAsk(Schema):
    """A vendor asks for more time."""

    until: Day
    reason: text(2000, min_length=1)
    email: EmailStr = Field(max_length=320)


class Question(Schema):
    """A vendor's question to the legal team."""

    text: text(5000, min_length=1)
    email: EmailStr = Field(max_length=320)


class ReturnReasons(Schema):
    """Why the legal team sends a submission back to the vendor."""

    reasons: text(5000, min_length=1)


class SubmissionRead(Schema):
    """Something a vendor submitted through the portal, and its review."""

    id: int
    kind: SubmissionKind
    state: SubmissionState
    data: dict[str, Any]
    declaration: dict[str, Any] | None
    files: list[int] = Field(
        description="Stored evidence files (ids), attached to the confirmation on acceptance."
    )
    email: str
    client_address: str | None
    user_agent: str | None
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_reasons: str | None


class MessageRead(Schema):
    """An e-mail about a request, as the outbox keeps it."""

    id: int
    kind: str
    to: list[str]
    cc: list[str]
    subject: str
    state: str = Field(description="waiting, sending, sent, failed or superseded (re-sent or closed first)")
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_answer: str | None = Field(description="The SMTP server's last answer.")
    next_attempt_at: datetime | None


class RequestRead(Schema):
    """A request to a vendor to act and answer through the portal."""

    id: int
    obligation_id: int
    vendor_id: int
    kind: str
    state: RequestState = Field(description="overdue: past the due date with nothing submitted.")
    recipient: str | None = Field(description="Where the request was e-mailed; null: nobody to ask.")
    due_on: date
    opened_at: datetime | None
    submitted_at: datetime | None
    closed_at: datetime | None
    return_reasons: str | None
    created_at: datetime
    created_by: str
    reminders: list[str] = Field(description="Reminder steps queued so far, oldest first.")
    submissions: list[SubmissionRead]
    messages: list[MessageRead]
