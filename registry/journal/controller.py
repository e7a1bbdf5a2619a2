"""HTTP routes for the journal."""

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.enums import JournalKind, JournalObject, Role
from registry.errors import problem_responses
from registry.journal import service
from registry.journal.schemas import JournalCreate, JournalRead
from registry.schemas import MAX_ID, MAX_OFFSET, Page

IdParam = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]


class JournalController(Controller):
    """Notes, warnings, findings and reviews on vendors, contracts, deletions and attestations.
    Append-only: there is no route to change or delete an entry."""

    path = "/journal"
    tags = ["journal"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_journal", responses=problem_responses())
    async def list_entries(
        self,
        object_type: JournalObject | None = None,
        object_id: IdParam = None,
        vendor_id: Annotated[
            int | None, Parameter(ge=1, le=MAX_ID, description="Entries on the vendor and all its records")
        ] = None,
        kind: JournalKind | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[JournalRead]:
        f = service.JournalFilter(object_type, object_id, vendor_id, kind, limit, offset)
        items, total = await service.list_entries(f)
        return Page[JournalRead](items=items, total=total, limit=limit, offset=offset)

    @post(
        "/", operation_id="add_journal_entry", opt=needs(Role.editor), responses=problem_responses(413, 422)
    )
    async def add_entry(self, data: JournalCreate, ctx: WriteContext) -> Response[JournalRead]:
        entry = await service.add_entry(ctx, data)
        return Response(entry, status_code=201, headers={"Location": f"/journal/{entry.id}"})

    @get("/{entry_id:int}", operation_id="get_journal_entry", responses=problem_responses(404))
    async def get_entry(
        self, entry_id: Annotated[int, Parameter(ge=1, le=MAX_ID, description="The entry's id")]
    ) -> JournalRead:
        return await service.get_entry(entry_id)
