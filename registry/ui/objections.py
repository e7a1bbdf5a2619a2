"""The legal team's page of customers' objections to notified sub-processor changes (viewer and up)."""

from litestar import Controller, Request, get
from litestar.response import Template

from registry.enums import Role
from registry.notices.objections import list_objections, short_notices, subscriber_count
from registry.ui.pages import PAGE_ERRORS, render_page, signed_in


class ObjectionsPageController(Controller):
    """The page of objections: what customers said of the changes they were notified of."""

    path = "/ui/objections"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/")
    async def objections_page(self, request: Request) -> Template:
        actor, csrf = await signed_in(request, Role.viewer)
        return render_page(
            request,
            "objections.html.j2",
            actor=actor,
            csrf=csrf,
            objections=await list_objections(),
            subscribers=await subscriber_count(),
            short=await short_notices(),
        )
