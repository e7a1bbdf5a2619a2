"""Stored files (signed contracts, evidence, attestation PDFs): type checks by content, and storage
with the SHA-256, in the caller's transaction."""

import hashlib
from dataclasses import dataclass

from registry.auth import WriteContext
from registry.errors import invalid, unsupported
from registry.tables import StoredFile

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# What an uploaded file must start with for the media type it claims, and the extension it gets.
_SIGNATURES = {
    "application/pdf": (b"%PDF-", "pdf"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
    "image/jpeg": (b"\xff\xd8\xff", "jpg"),
    DOCX: (b"PK\x03\x04", "docx"),
}
UPLOAD_TYPES = tuple(_SIGNATURES)


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def check_upload(content: bytes, content_type: str) -> str:
    """The upload's media type, once its content is shown to be what it claims to be."""
    declared = media_type(content_type)
    if declared not in _SIGNATURES:
        raise unsupported(f"Content-Type must be one of: {', '.join(UPLOAD_TYPES)}.")
    if not content:
        raise invalid("body", "not_empty", "the file is empty")
    if not content.startswith(_SIGNATURES[declared][0]):
        raise unsupported(f"The file's content is not {declared}.")
    if declared == DOCX and b"word/" not in content[:65536]:
        raise unsupported("The ZIP file is not a Word (DOCX) document.")
    return declared


@dataclass(frozen=True)
class Stored:
    id: int
    sha256: str
    filename: str


async def store_file(
    ctx: WriteContext, content: bytes, media: str, filename: str | None, stem: str
) -> Stored:
    """Write the file (call inside a transaction); unnamed files are called ``<stem>.<ext>``."""
    digest = hashlib.sha256(content).hexdigest()
    name = filename or f"{stem}.{_SIGNATURES[media][1]}"
    inserted = await StoredFile.insert(
        StoredFile(
            sha256=digest,
            filename=name,
            content_type=media,
            size=len(content),
            data=content,
            created_by=ctx.actor,
        )
    ).returning(StoredFile.id)
    return Stored(inserted[0]["id"], digest, name)
