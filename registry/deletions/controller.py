"""HTTP routes for deletion obligations, confirmations and evidence."""

from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.params import Parameter

from registry.attestations import service as attestations
from registry.attestations.schemas import AttestationRead
from registry.auth import API_KEY, WriteContext, needs
from registry.deletions import service
from registry.deletions.schemas import ConfirmationCreate, DeletionRead
from registry.enums import DeletionStatus, Role
from registry.errors import problem_responses
from registry.http import FILENAME, read_bounded
from registry.schemas import MAX_ID, MAX_OFFSET, Page

ObligationId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The deletion obligation's id")]


class DeletionController(Controller):
    """What vendors must delete after their contract ended, and their reports that they did."""

    path = "/deletions"
    tags = ["deletions"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_deletions", responses=problem_responses())
    async def list_deletions(
        self,
        ctx: WriteContext,
        status: DeletionStatus | None = None,
        vendor_id: Annotated[int | None, Parameter(query="vendor", ge=1, le=MAX_ID)] = None,
        due_before: date | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[DeletionRead]:
        # Expired contracts open their obligations here too, so nobody has to touch them first.
        await service.open_expired(ctx.request_id)
        items, total = await service.list_deletions(
            service.DeletionFilter(status, vendor_id, due_before, limit, offset)
        )
        return Page[DeletionRead](items=items, total=total, limit=limit, offset=offset)

    @get("/{obligation_id:int}", operation_id="get_deletion", responses=problem_responses(404))
    async def get_deletion(self, obligation_id: ObligationId) -> DeletionRead:
        return await service.get_deletion(obligation_id)

    @post(
        "/{obligation_id:int}/confirmations",
        operation_id="confirm_deletion",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 413, 422),
    )
    async def confirm_deletion(
        self, obligation_id: ObligationId, data: ConfirmationCreate, ctx: WriteContext
    ) -> DeletionRead:
        return await service.add_confirmation(ctx, obligation_id, data)

    @put(
        "/{obligation_id:int}/confirmations/{confirmation_id:int}/evidence",
        operation_id="add_deletion_evidence",
        opt=needs(Role.editor),
        request_max_body_size=None,
        responses=problem_responses(404, 413, 415, 422),
        description="The body is the evidence file (PDF, DOCX, PNG or JPEG) with its Content-Type.",
    )
    async def add_evidence(
        self,
        request: Request,
        obligation_id: ObligationId,
        confirmation_id: Annotated[int, Parameter(ge=1, le=MAX_ID)],
        ctx: WriteContext,
        filename: Annotated[str | None, Parameter(pattern=FILENAME)] = None,
    ) -> DeletionRead:
        content = await read_bounded(request, request.app.state["settings"].max_upload_bytes)
        return await service.add_evidence(
            ctx, obligation_id, confirmation_id, content, request.headers.get("content-type", ""), filename
        )

    @post(
        "/{obligation_id:int}/attestation",
        operation_id="issue_attestation",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 503),
    )
    async def issue_attestation(
        self, request: Request, obligation_id: ObligationId, ctx: WriteContext
    ) -> Response[AttestationRead]:
        state = request.app.state
        attestation, created = await attestations.issue(
            ctx, obligation_id, state["settings"], state["pdf_pool"].render
        )
        return Response(
            attestation,
            status_code=201 if created else 200,
            headers={"Location": f"/attestations/{attestation.serial}"},
        )
