"""HTTP routes for bulk imports and their templates."""

import asyncio
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.http import read_bounded
from registry.imports import service, templates
from registry.imports.report import refused, report_of
from registry.imports.schemas import ImportReport
from registry.imports.watch import import_watched
from registry.imports.workbook import WorkbookLimits

MAX_ERRORS_SHOWN = 1000


class ImportController(Controller):
    """Vendors, contracts and disclosures from a spreadsheet (CSV or XLSX), all or nothing per file."""

    path = "/imports"
    tags = ["imports"]
    opt = needs(Role.viewer)
    security = API_KEY

    @post(
        "/",
        operation_id="import_file",
        opt=needs(Role.editor),
        request_max_body_size=None,
        status_code=200,
        responses=problem_responses(413, 415, 422),
        description="The body is the file: text/csv (one sheet; `kind` or guessed from its header) or an "
        "XLSX workbook with sheets named vendors, contracts, disclosures. With `dry_run=true` nothing is "
        "written and the report says what would be.",
    )
    async def import_file(
        self,
        request: Request,
        ctx: WriteContext,
        dry_run: bool = False,
        kind: Annotated[
            Literal["vendors", "contracts", "disclosures"] | None,
            Parameter(description="What a CSV file holds; default: guessed from its header."),
        ] = None,
    ) -> ImportReport:
        settings = request.app.state["settings"]
        content = await read_bounded(request, settings.max_upload_bytes)
        media = request.headers.get("content-type", "")
        sheets = await asyncio.to_thread(
            service.sheets_of, content, media, kind, service.MAX_HTTP_ROWS, WorkbookLimits.of(settings)
        )
        result = await import_watched(request, ctx, sheets, dry_run)
        if not result.ok:
            raise refused(result)
        return report_of(result)

    @get(
        "/templates/{sheet:str}",
        operation_id="import_template_csv",
        media_type="text/csv",
        responses=problem_responses(),
        description="An empty CSV template (the header row) for one sheet.",
    )
    async def csv_template(
        self,
        sheet: Annotated[Literal["vendors", "contracts", "disclosures"], Parameter(description="The sheet")],
    ) -> Response[str]:
        return Response(
            templates.csv_template(sheet),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{sheet}.csv"'},
        )

    @get(
        "/templates.xlsx",
        operation_id="import_template_xlsx",
        media_type=service.XLSX,
        responses=problem_responses(),
        description="An empty workbook with every sheet, and a help sheet describing each column.",
    )
    async def xlsx_template(self) -> Response[bytes]:
        return Response(
            templates.xlsx_template(),
            media_type=service.XLSX,
            headers={"Content-Disposition": 'attachment; filename="registry-import.xlsx"'},
        )
