"""HTTP routes for vendors."""

from typing import Annotated, Literal

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.contracts import service as contracts
from registry.contracts.conformance import Framework
from registry.contracts.schemas import VendorConformance
from registry.enums import Role, VendorKind, VendorStatus
from registry.errors import problem_responses
from registry.http import if_match_version, versioned
from registry.schemas import MAX_ID, MAX_OFFSET, Page, country_param
from registry.vendors import service
from registry.vendors.schemas import VendorCreate, VendorRead, VendorUpdate

VendorId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The vendor's id")]
Sort = Literal[
    "name",
    "-name",
    "country",
    "-country",
    "kind",
    "-kind",
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "id",
    "-id",
]


class VendorController(Controller):
    """Third parties that receive personal data."""

    path = "/vendors"
    tags = ["vendors"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_vendors", responses=problem_responses())
    async def list_vendors(
        self,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Text in name, legal name or notes")
        ] = None,
        kind: VendorKind | None = None,
        country: Annotated[
            str | None, Parameter(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
        ] = None,
        status: VendorStatus | None = None,
        tag: Annotated[str | None, Parameter(pattern="^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")] = None,
        conformance: Annotated[
            Literal["gaps", "complete"] | None,
            Parameter(
                description="gaps: a current contract lacks a required clause; complete: has current "
                "contracts and none lacks one (see GET /contracts/{id}/conformance)."
            ),
        ] = None,
        sort: Sort = "name",
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[VendorRead]:
        f = service.VendorFilter(
            q=q,
            kind=kind,
            country=country_param(country),
            status=status,
            tag=tag.lower() if tag else None,
            conformance=conformance,
            sort=sort,
            limit=limit,
            offset=offset,
        )
        items, total = await service.list_vendors(f)
        return Page[VendorRead](items=items, total=total, limit=limit, offset=offset)

    @post(
        "/",
        operation_id="create_vendor",
        opt=needs(Role.editor),
        responses=problem_responses(409, 413, 422),
    )
    async def create_vendor(self, data: VendorCreate, ctx: WriteContext) -> Response[VendorRead]:
        vendor = await service.create_vendor(ctx, data)
        return versioned(vendor, 201, f"/vendors/{vendor.id}")

    @get("/{vendor_id:int}", operation_id="get_vendor", responses=problem_responses(404))
    async def get_vendor(self, vendor_id: VendorId) -> Response[VendorRead]:
        vendor = await service.get_vendor(vendor_id)
        return versioned(vendor)

    @get(
        "/{vendor_id:int}/conformance",
        operation_id="get_vendor_conformance",
        responses=problem_responses(404),
        description="Every contract of the vendor against the required clauses, and the clauses its "
        "current contracts lack.",
    )
    async def get_conformance(
        self,
        vendor_id: VendorId,
        framework: Annotated[
            list[Framework] | None, Parameter(description="Only these frameworks; default all.")
        ] = None,
    ) -> VendorConformance:
        return await contracts.vendor_conformance(vendor_id, set(framework) if framework else None)

    @patch(
        "/{vendor_id:int}",
        operation_id="update_vendor",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def update_vendor(
        self, request: Request, vendor_id: VendorId, data: VendorUpdate, ctx: WriteContext
    ) -> Response[VendorRead]:
        vendor = await service.update_vendor(ctx, vendor_id, data, if_match_version(request))
        return versioned(vendor)

    @delete(
        "/{vendor_id:int}",
        operation_id="delete_vendor",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409),
    )
    async def delete_vendor(self, vendor_id: VendorId, ctx: WriteContext) -> None:
        await service.delete_vendor(ctx, vendor_id)
