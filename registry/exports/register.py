"""The whole register — vendors, contracts, disclosures, transfers, deletions, attestations — as JSON, XLSX or a
ZIP of CSV files. Spreadsheet cells are text and never formulas (OWASP: CSV injection)."""

import csv
import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from registry import clock, db
from registry.attestations import service as attestations
from registry.contracts.service import ContractFilter, list_contracts
from registry.deletions.service import DeletionFilter, list_deletions
from registry.disclosures.service import DisclosureFilter, list_disclosures
from registry.exports.service import safe_cell
from registry.settings import Settings
from registry.subprocessors.reads import every_engagement
from registry.transfers.service import list_transfers
from registry.vendors.service import VendorFilter, list_vendors

BATCH = 1000
SHEETS = (
    "vendors",
    "contracts",
    "disclosures",
    "transfers",
    "deletions",
    "attestations",
    "subprocessor_engagements",
)


async def _all(page: Callable[[int, int], Awaitable[tuple[list, int]]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        items, total = await page(BATCH, len(rows))
        rows += [item.model_dump(mode="json") for item in items]
        if not items or len(rows) >= total:
            return rows


async def register(settings: Settings) -> dict[str, Any]:
    """Every record as the API returns it, in one consistent read where the engine allows."""
    async with db.read_session():
        data = {
            "vendors": await _all(lambda n, o: list_vendors(VendorFilter(sort="id", limit=n, offset=o))),
            "contracts": await _all(lambda n, o: list_contracts(ContractFilter(limit=n, offset=o))),
            "disclosures": await _all(lambda n, o: list_disclosures(DisclosureFilter(limit=n, offset=o))),
            "transfers": await _all(list_transfers),
            "deletions": await _all(lambda n, o: list_deletions(DeletionFilter(limit=n, offset=o))),
            "attestations": await _all(lambda n, o: attestations.list_attestations(settings, None, n, o)),
            "subprocessor_engagements": [e.model_dump(mode="json") for e in await every_engagement()],
        }
    return {"controller": settings.organisation_name, "generated_at": clock.now().isoformat(), **data}


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become dotted columns; lists of plain values one cell joined by "; "; lists of
    objects (confirmations, registration ids) one cell of JSON."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            flat[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif isinstance(value, list):
            flat[name] = "; ".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def table(records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """A header (every column any record has, in first-seen order) and the rows."""
    flat = [_flatten(r) for r in records]
    header: list[str] = []
    for row in flat:
        header += [k for k in row if k not in header]
    return header, [[row.get(k) for k in header] for row in flat]


def to_zip(data: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for sheet in SHEETS:
            header, rows = table(data[sheet])
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
            writer.writerow(header)
            writer.writerows([safe_cell(v) for v in row] for row in rows)
            archive.writestr(f"{sheet}.csv", "\ufeff" + text.getvalue())  # a BOM: spreadsheets read UTF-8
    return out.getvalue()


XLSX_CELL_LIMIT = 32_767  # characters a spreadsheet cell holds


def _fits(text: str) -> str:
    """A cell's text, cut with a note rather than silently when it is longer than a cell holds."""
    if len(text) <= XLSX_CELL_LIMIT:
        return text
    note = f" … [cut: {len(text)} characters in all; the JSON export has everything]"
    return text[: XLSX_CELL_LIMIT - len(note)] + note


def to_xlsx(data: dict[str, Any]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "constant_memory": True},
    )
    bold = book.add_format({"bold": True})
    book.set_properties(
        {
            "title": "Register of vendors and disclosures",
            "company": data["controller"],
            "created": datetime.now(),
        }
    )
    for sheet in SHEETS:
        header, rows = table(data[sheet])
        page = book.add_worksheet(sheet)
        page.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, bool | int | float):
                    page.write(r, c, value)
                else:
                    page.write_string(r, c, _fits(str(value)))
        page.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
