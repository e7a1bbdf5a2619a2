"""The change log at the edge."""

from datetime import datetime
from typing import Any

from pydantic import Field

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


class CheckpointProblem(Schema):
    """A checkpoint that is forged, missing from the database, or contradicted by the change log."""

    checkpoint: str = Field(
        description="'checkpoint <id>' (the database's) or 'file <name>' (the directory's)"
    )
    change_id: int | None
    problem: str


class RecordProblem(Schema):
    """A record whose current state no change explains (an edit, insert or delete made in SQL)."""

    object_type: str
    object_id: str
    problem: str = Field(description="What differs: the fields (never their values), or the row's absence")


class ChainVerification(Schema):
    """Whether the chain of change rows is intact from the first row to the head, and agrees with every
    signed checkpoint (the database's and the checkpoint directory's)."""

    ok: bool
    rows: int
    head: str
    first_bad_id: int | None
    problem: str | None
    chain_ok: bool = Field(
        description="The hash chain alone is intact (first_bad_id names its first bad row)"
    )
    checkpoints: int = Field(
        description="Distinct checkpoints with a valid signature, checked against the log"
    )
    checkpoint_files: int = Field(description="Checkpoint files read from the checkpoint directory")
    checkpoints_timestamped: int = Field(
        default=0, description="Distinct checkpoints whose RFC 3161 timestamp token holds"
    )
    checkpoint_problems: list[CheckpointProblem]
    records_checked: bool = Field(default=False, description="records=true was asked (and ok covers it)")
    record_problems: list[RecordProblem] = Field(default_factory=list)


class CheckpointRead(Schema):
    """The change log's head at one moment, signed with the registry's key (verify it with its certificate)."""

    id: int
    change_id: int
    change_hash: str
    rows: int
    created_at: datetime
    certificate_sha256: str
    algorithm: str
    content: str = Field(description="The exact JSON that was signed")
    signature: str = Field(description="Base64 of the detached signature over content (UTF-8)")
    timestamp_token: str | None = Field(
        default=None,
        description="Base64 of an RFC 3161 timestamp token over SHA-256 of the signature's bytes, when a "
        "timestamp authority is configured",
    )
    timestamped_at: datetime | None = Field(default=None, description="The time the token attests")
