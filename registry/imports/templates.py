"""Empty import templates: a CSV per sheet and one XLSX workbook with every sheet and its help."""

import csv
import io

from registry.imports.columns import SHEETS


def csv_template(sheet: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([c.name for c in SHEETS[sheet]])
    return out.getvalue()


def xlsx_template() -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    # Nothing a user types is ever turned into a formula or a link.
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    for sheet, columns in SHEETS.items():
        page = book.add_worksheet(sheet)
        for index, column in enumerate(columns):
            page.write_string(0, index, column.name, bold)
            page.set_column(index, index, max(14, len(column.name) + 2))
            note = ("Required. " if column.required else "") + column.help
            if note.strip():
                page.write_comment(0, index, note.strip())
        page.freeze_panes(1, 0)
    help_page = book.add_worksheet("help")
    help_page.write_row(0, 0, ["sheet", "column", "required", "how"], bold)
    line = 1
    for sheet, columns in SHEETS.items():
        for column in columns:
            help_page.write_row(line, 0, [sheet, column.name, "yes" if column.required else "", column.help])
            line += 1
    help_page.set_column(0, 1, 26)
    help_page.set_column(3, 3, 80)
    book.close()
    return out.getvalue()
