"""HTTP routes for requests to vendors: send, re-send, cancel, and review what the vendor submitted."""

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.portal import requests, submissions
from registry.portal.schemas import RequestRead, ReturnReasons
from registry.schemas import MAX_ID

ObligationId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The deletion obligation's id")]
SubmissionId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The portal submission's id")]


class VendorRequestController(Controller):
    """A deletion's requests to its vendor (e-mail and portal link), and the review of the answers."""

    path = "/deletions/{obligation_id:int}"
    tags = ["vendor requests"]
    opt = needs(Role.editor)
    security = API_KEY

    @get(
        "/requests",
        operation_id="list_vendor_requests",
        opt=needs(Role.viewer),
        responses=problem_responses(404),
    )
    async def list_vendor_requests(self, obligation_id: ObligationId) -> list[RequestRead]:
        return await requests.list_for_deletion(obligation_id)

    @post("/request", operation_id="send_vendor_request", responses=problem_responses(404, 409, 422))
    async def send_vendor_request(self, obligation_id: ObligationId, ctx: WriteContext) -> RequestRead:
        return await requests.send(ctx, obligation_id)

    @post(
        "/request/resend",
        operation_id="resend_vendor_request",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def resend_vendor_request(self, obligation_id: ObligationId, ctx: WriteContext) -> RequestRead:
        return await requests.resend(ctx, obligation_id)

    @post(
        "/request/cancel",
        operation_id="cancel_vendor_request",
        status_code=200,
        responses=problem_responses(404, 409),
    )
    async def cancel_vendor_request(self, obligation_id: ObligationId, ctx: WriteContext) -> RequestRead:
        return await requests.cancel(ctx, obligation_id)

    @post(
        "/submissions/{submission_id:int}/accept",
        operation_id="accept_vendor_submission",
        status_code=200,
        responses=problem_responses(404, 409, 422),
    )
    async def accept_vendor_submission(
        self, obligation_id: ObligationId, submission_id: SubmissionId, ctx: WriteContext
    ) -> RequestRead:
        return await submissions.accept(ctx, obligation_id, submission_id)

    @post(
        "/submissions/{submission_id:int}/return",
        operation_id="return_vendor_submission",
        status_code=200,
        responses=problem_responses(404, 409, 422),
    )
    async def return_vendor_submission(
        self, obligation_id: ObligationId, submission_id: SubmissionId, data: ReturnReasons, ctx: WriteContext
    ) -> RequestRead:
        return await submissions.send_back(ctx, obligation_id, submission_id, data.reasons)
