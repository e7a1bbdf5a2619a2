"""The deletion's page: its requests to the vendor (state, e-mails, what the vendor submitted) and the
legal team's actions: send, re-send, cancel a request; accept or return a submission with reasons."""

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from pydantic import ValidationError

from registry import words
from registry.deletions.service import get_deletion
from registry.enums import Role
from registry.errors import RegistryError
from registry.http import read_form
from registry.portal import requests, submissions
from registry.portal.schemas import ReturnReasons
from registry.ui.forms import errors_of
from registry.ui.pages import (
    FORM_LIMIT,
    PAGE_ERRORS,
    bounded_id,
    check_csrf,
    render_page,
    signed_in,
    write_context,
)

ACTIONS = {"send": requests.send, "resend": requests.resend, "cancel": requests.cancel}


class DeletionPageController(Controller):
    """/ui/deletions/{id}: a deletion and its requests to the vendor."""

    path = "/ui/deletions/{obligation_id:int}"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/")
    async def deletion_page(self, request: Request, obligation_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.viewer)
        return await _page(request, actor, csrf, bounded_id(obligation_id))

    @post("/request/{action:str}", request_max_body_size=FORM_LIMIT)
    async def request_action(self, request: Request, obligation_id: int, action: str) -> Response:
        actor, csrf = await signed_in(request, Role.editor)
        check_csrf(await read_form(request), csrf)
        obligation_id = bounded_id(obligation_id)  # before the try: its 404 must not re-render the page
        if action not in ACTIONS:
            return await _page(request, actor, csrf, obligation_id, 404, error="No such action.")
        try:
            await ACTIONS[action](write_context(request, actor), obligation_id)
        except RegistryError as error:
            return await _page(request, actor, csrf, obligation_id, error.status, error=error.detail)
        return Redirect(f"/ui/deletions/{obligation_id}", status_code=303)

    @post("/submissions/{submission_id:int}/{verdict:str}", request_max_body_size=FORM_LIMIT)
    async def review(
        self, request: Request, obligation_id: int, submission_id: int, verdict: str
    ) -> Response:
        actor, csrf = await signed_in(request, Role.editor)
        form = await read_form(request)
        check_csrf(form, csrf)
        ctx, ids = write_context(request, actor), (bounded_id(obligation_id), bounded_id(submission_id))
        try:
            if verdict == "accept":
                await submissions.accept(ctx, *ids)
            elif verdict == "return":
                reasons = ReturnReasons.model_validate({"reasons": form.get("reasons", "")})
                await submissions.send_back(ctx, *ids, reasons.reasons)
            else:
                return await _page(request, actor, csrf, ids[0], 404, error="No such review.")
        except ValidationError as error:
            message = errors_of(error, []).get("form", "Give the reasons.")
            return await _page(request, actor, csrf, ids[0], 400, error=f"Reasons: {message}")
        except RegistryError as error:
            return await _page(request, actor, csrf, ids[0], error.status, error=error.detail)
        return Redirect(f"/ui/deletions/{obligation_id}", status_code=303)


async def _page(
    request: Request, actor, csrf: str, obligation_id: int, status: int = 200, error=None
) -> Template:
    deletion = await get_deletion(obligation_id)
    return render_page(
        request,
        "deletion.html.j2",
        status,
        actor=actor,
        csrf=csrf,
        deletion=deletion,
        vendor_requests=await requests.list_for_deletion(obligation_id),
        words=await words.load(),
        error=error,
    )
