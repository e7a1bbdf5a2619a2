"""Journal entries at the edge."""

from datetime import datetime

from pydantic import Field

from registry.enums import JournalKind, JournalObject
from registry.schemas import Id, Schema, text

NoteText = text(10_000, min_length=1)


class JournalCreate(Schema):
    """A note on one record. Entries are never changed or deleted: correct one with another."""

    object_type: JournalObject
    object_id: Id
    kind: JournalKind = JournalKind.info
    text: NoteText = Field(description="What was noticed, decided or found.")


class JournalRead(Schema):
    id: int
    object_type: JournalObject
    object_id: int
    vendor_id: int
    vendor_name: str
    kind: JournalKind
    text: str
    author: str
    created_at: datetime
