"""HTTP routes for attestations: read, download, revoke, and verify without a key."""

from typing import Annotated

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import Parameter

from registry.attestations import service
from registry.attestations.schemas import AttestationRead, Revocation, Verification
from registry.attestations.serials import serials_in
from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses, unsupported
from registry.http import read_bounded
from registry.ratelimit import rate_limited
from registry.schemas import MAX_ID, MAX_OFFSET, Page
from registry.ui.pages import render_page

Serial = Annotated[str, Parameter(pattern=r"^[A-Za-z0-9-]{1,40}$", description="e.g. PRA-2026-000012")]


class AttestationController(Controller):
    """Signed PDFs certifying confirmed deletions."""

    path = "/attestations"
    tags = ["attestations"]

    @get(
        "/",
        operation_id="list_attestations",
        opt=needs(Role.viewer),
        security=API_KEY,
        responses=problem_responses(),
    )
    async def list_attestations(
        self,
        request: Request,
        vendor_id: Annotated[int | None, Parameter(query="vendor", ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[AttestationRead]:
        items, total = await service.list_attestations(
            request.app.state["settings"], vendor_id, limit, offset
        )
        return Page[AttestationRead](items=items, total=total, limit=limit, offset=offset)

    @get(
        "/{serial:str}",
        operation_id="get_attestation",
        opt=needs(Role.viewer),
        security=API_KEY,
        responses=problem_responses(404),
    )
    async def get_attestation(self, request: Request, serial: Serial) -> AttestationRead:
        return await service.get_attestation(serial, request.app.state["settings"])

    @get(
        "/{serial:str}/pdf",
        operation_id="download_attestation",
        opt=needs(Role.viewer),
        security=API_KEY,
        media_type="application/pdf",
        responses=problem_responses(404),
    )
    async def download_attestation(self, serial: Serial) -> Response[bytes]:
        return Response(
            await service.get_pdf(serial),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{serial}.pdf"'},
        )

    @post(
        "/{serial:str}/revoke",
        operation_id="revoke_attestation",
        status_code=200,
        opt=needs(Role.admin),
        security=API_KEY,
        responses=problem_responses(404, 409, 413),
    )
    async def revoke_attestation(
        self, request: Request, serial: Serial, data: Revocation, ctx: WriteContext
    ) -> AttestationRead:
        return await service.revoke(ctx, serial, data.reason, request.app.state["settings"])

    @post(
        "/verify",
        operation_id="verify_attestation_pdf",
        status_code=200,
        security=[],
        guards=[rate_limited],
        request_max_body_size=None,
        responses=problem_responses(413, 415, 429, public=True),
        description="Public. The body is the PDF (Content-Type: application/pdf).",
    )
    async def verify_attestation_pdf(self, request: Request) -> Verification:
        settings = request.app.state["settings"]
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/pdf":
            raise unsupported("Send the PDF as application/pdf.")
        document = await read_bounded(request, settings.max_upload_bytes)
        return await service.verify_pdf(document, request.app.state["pdf_pool"].check_signature, serials_in)

    @get(
        "/{serial:str}/verify",
        operation_id="verify_attestation_serial",
        security=[],
        guards=[rate_limited],
        responses=problem_responses(429, public=True),
    )
    async def verify_attestation_serial(self, request: Request, serial: Serial) -> Verification:
        verdict = await service.verify_serial(serial)
        # The QR code on the PDF opens this URL in a browser: a person gets a page, a client JSON.
        if request.accept.best_match(["application/json", "text/html"]) == "text/html":
            page = render_page(request, "verdict.html.j2", verdict=verdict)
            page.media_type = MediaType.HTML  # the handler's own type is JSON
            return page  # type: ignore[return-value]
        return verdict
