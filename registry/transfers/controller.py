"""HTTP routes for the transfer record of a disclosure and its document."""

from typing import Annotated

from litestar import Controller, Request, Response, get, put
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.http import FILENAME, if_match_version, read_bounded, stored_file, versioned
from registry.schemas import MAX_ID
from registry.transfers import service
from registry.transfers.schemas import TransferRead, TransferWrite

DisclosureId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The disclosure's id")]


class TransferController(Controller):
    """What makes a disclosure's international transfer lawful: mechanism, assessment, documents."""

    path = "/disclosures/{disclosure_id:int}/transfer"
    tags = ["transfers"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="get_transfer", responses=problem_responses(404))
    async def get_transfer(self, disclosure_id: DisclosureId) -> Response[TransferRead]:
        return versioned(await service.get_transfer(disclosure_id))

    @put(
        "/",
        operation_id="put_transfer",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
        description="Records or replaces the transfer record: 201 when new, 200 when replaced.",
    )
    async def put_transfer(
        self, request: Request, disclosure_id: DisclosureId, data: TransferWrite, ctx: WriteContext
    ) -> Response[TransferRead]:
        record, new = await service.put_transfer(ctx, disclosure_id, data, if_match_version(request))
        return versioned(record, 201 if new else 200)

    @put(
        "/document",
        operation_id="upload_transfer_document",
        opt=needs(Role.editor),
        request_max_body_size=None,
        responses=problem_responses(404, 413, 415, 422),
        description="The body is the file itself (PDF, DOCX, PNG or JPEG) with its Content-Type.",
    )
    async def upload_document(
        self,
        request: Request,
        disclosure_id: DisclosureId,
        ctx: WriteContext,
        filename: Annotated[
            str | None, Parameter(pattern=FILENAME, description="Name to store it under")
        ] = None,
    ) -> TransferRead:
        content = await read_bounded(request, request.app.state["settings"].max_upload_bytes)
        return await service.upload_document(
            ctx, disclosure_id, content, request.headers.get("content-type", ""), filename
        )

    @get(
        "/document",
        operation_id="get_transfer_document",
        responses=problem_responses(404),
        media_type="application/octet-stream",
    )
    async def get_document(self, disclosure_id: DisclosureId) -> Response[bytes]:
        stored = await service.get_document(disclosure_id)
        return stored_file(stored, f"transfer-{disclosure_id}-document")
