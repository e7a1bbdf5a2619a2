"""An import run for an HTTP request, rolled back if its client leaves before the commit (the API's and
the web page's imports alike)."""

import logging
from typing import Any

from litestar import Request

from registry.auth import WriteContext
from registry.errors import client_closed
from registry.http import client_watch
from registry.imports import service

log = logging.getLogger("registry.imports")
# What the server would answer, were anyone listening (nginx's 499: the client closed the request).
CLIENT_GONE = client_closed("Nothing was imported.")


async def import_watched(
    request: Request, ctx: WriteContext, sheets: dict[str, list[list[Any]]], dry_run: bool
) -> service.ImportResult:
    """Import the sheets of a request whose body has been read; rolled back (499) if its client
    disconnects before the commit (the API's and the web page's imports alike)."""
    async with client_watch(request) as gone:
        try:
            return await service.import_sheets(ctx, sheets, dry_run, client_gone=gone.is_set)
        except service.ClientGone:
            # Nobody is left to tell: a client that gave up must not find the rows imported later.
            log.warning("import rolled back: client disconnected")
            raise CLIENT_GONE from None
