"""The lookup page's question (a category on a day, or on any day of a period), its answer, and that
answer as a file a person keeps: CSV, XLSX or a PDF report, each printing the question and the day or
period it was asked about. Cells go through the CSV neutraliser (no formula runs on open)."""

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from registry import clock, db
from registry.errors import invalid
from registry.exports.service import MAX_PDF_ROWS, safe_cell
from registry.lookup import service as lookup
from registry.lookup.schemas import RecipientList
from registry.words import Words, day, humane
from registry.words import load as load_words

EXPORT_ROWS = 10_000  # disclosures a CSV or XLSX file holds (a PDF: MAX_PDF_ROWS)
COLUMNS = [
    "Vendor",
    "Vendor kind",
    "Data categories",
    "Purpose",
    "Basis",
    "Contract",
    "Contract reference",
    "Valid from",
    "Valid to",
    "Country",
]


@dataclass(frozen=True)
class Question:
    """Who received a category of data on a day, or on any day of a period."""

    category: str
    date_from: date
    date_to: date

    @property
    def is_period(self) -> bool:
        return self.date_from != self.date_to

    def when(self) -> str:
        if self.is_period:
            return f"between {day(self.date_from)} and {day(self.date_to)} (any day of it)"
        return f"on {day(self.date_from)}"

    def filename(self, suffix: str) -> str:
        span = f"{self.date_from}" + (f"_{self.date_to}" if self.is_period else "")
        return f"lookup-{self.category}-{span}.{suffix}"

    def asked(self, words: Words) -> str:
        return f"Who received {words('data_category', self.category)} ({self.category}) {self.when()}?"


def rows_of(result: RecipientList, words: Words) -> list[list[str]]:
    """One row per disclosure, in words (the categories' keys after their names)."""
    rows = []
    for r in result.items:
        categories = ", ".join(f"{words('data_category', c)} ({c})" for c in r.categories)
        contract = r.contract
        rows.append(
            [
                r.vendor_name,
                words("vendor_kind", r.vendor_kind),
                categories,
                words("data_use", r.purpose),
                humane(r.basis.value),
                contract.title if contract else (r.consent_reference or ""),
                (contract.reference or "") if contract else "",
                r.valid_from.isoformat(),
                r.valid_to.isoformat() if r.valid_to else "open-ended",
                r.country,
            ]
        )
    return rows


def preamble(
    question: Question, result: RecipientList, words: Words, generated_at: datetime
) -> list[list[str]]:
    shown = (
        f"{len(result.items)} of {result.total}" if result.total > len(result.items) else str(result.total)
    )
    return [
        ["Question", question.asked(words)],
        ["Period" if question.is_period else "As of", question.when()],
        [
            "Answer",
            f"{shown} recipient disclosure(s), as the register stood at {generated_at:%Y-%m-%d %H:%M} UTC",
        ],
    ]


def to_csv(head: list[list[str]], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    for line in [*head, [], COLUMNS, *rows]:
        writer.writerow([safe_cell(cell) for cell in line])
    return out.getvalue()


def to_xlsx(head: list[list[str]], rows: list[list[str]]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    book = xlsxwriter.Workbook(out, options)
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("answer")
    for r, (label, text) in enumerate(head):
        sheet.write_string(r, 0, label, bold)
        sheet.write_string(r, 1, text)
    start = len(head) + 1
    sheet.write_row(start, 0, COLUMNS, bold)
    for r, row in enumerate(rows, start=start + 1):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    sheet.freeze_panes(start + 1, 0)
    book.close()
    return out.getvalue()


def pdf_context(
    controller: str, generated_at: datetime, head: list[list[str]], rows: list[list[str]]
) -> dict:
    """What the PDF template needs: plain data, picklable for the worker process."""
    return {
        "controller": controller,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "head": head,
        "columns": COLUMNS,
        "rows": rows,
    }


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(field, "date", "The date must be written YYYY-MM-DD.") from None


def question_of(category: str | None, as_of: str | None, from_: str | None, to: str | None) -> Question:
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
        return Question(category[:400], first, last)
    day = _day(as_of, "as_of") if as_of else clock.today()
    return Question(category[:400], day, day)


async def answer_of(question: Question, limit: int) -> RecipientList:
    """The first ``limit`` disclosures that answer it (``total`` counts them all)."""
    async with db.read_session():
        return await lookup.recipients(
            [question.category], question.date_from, question.date_to, None, None, limit, 0
        )


# Rendered in the PDF workers, named so that the API process never imports WeasyPrint (attestations/pool.py).
RENDER_LOOKUP = "registry.exports.pdf:render_lookup"


async def export(question: Question, fmt: str, controller: str, run: Callable[..., Awaitable[Any]]) -> bytes:
    """The answer as a csv, xlsx or pdf file; ``run`` runs the PDF rendering in the PDF pool."""
    result = await answer_of(question, MAX_PDF_ROWS + 1 if fmt == "pdf" else EXPORT_ROWS)
    if fmt == "pdf" and result.total > MAX_PDF_ROWS:
        detail = f"{result.total} disclosures are too many for a PDF: export CSV or XLSX."
        raise invalid("category", "too_many_rows", detail)
    names, now = await load_words(), clock.now()
    head, rows = preamble(question, result, names, now), rows_of(result, names)
    if fmt == "csv":
        return to_csv(head, rows).encode()
    if fmt == "xlsx":
        return await asyncio.to_thread(to_xlsx, head, rows)
    return await run(RENDER_LOOKUP, pdf_context(controller, now, head, rows))
