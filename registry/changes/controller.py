"""HTTP routes for reading and verifying the change log. Nothing here writes."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter

from registry.auth import API_KEY, needs
from registry.changes import checkpoints
from registry.changes.records import verify_records
from registry.changes.schemas import ChainVerification, ChangeRead, CheckpointRead
from registry.changes.service import list_changes
from registry.changes.verify import verify_chain
from registry.enums import Role
from registry.errors import problem_responses
from registry.ratelimit import rate_limited_public
from registry.schemas import MAX_OFFSET, Page, utc_param


class ChangeController(Controller):
    """The tamper-evident history of every write."""

    path = "/changes"
    tags = ["changes"]
    opt = needs(Role.viewer)
    # Per route, not here: Litestar adds a layer's security to its routes', and the checkpoints are public.

    @get("/", operation_id="list_changes", security=API_KEY, responses=problem_responses())
    async def list_changes(
        self,
        object_type: Annotated[str | None, Parameter(max_length=40)] = None,
        object_id: Annotated[str | None, Parameter(max_length=100)] = None,
        since: Annotated[datetime | None, Parameter(description="Only changes at or after this time")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[ChangeRead]:
        rows, total = await list_changes(object_type, object_id, utc_param(since, "since"), limit, offset)
        return Page[ChangeRead](
            items=[ChangeRead(**r) for r in rows], total=total, limit=limit, offset=offset
        )

    @get("/verify", operation_id="verify_changes", security=API_KEY, responses=problem_responses())
    async def verify_changes(
        self,
        request: Request,
        records: Annotated[
            bool, Parameter(description="Also compare every record with its last change (admin only; slow)")
        ] = False,
    ) -> ChainVerification:
        if records and not request.user.has(Role.admin):
            raise PermissionDeniedException(detail="records=true needs the admin role.")
        report = asdict(await verify_chain(request.app.state["settings"]))
        if records:
            found = [asdict(m) for m in await verify_records()]
            report |= {"records_checked": True, "record_problems": found, "ok": report["ok"] and not found}
        return ChainVerification(**report)

    @get(
        "/checkpoints",
        operation_id="list_checkpoints",
        security=[],
        guards=[rate_limited_public],
        responses=problem_responses(429, public=True),
        description="Public. The signed checkpoints of the change log, newest first.",
    )
    async def list_checkpoints(
        self,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[CheckpointRead]:
        items, total = await checkpoints.list_checkpoints(limit, offset)
        return Page[CheckpointRead](items=items, total=total, limit=limit, offset=offset)
