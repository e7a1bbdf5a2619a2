"""Files held for a form's retry: a contract form refused for a wrong date keeps the signed document
already chosen, so the person does not choose it again. The file waits here (never in the browser:
a form cannot refill a file input), named in the form by a random handle that only its person can use,
and expires after HOLD_MINUTES; expired files are removed whenever another is held."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from registry import clock, db
from registry.tables import HeldUpload

HOLD_MINUTES = 60
PER_PERSON = 5  # files one person may have held at once; the oldest goes first


@dataclass(frozen=True)
class Held:
    """A held file: the handle the form carries, and what the page says about it."""

    handle: str
    filename: str
    size: int


def _hash(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


async def hold(person: str, content: bytes, content_type: str, filename: str) -> Held:
    """Keep the file for ``person``'s next try (the caller has checked its size and type)."""
    handle, now = secrets.token_urlsafe(24), clock.now()
    async with db.write_transaction():
        await HeldUpload.delete().where(HeldUpload.expires_at < now)
        kept = await (
            HeldUpload.select(HeldUpload.id)
            .where(HeldUpload.person == person)
            .order_by(HeldUpload.id, ascending=False)
            .limit(1000)  # SQLite takes OFFSET only after a LIMIT
            .offset(PER_PERSON - 1)
        )
        if kept:
            await HeldUpload.delete().where(HeldUpload.id.is_in([row["id"] for row in kept]))
        await HeldUpload.insert(
            HeldUpload(
                handle_hash=_hash(handle),
                person=person,
                filename=filename,
                content_type=content_type,
                size=len(content),
                data=content,
                expires_at=now + timedelta(minutes=HOLD_MINUTES),
            )
        )
    return Held(handle, filename, len(content))


async def find(person: str, handle: object) -> tuple[Held, bytes, str] | None:
    """The file held under ``handle`` for ``person`` and not expired: (what it is, content, type)."""
    if not isinstance(handle, str) or not 20 <= len(handle) <= 64:
        return None
    row = (
        await HeldUpload.select()
        .where(
            (HeldUpload.handle_hash == _hash(handle))
            & (HeldUpload.person == person)
            & (HeldUpload.expires_at >= clock.now())
        )
        .first()
    )
    if row is None:
        return None
    return Held(handle, row["filename"], row["size"]), bytes(row["data"]), row["content_type"]


async def release(handle: str) -> None:
    """The form was saved with the file: it is held no longer."""
    async with db.write_transaction():
        await HeldUpload.delete().where(HeldUpload.handle_hash == _hash(handle))
