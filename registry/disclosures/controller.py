"""HTTP routes for disclosures."""

from datetime import date
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.disclosures import service
from registry.disclosures.schemas import DisclosureCreate, DisclosureEnd, DisclosureRead, DisclosureUpdate
from registry.enums import LegalBasis, RecipientRole, Role
from registry.errors import problem_responses
from registry.http import if_match_version, versioned
from registry.schemas import MAX_ID, MAX_OFFSET, Page

DisclosureId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The disclosure's id")]


class DisclosureController(Controller):
    """What each vendor receives: categories, data subjects, purpose, basis, period."""

    path = "/disclosures"
    tags = ["disclosures"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_disclosures", responses=problem_responses())
    async def list_disclosures(
        self,
        vendor_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        contract_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        basis: LegalBasis | None = None,
        role: RecipientRole | None = None,
        as_of: Annotated[date | None, Parameter(description="Only disclosures valid on this day")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[DisclosureRead]:
        f = service.DisclosureFilter(vendor_id, contract_id, basis, as_of, limit, offset, role)
        items, total = await service.list_disclosures(f)
        return Page[DisclosureRead](items=items, total=total, limit=limit, offset=offset)

    @post(
        "/",
        operation_id="create_disclosure",
        opt=needs(Role.editor),
        responses=problem_responses(409, 413, 422),
    )
    async def create_disclosure(self, data: DisclosureCreate, ctx: WriteContext) -> Response[DisclosureRead]:
        disclosure = await service.create_disclosure(ctx, data)
        return versioned(disclosure, 201, f"/disclosures/{disclosure.id}")

    @get("/{disclosure_id:int}", operation_id="get_disclosure", responses=problem_responses(404))
    async def get_disclosure(self, disclosure_id: DisclosureId) -> Response[DisclosureRead]:
        disclosure = await service.get_disclosure(disclosure_id)
        return versioned(disclosure)

    @patch(
        "/{disclosure_id:int}",
        operation_id="update_disclosure",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def update_disclosure(
        self, request: Request, disclosure_id: DisclosureId, data: DisclosureUpdate, ctx: WriteContext
    ) -> Response[DisclosureRead]:
        disclosure = await service.update_disclosure(ctx, disclosure_id, data, if_match_version(request))
        return versioned(disclosure)

    @post(
        "/{disclosure_id:int}/end",
        operation_id="end_disclosure",
        status_code=200,
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def end_disclosure(
        self, request: Request, disclosure_id: DisclosureId, data: DisclosureEnd, ctx: WriteContext
    ) -> Response[DisclosureRead]:
        disclosure = await service.end_disclosure(ctx, disclosure_id, data, if_match_version(request))
        return versioned(disclosure)
