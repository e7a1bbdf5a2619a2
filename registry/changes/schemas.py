"""The change log at the edge."""

from datetime import datetime
from typing import Any

from registry.schemas import Schema


class ChangeRead(Schema):
    """One write to one record: who, when, what it was before and after."""

    id: int
    created_at: datetime
    object_type: str
    object_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    actor: str
    request_id: str | None
    message: str | None
    prev_hash: str
    hash: str


class ChainVerification(Schema):
    """Whether the chain of change rows is intact from the first row to the head."""

    ok: bool
    rows: int
    head: str
    first_bad_id: int | None
    problem: str | None
