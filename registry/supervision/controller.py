"""HTTP route for the supervision report."""

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import Parameter

from registry.auth import API_KEY, WriteContext, needs
from registry.deletions import service as deletions
from registry.enums import Role
from registry.errors import problem_responses
from registry.supervision import service
from registry.supervision.schemas import SupervisionReport


class SupervisionController(Controller):
    """What needs the legal team's attention (PIPL Art. 21: the handler supervises its trustees)."""

    path = "/reports"
    tags = ["supervision"]
    opt = needs(Role.viewer)
    security = API_KEY

    @get("/supervision", operation_id="supervision_report", responses=problem_responses())
    async def supervision(
        self,
        request: Request,
        ctx: WriteContext,
        within: Annotated[
            int, Parameter(ge=0, le=3650, description="Days ahead that count as due soon.")
        ] = 30,
        review_months: Annotated[
            int, Parameter(ge=1, le=120, description="A vendor holding data is reviewed at least this often.")
        ] = 12,
        limit: Annotated[
            int, Parameter(ge=1, le=100_000, description="At most this many items, most urgent first.")
        ] = 1000,
    ) -> SupervisionReport:
        # Contracts that expired since anyone looked open their deletion obligations first.
        await deletions.open_expired(ctx.request_id)
        grace = request.app.state["settings"].first_review_grace_days
        return await service.supervision_report(within, review_months, limit, grace)
