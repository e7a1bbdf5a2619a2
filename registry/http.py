"""Small HTTP helpers shared by controllers: ETags and If-Match, forms, and watching for a client that left."""

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Request
from litestar.datastructures import FormMultiDict

from registry.errors import bad_request, precondition_failed

_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def etag(version: int) -> str:
    return f'"{version}"'


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
