"""The lookup page's answer downloaded as CSV, XLSX or PDF (registry/exports/lookup.py makes them)."""

import asyncio
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from registry import clock, words
from registry.enums import Role
from registry.errors import invalid, missing
from registry.exports import lookup as answer
from registry.exports.pdf import render_lookup
from registry.exports.service import MAX_PDF_ROWS
from registry.ui.pages import PAGE_ERRORS, attachment, signed_in

EXPORT_ROWS = 10_000  # disclosures a CSV or XLSX file holds
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
        result = await answer.answer_of(question, MAX_PDF_ROWS + 1 if fmt == "pdf" else EXPORT_ROWS)
        if fmt == "pdf" and result.total > MAX_PDF_ROWS:
            raise invalid(
                "category",
                "too_many_rows",
                f"{result.total} disclosures are too many for a PDF: export CSV or XLSX.",
            )
        names, now = await words.load(), clock.now()
        head, rows = answer.preamble(question, result, names, now), answer.rows_of(result, names)
        if fmt == "csv":
            body: bytes = answer.to_csv(head, rows).encode()
        elif fmt == "xlsx":
            body = await asyncio.to_thread(answer.to_xlsx, head, rows)
        else:
            context = answer.pdf_context(request.app.state["settings"].organisation_name, now, head, rows)
            body = await request.app.state["pdf_pool"].run(render_lookup, context)
        span = f"{question.date_from}" + (f"_{question.date_to}" if question.is_period else "")
        filename = f"lookup-{question.category}-{span}.{fmt}"
        return Response(
            body,
            media_type=FORMATS[fmt],
            headers={"Content-Disposition": attachment(filename, f"lookup.{fmt}")},
        )
