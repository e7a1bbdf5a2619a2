"""Import reports at the edge."""

from pydantic import Field

from registry.schemas import Schema


class SheetCounts(Schema):
    created: int
    updated: int
    unchanged: int


class ImportRowError(Schema):
    sheet: str
    row: int = Field(description="As the spreadsheet numbers it: the header is row 1.")
    column: str
    rule: str
    message: str


class ImportReport(Schema):
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    committed: bool = Field(description="True when the rows were written.")
    counts: dict[str, SheetCounts]
    errors: list[ImportRowError]
