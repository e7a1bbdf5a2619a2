"""HTTP routes for exports of the registers."""

from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from registry import clock
from registry.auth import API_KEY, requires_viewer
from registry.errors import problem_responses
from registry.exports import service
from registry.exports.service import RecipientRegister

AsOf = Annotated[date | None, Parameter(description="Only disclosures valid on this day; default: all")]


class ExportController(Controller):
    """Registers for auditors and regulators."""

    path = "/exports"
    tags = ["exports"]
    guards = [requires_viewer]
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
