"""HTTP routes for reading and verifying the change log. Nothing here writes."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from registry.auth import API_KEY, needs
from registry.changes.schemas import ChainVerification, ChangeRead
from registry.changes.service import verify_chain
from registry.enums import Role
from registry.errors import problem_responses
from registry.schemas import MAX_OFFSET, Page, utc_param
from registry.tables import Change


class ChangeController(Controller):
    """The tamper-evident history of every write."""

    path = "/changes"
    tags = ["changes"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/", operation_id="list_changes", responses=problem_responses())
    async def list_changes(
        self,
        object_type: Annotated[str | None, Parameter(max_length=40)] = None,
        object_id: Annotated[str | None, Parameter(max_length=100)] = None,
        since: Annotated[datetime | None, Parameter(description="Only changes at or after this time")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Page[ChangeRead]:
        where = []
        if object_type:
            where.append(Change.object_type == object_type)
        if object_id:
            where.append(Change.object_id == object_id)
        if since := utc_param(since, "since"):
            where.append(Change.created_at >= since)
        query, count = Change.select().output(load_json=True), Change.count()
        if where:
            query, count = query.where(*where), count.where(*where)
        rows = await query.order_by(Change.id).limit(limit).offset(offset)
        return Page[ChangeRead](
            items=[ChangeRead(**r) for r in rows], total=await count, limit=limit, offset=offset
        )

    @get("/verify", operation_id="verify_changes", responses=problem_responses())
    async def verify_changes(self) -> ChainVerification:
        return ChainVerification(**asdict(await verify_chain()))
