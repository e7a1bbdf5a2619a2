"""The lookup page's answer downloaded as CSV, XLSX or PDF (registry/exports/lookup.py makes them)."""

from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from registry.enums import Role
from registry.errors import missing
from registry.exports import lookup as answer
from registry.ui.pages import PAGE_ERRORS, attachment, signed_in

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class LookupExportController(Controller):
    path = "/ui/lookup"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/export/{fmt:str}")
    async def export_answer(
        self,
        request: Request,
        fmt: str,
        category: str | None = None,
        as_of: str | None = None,
        from_: Annotated[str | None, Parameter(query="from")] = None,
        to: str | None = None,
    ) -> Response:
        await signed_in(request, Role.lookup)
        if fmt not in FORMATS:
            raise missing(f"There is no export as {fmt[:20]!r}: csv, xlsx or pdf.")
        question = answer.question_of(category, as_of, from_, to)
        settings, pool = request.app.state["settings"], request.app.state["pdf_pool"]
        body = await answer.export(question, fmt, settings.organisation_name, pool.run)
        return Response(
            body,
            media_type=FORMATS[fmt],
            # Who received what is confidential: no browser or proxy keeps a copy (as the pages).
            headers={
                "Content-Disposition": attachment(question.filename(fmt), f"lookup.{fmt}"),
                "Cache-Control": "no-store",
            },
        )
