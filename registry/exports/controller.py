"""HTTP routes for exports of the registers."""

import asyncio
from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from registry import clock, words
from registry.auth import API_KEY, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.exports import register, service
from registry.exports.schemas import RecipientRegister, Register
from registry.imports.service import XLSX

# Rendered in the PDF workers (registry/attestations/pool.py), so this process never imports WeasyPrint.
RENDER_RECIPIENTS = "registry.exports.pdf:render_recipients"

MAX_PDF_ROWS = service.MAX_PDF_ROWS  # passed to the service from here, where tests lower it


AsOf = Annotated[date | None, Parameter(description="Only disclosures valid on this day; default: all")]


class ExportController(Controller):
    """Registers for auditors and regulators."""

    path = "/exports"
    tags = ["exports"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/recipients.json", operation_id="export_recipients_json", responses=problem_responses())
    async def export_recipients_json(self, request: Request, as_of: AsOf = None) -> RecipientRegister:
        return RecipientRegister(
            controller=request.app.state["settings"].organisation_name,
            generated_at=clock.now(),
            as_of=as_of,
            rows=await service.recipient_rows(as_of),
        )

    @get(
        "/recipients.csv",
        operation_id="export_recipients_csv",
        media_type="text/csv",
        responses=problem_responses(),
    )
    async def export_recipients_csv(self, as_of: AsOf = None) -> Response[str]:
        body = service.to_csv(await service.recipient_rows(as_of))
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="recipients-{clock.today()}.csv"'},
        )

    @get(
        "/recipients.pdf",
        operation_id="export_recipients_pdf",
        media_type="application/pdf",
        responses=problem_responses(422),
        description="The register of recipients as a printable report, one section per vendor.",
    )
    async def export_recipients_pdf(
        self,
        request: Request,
        as_of: Annotated[
            date | None, Parameter(description="Disclosures valid on this day (default today)")
        ] = None,
    ) -> Response[bytes]:
        settings = request.app.state["settings"]
        day = as_of or clock.today()
        rows = await service.recipient_rows_for_pdf(day, MAX_PDF_ROWS)
        context = service.report_context(
            settings.organisation_name, clock.now(), day, rows, await words.load()
        )
        pdf = await request.app.state["pdf_pool"].run(RENDER_RECIPIENTS, context)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="recipients-{day}.pdf"'},
        )

    @get("/register.json", operation_id="export_register_json", responses=problem_responses())
    async def export_register_json(self, request: Request) -> Register:
        return Register.model_validate(await register.register(request.app.state["settings"]))

    @get(
        "/register.xlsx",
        operation_id="export_register_xlsx",
        media_type=XLSX,
        responses=problem_responses(),
        description="One sheet each for vendors, contracts, disclosures, deletions and attestations.",
    )
    async def export_register_xlsx(self, request: Request) -> Response[bytes]:
        data = await register.register(request.app.state["settings"])
        body = await asyncio.to_thread(register.to_xlsx, data)
        return Response(body, media_type=XLSX, headers=_attachment(f"register-{clock.today()}.xlsx"))

    @get(
        "/register.zip",
        operation_id="export_register_csv_zip",
        media_type="application/zip",
        responses=problem_responses(),
        description="vendors.csv, contracts.csv, disclosures.csv, deletions.csv and attestations.csv.",
    )
    async def export_register_zip(self, request: Request) -> Response[bytes]:
        data = await register.register(request.app.state["settings"])
        body = await asyncio.to_thread(register.to_zip, data)
        return Response(
            body, media_type="application/zip", headers=_attachment(f"register-{clock.today()}.zip")
        )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
