"""Files a person opens from the pages: a contract's signed document, downloaded with a session."""

import re
from urllib.parse import quote

from litestar import Controller, Request, Response, get

from registry import db
from registry.contracts import service as contracts
from registry.enums import Role
from registry.ui.pages import PAGE_ERRORS, bounded_id, signed_in


def attachment(filename: str, fallback: str) -> str:
    """A Content-Disposition that survives any name: an ASCII name, and the real one RFC 5987-encoded."""
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or fallback
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


class DocumentController(Controller):
    path = "/ui"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/contracts/{contract_id:int}/document")
    async def contract_document(self, request: Request, contract_id: int) -> Response:
        await signed_in(request, Role.viewer)
        contract_id = bounded_id(contract_id)
        async with db.read_session():
            stored = await contracts.get_document(contract_id)
        return Response(
            stored["data"],
            media_type=stored["content_type"],
            headers={
                "Content-Disposition": attachment(stored["filename"], f"contract-{contract_id}-document"),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
            },
        )
