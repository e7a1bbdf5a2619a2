"""HTTP routes for sub-processor engagements: a processor's sub-processors, their chain, objections."""

from typing import Annotated

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import Role
from registry.errors import problem_responses
from registry.http import if_match_version, versioned
from registry.schemas import MAX_ID
from registry.subprocessors import reads, service
from registry.subprocessors.conformance import flow_down_conformance
from registry.subprocessors.schemas import (
    ChainNode,
    EngagementCreate,
    EngagementEnd,
    EngagementRead,
    EngagementUpdate,
    FlowDownConformance,
    Objection,
)

VendorId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The processor's vendor id")]
EngagementId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The engagement's id")]


class VendorSubprocessorController(Controller):
    """The sub-processors a processor (a vendor) engaged."""

    path = "/vendors/{vendor_id:int}/subprocessors"
    tags = ["subprocessors"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_vendor_subprocessors", responses=problem_responses(404))
    async def list_subprocessors(self, vendor_id: VendorId) -> list[EngagementRead]:
        return await reads.engaged_by(vendor_id)

    @get("/tree", operation_id="get_vendor_subprocessor_tree", responses=problem_responses(404))
    async def get_tree(self, vendor_id: VendorId) -> ChainNode:
        return await reads.tree(vendor_id)

    @post(
        "/",
        operation_id="create_subprocessor_engagement",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 413, 422),
    )
    async def create_engagement(
        self, vendor_id: VendorId, data: EngagementCreate, ctx: WriteContext
    ) -> Response[EngagementRead]:
        engagement = await service.create_engagement(ctx, vendor_id, data)
        return versioned(engagement, 201, f"/subprocessor-engagements/{engagement.id}")


class EngagementController(Controller):
    """One sub-processor engagement: read, change, end, object to."""

    path = "/subprocessor-engagements"
    tags = ["subprocessors"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/{engagement_id:int}", operation_id="get_subprocessor_engagement", responses=problem_responses(404))
    async def get_engagement(self, engagement_id: EngagementId) -> Response[EngagementRead]:
        return versioned(await reads.get_engagement(engagement_id))

    @get(
        "/{engagement_id:int}/conformance",
        operation_id="get_subprocessor_flow_down_conformance",
        responses=problem_responses(404),
        description="GDPR Art. 28(4) (rule gdpr-28-4): the clauses of the processor's contract with us "
        "that the flow-down contract lacks.",
    )
    async def get_conformance(self, engagement_id: EngagementId) -> FlowDownConformance:
        return await flow_down_conformance(engagement_id)

    @patch(
        "/{engagement_id:int}",
        operation_id="update_subprocessor_engagement",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def update_engagement(
        self, request: Request, engagement_id: EngagementId, data: EngagementUpdate, ctx: WriteContext
    ) -> Response[EngagementRead]:
        return versioned(await service.update_engagement(ctx, engagement_id, data, if_match_version(request)))

    @post(
        "/{engagement_id:int}/end",
        operation_id="end_subprocessor_engagement",
        status_code=200,
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def end_engagement(
        self, request: Request, engagement_id: EngagementId, data: EngagementEnd, ctx: WriteContext
    ) -> Response[EngagementRead]:
        return versioned(await service.end_engagement(ctx, engagement_id, data, if_match_version(request)))

    @post(
        "/{engagement_id:int}/objection",
        operation_id="object_to_subprocessor",
        status_code=200,
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def object_to(
        self, request: Request, engagement_id: EngagementId, data: Objection, ctx: WriteContext
    ) -> Response[EngagementRead]:
        return versioned(await service.object_to(ctx, engagement_id, data, if_match_version(request)))

    @delete(
        "/{engagement_id:int}",
        operation_id="delete_subprocessor_engagement",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409),
        description="Only an engagement recorded in error, with nothing resting on it; otherwise end it.",
    )
    async def delete_engagement(self, engagement_id: EngagementId, ctx: WriteContext) -> None:
        await service.delete_engagement(ctx, engagement_id)
