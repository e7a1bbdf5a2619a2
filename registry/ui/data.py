"""The import and export page: registers to download, templates, and a spreadsheet upload with a dry
run and a row-by-row report. The same service functions as /exports and /imports; a session, not a key."""

import asyncio
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from registry import clock, words
from registry.enums import Role
from registry.errors import RegistryError, invalid, missing
from registry.exports import register
from registry.exports import service as exports
from registry.http import read_form
from registry.imports import service as imports
from registry.imports import templates
from registry.imports.columns import SHEETS
from registry.imports.watch import import_watched
from registry.imports.workbook import WorkbookLimits
from registry.ui.pages import (
    PAGE_ERRORS,
    UPLOAD_CAP,
    check_csrf,
    refuse_large_body,
    render_page,
    signed_in,
    write_context,
)

# Rendered in the PDF workers (registry/attestations/pool.py), so this process never imports WeasyPrint.
RENDER_RECIPIENTS = "registry.exports.pdf:render_recipients"

# name -> (what it is, media type)
DOWNLOADS = {
    "register.xlsx": ("The whole register (XLSX, one sheet per record type)", imports.XLSX),
    "register.zip": ("The whole register (CSV files in a ZIP)", "application/zip"),
    "register.json": ("The whole register (JSON)", "application/json"),
    "recipients.csv": ("Register of recipients (CSV)", "text/csv; charset=utf-8"),
    "recipients.pdf": ("Register of recipients today (PDF report; another day below)", "application/pdf"),
}
TEMPLATES = {
    "import-template.xlsx": ("Import template: every sheet, with help", imports.XLSX),
    **{
        f"import-{sheet}.csv": (f"Import template: {sheet} (CSV)", "text/csv; charset=utf-8")
        for sheet in SHEETS
    },
}


class DataController(Controller):
    path = "/ui/data"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/")
    async def data_page(self, request: Request) -> Template:
        actor, csrf = await signed_in(request, Role.viewer)
        return render_page(request, "data.html.j2", **_context_of(actor, csrf))

    @get("/{name:str}")
    async def download(self, request: Request, name: str, as_of: str | None = None) -> Response:
        await signed_in(request, Role.viewer)
        known = DOWNLOADS | TEMPLATES
        if name not in known:
            raise missing(f"There is no download named {name[:80]!r}.")
        settings = request.app.state["settings"]
        if name.startswith("register."):
            data = await register.register(settings)
            if name == "register.json":
                import json

                body: Any = json.dumps(data, ensure_ascii=False, indent=1).encode()
            else:
                body = await asyncio.to_thread(
                    register.to_xlsx if name.endswith("xlsx") else register.to_zip, data
                )
        elif name == "recipients.csv":
            body = exports.to_csv(await exports.recipient_rows(None)).encode()
        elif name == "recipients.pdf":
            day = _day(as_of)  # the register as it stood on any day, not only today
            rows = await exports.recipient_rows_for_pdf(day)
            context = exports.report_context(
                settings.organisation_name, clock.now(), day, rows, await words.load()
            )
            body = await request.app.state["pdf_pool"].run(RENDER_RECIPIENTS, context)
        elif name == "import-template.xlsx":
            body = templates.xlsx_template()
        else:
            body = templates.csv_template(name.removeprefix("import-").removesuffix(".csv")).encode()
        stem, dot, suffix = name.partition(".")
        on = _day(as_of) if name == "recipients.pdf" else clock.today()
        filename = f"{stem}-{on}{dot}{suffix}" if name in DOWNLOADS else name
        return Response(
            body,
            media_type=known[name][1],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @post("/import", request_max_body_size=UPLOAD_CAP)
    async def upload(self, request: Request) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        settings = request.app.state["settings"]
        limit = settings.max_upload_bytes

        def again(
            status: int, error: str | None = None, report: imports.ImportResult | None = None
        ) -> Template:
            context = {**_context_of(actor, csrf), "error": error, "result": report}
            return render_page(request, "data.html.j2", status, **context)

        try:
            refuse_large_body(request, limit + 64 * 1024)
        except RegistryError:
            return again(413, f"The file is over {limit // (1024 * 1024)} MiB.")
        form = await read_form(request)
        check_csrf({k: v for k, v in form.items() if isinstance(v, str)}, csrf)
        upload = form.get("file")
        if upload is None or not hasattr(upload, "read"):
            return again(400, "Choose a CSV or XLSX file.")
        content = await upload.read()
        if not content:
            return again(400, "Choose a CSV or XLSX file.")
        if len(content) > limit:
            return again(413, f"The file is over {limit // (1024 * 1024)} MiB.")
        filename = (getattr(upload, "filename", "") or "").lower()
        media = imports.XLSX if filename.endswith(".xlsx") else "text/csv"
        dry_run = form.get("dry_run") == "on"
        try:
            sheets = await asyncio.to_thread(
                imports.sheets_of, content, media, None, imports.MAX_HTTP_ROWS, WorkbookLimits.of(settings)
            )
        except RegistryError as error:
            return again(error.status if error.status < 500 else 400, error.detail)
        result = await import_watched(request, write_context(request, actor), sheets, dry_run)
        return again(200 if result.ok else 422, None, result)


def _day(as_of: str | None) -> date:
    if not as_of:
        return clock.today()
    try:
        return date.fromisoformat(as_of)
    except ValueError:
        raise invalid("as_of", "date", "The date must be written YYYY-MM-DD.") from None


def _context_of(actor, csrf) -> dict[str, Any]:
    return {
        "actor": actor,
        "csrf": csrf,
        "downloads": [(name, label) for name, (label, _) in DOWNLOADS.items()],
        "templates": [(name, label) for name, (label, _) in TEMPLATES.items()],
        "error": None,
        "result": None,
    }
