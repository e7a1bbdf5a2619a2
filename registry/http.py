"""Small HTTP helpers shared by controllers: ETags and If-Match, bounded bodies, file names, forms, and
watching for a client that left."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request, Response
from litestar.datastructures import FormMultiDict

from registry.errors import bad_request, precondition_failed, too_large

# No leading dot (so neither "." nor ".."), no slashes, no control characters.
FILENAME = r"^(?!\.)[^/\\\x00-\x1f\x7f]{1,255}$"
_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def versioned(record: Any, status_code: int = 200, location: str | None = None) -> Response:
    """``record`` (anything with a ``version``) with its ETag, and its Location when just created."""
    headers = {"ETag": etag(record.version)}
    if location:
        headers["Location"] = location
    return Response(record, status_code=status_code, headers=headers)


def if_match_version(request: Request) -> int | None:
    """The version an If-Match header asks for; None when the header is absent or ``*``."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header.strip())
    if not match:
        raise precondition_failed(f"If-Match {header!r} is not an ETag this API issued")
    return int(match.group(1))


async def read_form(request: Request) -> FormMultiDict:
    """The posted form; 400 when a field is not text in its part's charset (Litestar decodes each
    field with it and lets the UnicodeDecodeError, or the LookupError of an unknown charset, escape)."""
    try:
        return await request.form()
    except (LookupError, UnicodeError):
        raise bad_request(
            "body", "encoding", "a form field is not text in its declared charset (UTF-8 unless stated)"
        ) from None


@asynccontextmanager
async def client_watch(request: Request) -> AsyncIterator[asyncio.Event]:
    """An event set when the client disconnects. Call once the body has been read: the ASGI channel
    then carries nothing but ``http.disconnect`` (the server sends it when the connection closes)."""
    gone = asyncio.Event()

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.create_task(watch())
    try:
        yield gone
    finally:
        watcher.cancel()


async def read_bounded(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it passes ``limit`` bytes (not after buffering it)."""
    refused = too_large(f"The file is larger than the limit of {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise refused
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise refused
        chunks.append(chunk)
    return b"".join(chunks)


def stored_file(stored: dict[str, Any], filename: str) -> Response[bytes]:
    """A stored file (a StoredFile row) as a download under a fixed name, with its SHA-256; never
    sniffed into something the browser would run."""
    return Response(
        stored["data"],
        media_type=stored["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-SHA256": stored["sha256"],
            "X-Content-Type-Options": "nosniff",
        },
    )
