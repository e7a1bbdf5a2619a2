"""Reading an import file and writing its rows through the same service functions as the API.

A file is imported all or nothing: every row runs in one transaction, each in a savepoint so that one
bad row does not hide the errors of the next; any error (or a dry run) rolls the whole file back. Rows
match existing records by natural key (vendor name; contract reference, or vendor and title; a
disclosure's vendor, contract, basis, purpose, first day, categories and data subjects), so importing a
file twice changes nothing the second time. An empty cell leaves a stored value as it is.
"""

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from registry import db
from registry.auth import WriteContext
from registry.contracts import service as contracts
from registry.contracts.schemas import ContractCreate, ContractUpdate
from registry.disclosures import service as disclosures
from registry.disclosures.schemas import DisclosureCreate, DisclosureUpdate
from registry.errors import RegistryError, unprocessable, unsupported
from registry.imports.columns import SHEETS, Column
from registry.imports.workbook import WorkbookLimits, check_workbook
from registry.tables import Contract, Disclosure, Vendor
from registry.vendors import service as vendors
from registry.vendors.schemas import VendorCreate, VendorUpdate

MAX_ROWS = 50_000
# An import holds the write lock while it runs (it is one transaction): over HTTP a file is kept small
# enough not to make other writers wait long; larger files go through `registry import`.
MAX_HTTP_ROWS = 2_000
MAX_COLUMNS = 64
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0"}


@dataclass
class RowError:
    sheet: str
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    rule: str
    message: str


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    dry_run: bool
    counts: dict[str, Counts] = field(default_factory=lambda: {name: Counts() for name in SHEETS})
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Refused(Exception):
    """Raised inside the transaction to roll the whole file back."""


class ClientGone(Exception):
    """The HTTP client disconnected before the import committed: raised inside it, to roll it back."""


# --- reading the file ---------------------------------------------------------------------------------


def sheets_of(
    content: bytes,
    content_type: str,
    kind: str | None,
    max_rows: int = MAX_ROWS,
    limits: WorkbookLimits = WorkbookLimits(),
) -> dict[str, list[list[Any]]]:
    """The file's sheets (name -> rows, header first). CSV is one sheet: ``kind``, or guessed from
    its header. Raises RegistryError (415/422) for a file that is not what it says, or has more than
    ``max_rows`` rows a sheet or ``MAX_COLUMNS`` columns, or an XLSX workbook past ``limits``.
    CPU-bound: call it in a thread."""
    media = content_type.split(";")[0].strip().lower()
    is_xlsx = content.startswith(b"PK\x03\x04")
    if media == XLSX or (is_xlsx and media in ("", "application/octet-stream")):
        if not is_xlsx:
            raise _file_error("not_xlsx", "the file is not an XLSX workbook")
        return _xlsx_sheets(content, max_rows, limits)
    # A workbook is known by its bytes; anything else must say it is CSV: bytes of an unnamed type
    # (application/octet-stream, or no type) are not read as CSV on a guess.
    if media in ("text/csv", "text/plain", "application/csv"):
        rows = _csv_rows(content, max_rows)
        return {kind or _guess(rows[0] if rows else []): rows}
    error = unsupported(
        f"Content-Type {media or '(none)'!r}: send text/csv (or application/csv, text/plain) or {XLSX}"
    )
    error.extra["accepted"] = ["text/csv", "application/csv", "text/plain", XLSX]
    raise error


def _file_error(rule: str, message: str) -> RegistryError:
    return unprocessable(f"file: {message}", [field_error(RowError("file", 0, "file", rule, message))])


def _too_many_rows(sheet: str, max_rows: int) -> RegistryError:
    hint = " (use `registry import` for larger files)" if max_rows < MAX_ROWS else ""
    return _file_error("too_many_rows", f"{sheet} has more than {max_rows} rows{hint}")


def _csv_rows(content: bytes, max_rows: int) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_error("utf8", "a CSV file must be UTF-8 (save it as “CSV UTF-8”)") from None
    if "\x00" in text:
        raise _file_error("text", "the file contains NUL characters: it is not a CSV file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            if len(row) > MAX_COLUMNS:
                raise _file_error(
                    "too_many_columns", f"row {len(rows) + 1} has more than {MAX_COLUMNS} cells"
                )
            rows.append(row)
            if len(rows) > max_rows + 1:
                raise _too_many_rows("the file", max_rows)
    except csv.Error as exc:
        raise _file_error("csv", f"line {len(rows) + 1} cannot be read as CSV ({exc})") from None
    return rows


def _xlsx_rows(name: str, sheet, max_rows: int) -> list[list[Any]]:
    """A sheet's rows, as wide as its header: a stray cell far to the right (column XFD) must not
    make every row 16,384 cells wide."""
    # One row, however wide, is cheap; its last filled cell gives the width of every row after it.
    header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
    width = max((i + 1 for i, h in enumerate(header) if h is not None), default=0)
    if width > MAX_COLUMNS:
        raise _file_error("too_many_columns", f"sheet {name} has more than {MAX_COLUMNS} columns")
    rows: list[list[Any]] = [list(header[:width])]
    if width == 0:
        return rows
    for number, cells in enumerate(sheet.iter_rows(min_row=2, max_col=width), start=2):
        values = []
        for cell in cells:
            if getattr(cell, "data_type", None) == "f":
                raise _file_error(
                    "formula",
                    f"sheet {name} row {number}: a formula ({str(cell.value)[:40]}); paste its value instead",
                )
            values.append(getattr(cell, "value", None))
        rows.append(values)
        if len(rows) > max_rows + 1:
            raise _too_many_rows(f"sheet {name}", max_rows)
    return rows


def _xlsx_sheets(content: bytes, max_rows: int, limits: WorkbookLimits) -> dict[str, list[list[Any]]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_workbook(archive, limits)  # before openpyxl, which inflates and keeps shared strings
        # Not data_only: a formula is refused (its value may not even be cached in the file).
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except RegistryError:
        raise
    except Exception:  # openpyxl raises many kinds for a broken file
        raise _file_error("not_xlsx", "the file is not a readable XLSX workbook") from None
    sheets: dict[str, list[list[Any]]] = {}
    try:
        for sheet in book.worksheets:
            name = sheet.title.strip().lower()
            if name not in SHEETS:
                continue
            if name in sheets:
                raise _file_error("duplicate_sheet", f"two sheets are named {name}")
            sheets[name] = _xlsx_rows(name, sheet, max_rows)
    finally:
        book.close()
    if not sheets:
        raise _file_error("no_sheet", f"the workbook has no sheet named {', '.join(SHEETS)}")
    return sheets


def _guess(header: list[Any]) -> str:
    names = {str(h).strip().lower() for h in header if h is not None}
    if "categories" in names:
        return "disclosures"
    if "title" in names:
        return "contracts"
    return "vendors"


# --- reading cells ------------------------------------------------------------------------------------


def _cell(column: Column, value: Any) -> Any:
    """The cell's value as the schema expects it; ``None`` for an empty cell. Raises ValueError."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if column.kind == "bool":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("yes or no")
    if column.kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError("a date as YYYY-MM-DD") from None
    if column.kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError("a whole number") from None
    if column.kind == "list":
        return [part.strip() for part in str(value).replace(";", ",").split(",") if part.strip()]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _nest(values: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in values.items():
        head, _, rest = name.partition(".")
        if rest:
            body.setdefault(head, {})[rest] = value
        else:
            body[name] = value
    return body


PYDANTIC_RULES = {
    "missing": "required",
    "string_too_long": "max_length",
    "string_too_short": "min_length",
    "enum": "one_of",
    "literal_error": "one_of",
    "extra_forbidden": "unknown_field",
    "greater_than_equal": "minimum",
    "less_than_equal": "maximum",
    "too_long": "max_items",
    "too_short": "min_items",
    "value_error": "invalid",
    "url_parsing": "url",
    "url_scheme": "url",
}


def field_error(error: RowError):
    from registry.errors import FieldError

    where = f"{error.sheet} row {error.row}, {error.column}" if error.row else error.column
    return FieldError(where, error.rule, error.message)


# --- running ------------------------------------------------------------------------------------------


@dataclass
class _Row:
    sheet: str
    number: int
    values: dict[str, Any]  # field -> value, only the non-empty cells
    columns: dict[str, str]  # field -> the header it came from


class _Importer:
    def __init__(self, ctx: WriteContext, result: ImportResult):
        self.ctx = ctx
        self.result = result
        self.seen: dict[tuple, int] = {}  # natural key -> the row that had it first

    def first_time(self, row: _Row, key: tuple, column: str) -> bool:
        """A natural key appears once a file: a second row would silently overwrite the first."""
        earlier = self.seen.setdefault(key, row.number)
        if earlier != row.number:
            self.error(row, column, "duplicate_key", f"the same record as row {earlier} of {row.sheet}")
            return False
        return True

    def error(self, row: _Row, column: str, rule: str, message: str) -> None:
        self.result.errors.append(RowError(row.sheet, row.number, column, rule, message))

    def column_of(self, row: _Row, loc: str) -> str:
        """The header a schema field came from: the exact field, else the first column under it."""
        if loc in row.columns:
            return row.columns[loc]
        head = loc.split(".")[0]
        for name, header in row.columns.items():
            if name.split(".")[0] == head:
                return header
        return loc

    def validate(self, row: _Row, schema: type[BaseModel], body: dict[str, Any]) -> BaseModel | None:
        try:
            return schema.model_validate(body)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(part) for part in e["loc"])
                column = self.column_of(row, loc)
                self.error(row, column, PYDANTIC_RULES.get(e["type"], e["type"]), e["msg"])
            return None

    async def run(self, row: _Row, work: Callable[[], Any]) -> None:
        """One row's writes in a savepoint: a refused row leaves nothing behind, the next still runs."""
        transaction = db.current_engine().current_transaction.get()
        savepoint = await transaction.savepoint()
        try:
            status = await work()
        except RegistryError as exc:
            await savepoint.rollback_to()
            if exc.errors:
                for e in exc.errors:
                    self.error(row, self.column_of(row, e.field), e.rule, e.message)
            else:
                self.error(row, "", "conflict" if exc.status == 409 else "invalid", exc.detail)
            return
        if status:
            counts = self.result.counts[row.sheet]
            setattr(counts, status, getattr(counts, status) + 1)

    async def vendor_id(self, row: _Row, name: str, column: str) -> int | None:
        found = await Vendor.select(Vendor.id).where(Vendor.name == name).first()
        if found is None:
            self.error(row, column, "exists", f"no vendor named {name!r} (add it on the vendors sheet)")
            return None
        return found["id"]

    async def owned(self, row: _Row) -> dict[str, Any] | None:
        """A contract's or disclosure's values with its vendor's name replaced by its id."""
        values = dict(row.values)
        if "vendor_id" not in values:
            self.error(row, "vendor", "required", "Field required")
            return None
        vendor_id = await self.vendor_id(row, values["vendor_id"], row.columns["vendor_id"])
        if vendor_id is None:
            return None
        return {**values, "vendor_id": vendor_id}

    # Vendors -----------------------------------------------------------------------------------------

    async def vendor(self, row: _Row) -> None:
        values = dict(row.values)
        if "parent_id" in values:
            parent = await self.vendor_id(row, values["parent_id"], row.columns["parent_id"])
            if parent is None:
                return
            values["parent_id"] = parent
        body = _nest(values)
        if "name" in values and not self.first_time(row, ("vendor", values["name"]), "name"):
            return
        existing = await Vendor.select(Vendor.id).where(Vendor.name == values.get("name", "")).first()
        if existing is None:
            data = self.validate(row, VendorCreate, body)
            if data:
                await self.run(row, lambda: _created(vendors.create_vendor(self.ctx, data)))
            return
        data = self.validate(row, VendorUpdate, body)
        if data:
            current = (await vendors.get_vendor(existing["id"])).model_dump(mode="json")
            await self.run(
                row,
                lambda: _update(
                    current, data, lambda d: vendors.update_vendor(self.ctx, existing["id"], d, None)
                ),
            )

    # Contracts ---------------------------------------------------------------------------------------

    async def contract(self, row: _Row) -> None:
        values = await self.owned(row)
        if values is None:
            return
        vendor_id = values["vendor_id"]
        if values.get("reference"):
            match = Contract.reference == values["reference"]
            key, column = ("contract", values["reference"]), "reference"
        else:
            match = (Contract.vendor == vendor_id) & (Contract.title == values.get("title", ""))
            key, column = ("contract", vendor_id, values.get("title", "")), "title"
        if not self.first_time(row, key, column):
            return
        existing = await Contract.select(Contract.id, Contract.vendor).where(match).first()
        if existing is None:
            data = self.validate(row, ContractCreate, values)
            if data:
                await self.run(row, lambda: _created(contracts.create_contract(self.ctx, data)))
            return
        if existing["vendor"] != vendor_id:
            self.error(
                row,
                row.columns.get("reference", "vendor"),
                "vendor",
                "this reference belongs to another vendor's contract",
            )
            return
        values.pop("vendor_id")
        data = self.validate(row, ContractUpdate, values)
        if data:
            current = (await contracts.get_contract(existing["id"])).model_dump(mode="json")
            await self.run(
                row,
                lambda: _update(
                    current, data, lambda d: contracts.update_contract(self.ctx, existing["id"], d, None)
                ),
            )

    # Disclosures -------------------------------------------------------------------------------------

    async def disclosure(self, row: _Row) -> None:
        values = await self.owned(row)
        if values is None:
            return
        vendor_id = values["vendor_id"]
        if "contract_id" in values:
            reference = values["contract_id"]
            found = (
                await Contract.select(Contract.id)
                .where(Contract.reference == reference, Contract.vendor == vendor_id)
                .first()
            )
            if found is None:
                self.error(
                    row,
                    row.columns["contract_id"],
                    "exists",
                    f"this vendor has no contract with the reference {reference!r}",
                )
                return
            values["contract_id"] = found["id"]
        data = self.validate(row, DisclosureCreate, values)
        if data is None:
            return
        key = (
            "disclosure",
            vendor_id,
            data.contract_id,
            data.basis,
            data.purpose,
            data.valid_from,
            frozenset(data.categories),
            frozenset(data.data_subjects),
        )
        if not self.first_time(row, key, "categories"):
            return
        existing = await self.matching_disclosure(data)
        if existing is None:
            await self.run(row, lambda: _created(disclosures.create_disclosure(self.ctx, data)))
            return
        current = (await disclosures.get_disclosure(existing)).model_dump(mode="json")
        changes = {
            k: v for k, v in values.items() if k in DisclosureUpdate.model_fields and k != "contract_id"
        }
        update = self.validate(row, DisclosureUpdate, changes)
        if update:
            await self.run(
                row,
                lambda: _update(
                    current, update, lambda d: disclosures.update_disclosure(self.ctx, existing, d, None)
                ),
            )

    async def matching_disclosure(self, data: DisclosureCreate) -> int | None:
        candidates = await Disclosure.select(Disclosure.id).where(
            Disclosure.vendor == data.vendor_id,
            Disclosure.basis == data.basis.value,
            Disclosure.purpose == data.purpose,
            Disclosure.valid_from == data.valid_from,
            Disclosure.contract.is_null()
            if data.contract_id is None
            else Disclosure.contract == data.contract_id,
        )
        for candidate in candidates:
            read = await disclosures.get_disclosure(candidate["id"])
            if set(read.categories) == set(data.categories) and set(read.data_subjects) == set(
                data.data_subjects
            ):
                return read.id
        return None


async def _created(write) -> str:
    await write
    return "created"


async def _update(current: dict[str, Any], data: BaseModel, write: Callable[[Any], Any]) -> str:
    """Send only what differs from the stored record; nothing differs, nothing is written."""
    sent = data.model_dump(mode="json", exclude_unset=True)
    changed = {k: v for k, v in sent.items() if _differs(current.get(k), v)}
    if not changed:
        return "unchanged"
    await write(type(data).model_validate(changed))
    return "updated"


def _differs(stored: Any, sent: Any) -> bool:
    if isinstance(stored, list) and isinstance(sent, list):
        return sorted(map(str, stored)) != sorted(map(str, sent))
    if isinstance(stored, dict) and isinstance(sent, dict):
        return any(_differs(stored.get(k), v) for k, v in sent.items())
    return stored != sent


def _rows(sheet: str, rows: list[list[Any]], result: ImportResult) -> Iterator[_Row]:
    columns = {c.name: c for c in SHEETS[sheet]}
    if not rows:
        return
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    known: list[tuple[int, Column]] = []
    problems: list[RowError] = []
    for index, name in enumerate(header):
        if not name:
            continue
        if name not in columns:
            problems.append(
                RowError(sheet, 1, name, "unknown_column", f"not a column of {sheet}: {', '.join(columns)}")
            )
        elif any(c.name == name for _, c in known):
            problems.append(RowError(sheet, 1, name, "duplicate_column", "this column appears twice"))
        else:
            known.append((index, columns[name]))
    present = {c.name for _, c in known}
    for column in SHEETS[sheet]:
        if column.required and column.name not in present:
            problems.append(RowError(sheet, 1, column.name, "required_column", "this column is required"))
    if len(rows) - 1 > MAX_ROWS:
        problems.append(RowError(sheet, 1, "", "too_many_rows", f"at most {MAX_ROWS} rows a sheet"))
    if problems:
        result.errors += problems
        return
    for number, cells in enumerate(rows[1:], start=2):
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue  # blank lines in a spreadsheet are not rows
        values, sources, bad = {}, {}, False
        for index, column in known:
            raw = cells[index] if index < len(cells) else None
            try:
                value = _cell(column, raw)
            except ValueError as exc:
                result.errors.append(RowError(sheet, number, column.name, column.kind, f"expected {exc}"))
                bad = True
                continue
            sources[column.field] = column.name
            if value is not None:
                values[column.field] = value
        if not bad:
            yield _Row(sheet, number, values, sources)


def row_count(sheets: dict[str, list[list[Any]]]) -> int:
    return sum(max(len(rows) - 1, 0) for rows in sheets.values())


async def import_sheets(
    ctx: WriteContext,
    sheets: dict[str, list[list[Any]]],
    dry_run: bool,
    progress: Callable[[int], None] | None = None,
    client_gone: Callable[[], bool] = lambda: False,
) -> ImportResult:
    """Import every sheet, in the order vendors, contracts, disclosures; all or nothing. ``client_gone``
    is asked after each row and right before the commit: a client that left rolls it all back."""
    result = ImportResult(dry_run=dry_run)
    importer = _Importer(ctx, result)
    handlers = {
        "vendors": importer.vendor,
        "contracts": importer.contract,
        "disclosures": importer.disclosure,
    }
    try:
        async with db.write_transaction():
            for sheet in SHEETS:
                if sheet not in sheets:
                    continue
                for row in _rows(sheet, sheets[sheet], result):
                    await handlers[sheet](row)
                    if progress:
                        progress(1)
                    if client_gone():
                        raise ClientGone
            if result.errors or dry_run:
                raise _Refused
            if client_gone():
                raise ClientGone
    except _Refused:
        pass
    return result
