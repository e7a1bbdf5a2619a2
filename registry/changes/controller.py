"""HTTP routes for reading and verifying the change log. Nothing here writes."""

from dataclasses import asdict
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from registry.auth import API_KEY, needs
from registry.changes.schemas import ChainVerification, ChangeRead
from registry.changes.service import list_changes, verify_chain
from registry.enums import Role
from registry.errors import problem_responses
from registry.schemas import MAX_OFFSET, Page


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
        rows, total = await list_changes(object_type, object_id, since, limit, offset)
        return Page[ChangeRead](
            items=[ChangeRead(**r) for r in rows], total=total, limit=limit, offset=offset
        )

    @get("/verify", operation_id="verify_changes", responses=problem_responses())
    async def verify_changes(self) -> ChainVerification:
        return ChainVerification(**asdict(await verify_chain()))
