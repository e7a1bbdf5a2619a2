"""Files a person opens from the pages: a contract's signed document, downloaded with a session."""

from litestar import Controller, Request, Response, get

from registry import db
from registry.contracts import service as contracts
from registry.enums import Role
from registry.ui.pages import PAGE_ERRORS, attachment, bounded_id, signed_in


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
