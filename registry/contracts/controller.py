"""HTTP routes for contracts and their signed documents."""

from typing import Annotated, Literal

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.contracts import service
from registry.contracts.conformance import Framework
from registry.contracts.schemas import (
    ContractConformance,
    ContractCreate,
    ContractRead,
    ContractTermination,
    ContractUpdate,
)
from registry.enums import ContractKind, ContractStatus, Role
from registry.errors import problem_responses
from registry.http import FILENAME, if_match_version, read_bounded, stored_file, versioned
from registry.schemas import MAX_ID, MAX_OFFSET, Page

ContractId = Annotated[int, Parameter(ge=1, le=MAX_ID, description="The contract's id")]
Sort = Literal[
    "id",
    "-id",
    "title",
    "-title",
    "effective_from",
    "-effective_from",
    "ends_on",
    "-ends_on",
    "created_at",
    "-created_at",
]


class ContractController(Controller):
    """Confidentiality contracts (NDA, DPA, MSA, SoW) with vendors."""

    path = "/contracts"
    tags = ["contracts"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_contracts", responses=problem_responses())
    async def list_contracts(
        self,
        vendor_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        kind: ContractKind | None = None,
        status: ContractStatus | None = None,
        sort: Sort = "id",
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[ContractRead]:
        f = service.ContractFilter(
            vendor_id=vendor_id, kind=kind, status=status, sort=sort, limit=limit, offset=offset
        )
        items, total = await service.list_contracts(f)
        return Page[ContractRead](items=items, total=total, limit=limit, offset=offset)

    @post(
        "/",
        operation_id="create_contract",
        opt=needs(Role.editor),
        responses=problem_responses(409, 413, 422),
    )
    async def create_contract(self, data: ContractCreate, ctx: WriteContext) -> Response[ContractRead]:
        contract = await service.create_contract(ctx, data)
        return versioned(contract, 201, f"/contracts/{contract.id}")

    @get("/{contract_id:int}", operation_id="get_contract", responses=problem_responses(404))
    async def get_contract(self, contract_id: ContractId) -> Response[ContractRead]:
        contract = await service.get_contract(contract_id)
        return versioned(contract)

    @patch(
        "/{contract_id:int}",
        operation_id="update_contract",
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def update_contract(
        self, request: Request, contract_id: ContractId, data: ContractUpdate, ctx: WriteContext
    ) -> Response[ContractRead]:
        contract = await service.update_contract(ctx, contract_id, data, if_match_version(request))
        return versioned(contract)

    @get(
        "/{contract_id:int}/conformance",
        operation_id="get_contract_conformance",
        responses=problem_responses(404),
        description="The clauses GDPR Art. 28(3), PIPL Art. 21 and the policy §6.1 require, each with "
        "whether the contract records it and the fields that record it.",
    )
    async def get_conformance(
        self,
        contract_id: ContractId,
        framework: Annotated[
            list[Framework] | None, Parameter(description="Only these frameworks; default all.")
        ] = None,
    ) -> ContractConformance:
        return await service.contract_conformance(contract_id, set(framework) if framework else None)

    @post(
        "/{contract_id:int}/terminate",
        operation_id="terminate_contract",
        status_code=200,
        opt=needs(Role.editor),
        responses=problem_responses(404, 409, 412, 413, 422),
    )
    async def terminate_contract(
        self, request: Request, contract_id: ContractId, data: ContractTermination, ctx: WriteContext
    ) -> Response[ContractRead]:
        contract = await service.terminate_contract(ctx, contract_id, data, if_match_version(request))
        return versioned(contract)

    @put(
        "/{contract_id:int}/document",
        operation_id="upload_contract_document",
        opt=needs(Role.editor),
        request_max_body_size=None,
        responses=problem_responses(404, 413, 415, 422),
        description="The body is the file itself (PDF, DOCX, PNG or JPEG) with its Content-Type.",
    )
    async def upload_document(
        self,
        request: Request,
        contract_id: ContractId,
        ctx: WriteContext,
        filename: Annotated[
            str | None, Parameter(pattern=FILENAME, description="Name to store it under")
        ] = None,
    ) -> ContractRead:
        content = await read_bounded(request, request.app.state["settings"].max_upload_bytes)
        return await service.upload_document(
            ctx, contract_id, content, request.headers.get("content-type", ""), filename
        )

    @get(
        "/{contract_id:int}/document",
        operation_id="get_contract_document",
        responses=problem_responses(404),
        media_type="application/octet-stream",
    )
    async def get_document(self, contract_id: ContractId) -> Response[bytes]:
        stored = await service.get_document(contract_id)
        return stored_file(stored, f"contract-{contract_id}-document")
