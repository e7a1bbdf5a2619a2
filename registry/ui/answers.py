"""The lookup page's question (a category on a day, or over a period) and its answer as CSV, XLSX or PDF."""

import asyncio
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from registry import clock, db, words
from registry.enums import Role
from registry.errors import invalid, missing
from registry.exports import lookup as answer
from registry.exports.pdf import render_lookup
from registry.exports.service import MAX_PDF_ROWS
from registry.lookup import service as lookup
from registry.lookup.schemas import RecipientList
from registry.ui.documents import attachment
from registry.ui.pages import PAGE_ERRORS, signed_in

PAGE_ROWS = 1000  # disclosures a page shows
EXPORT_ROWS = 10_000  # and a CSV or XLSX file holds
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(field, "date", "The date must be written YYYY-MM-DD.") from None


def question_of(
    category: str | None, as_of: str | None, from_: str | None, to: str | None
) -> answer.Question:
    """The question the page's fields ask: a period when a first or last day is given, else a day
    (today when none). Raises RegistryError in words a person reads."""
    if not category:
        raise invalid("category", "required", "Choose a data category.")
    if from_ or to:
        if not (from_ and to):
            raise invalid("from" if not from_ else "to", "required", "Give both the first and the last day.")
        first, last = _day(from_, "from"), _day(to, "to")
        if last < first:
            raise invalid("to", "date_order", "The last day must not be before the first.")
        return answer.Question(category[:400], first, last)
    day = _day(as_of, "as_of") if as_of else clock.today()
    return answer.Question(category[:400], day, day)


async def answer_of(question: answer.Question, limit: int) -> RecipientList:
    async with db.read_session():
        return await lookup.recipients(
            [question.category], question.date_from, question.date_to, None, None, limit, 0
        )


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
        question = question_of(category, as_of, from_, to)
        result = await answer_of(question, MAX_PDF_ROWS + 1 if fmt == "pdf" else EXPORT_ROWS)
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
