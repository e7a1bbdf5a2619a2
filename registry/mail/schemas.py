"""Mail at the edge: the outbox's messages as the API shows them (never their bodies), and a test."""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from registry.schemas import Schema


class MailState(StrEnum):
    """Where a message stands: waiting (for SMTP or its next try), sending (a worker holds it), sent,
    failed (out of attempts, or refused for good), superseded (never sent: what it
    was about was re-sent or closed)."""

    waiting = "waiting"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    superseded = "superseded"  # a link-carrying message made obsolete (request re-sent or closed)


class MailTest(Schema):
    """Where to send a test message."""

    to: str = Field(min_length=1, max_length=320, description="An e-mail address.")


class MailAttemptRead(Schema):
    """One try at sending: the SMTP server's reply code and text, or the error on the way."""

    attempted_at: datetime
    duration_ms: int
    code: int | None
    answer: str | None


class MailMessageRead(Schema):
    """One message of the outbox: recipients, state and the last SMTP answer; never its body."""

    id: int
    kind: str
    to: list[str]
    cc: list[str]
    subject: str
    state: MailState
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_answer: str | None = Field(description="The last try's SMTP reply (code and text) or error.")
    next_attempt_at: datetime | None = Field(
        description="When the next try is due; null once sent or failed."
    )
    about_type: str | None
    about_id: int | None
    attempt_log: list[MailAttemptRead] = Field(default_factory=list)


class MailTestQueued(Schema):
    """A test message written to the outbox; the worker sends it."""

    id: int
    state: MailState
    smtp_configured: bool
