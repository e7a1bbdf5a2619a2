"""Pages that record a processor's sub-processor engagement and our objection to one (the forms are
described with registry/ui/forms.py fields and written by registry/subprocessors/service.py)."""

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from registry import words
from registry.contracts.service import ContractFilter, list_contracts
from registry.enums import Authorisation, Role
from registry.subprocessors import service
from registry.subprocessors.reads import get_engagement
from registry.subprocessors.schemas import EngagementCreate, Objection
from registry.ui.forms import Field, choices
from registry.ui.pages import FORM_LIMIT, PAGE_ERRORS, bounded_id, signed_in, write_context
from registry.ui.submit import form_page, posted_form, submit
from registry.vendors.service import VendorFilter, get_vendor, list_vendors

OBJECTION = [
    Field("objected_on", "Objected on", "date", required=True, hint="By the objection deadline."),
    Field("reason", "Why we object", "textarea", required=True),
]


def _contract_label(c) -> str:
    return c.title + (f" ({c.reference})" if c.reference else "")


async def engagement_form(vendor) -> dict[str, Any]:
    """The engagement form of a processor: any other vendor as sub-processor, any contract as the
    flow-down contract (the service checks it is with the sub-processor)."""
    others, _ = await list_vendors(VendorFilter(sort="name", limit=200))
    contracts, _ = await list_contracts(ContractFilter(limit=200))
    names = {v.id: v.name for v in others}
    mine = [(str(c.id), _contract_label(c), 0) for c in contracts if c.vendor_id == vendor.id]
    theirs = [
        (str(c.id), f"{names.get(c.vendor_id, 'another vendor')}: {_contract_label(c)}", 0)
        for c in contracts
        if c.vendor_id != vendor.id
    ]
    fields = [
        Field(
            "subprocessor_id",
            "Sub-processor",
            "select",
            required=True,
            choices=[(str(v.id), v.name, 0) for v in others if v.id != vendor.id],
        ),
        Field(
            "authorisation",
            "Our authorisation",
            "select",
            required=True,
            choices=choices(Authorisation, "authorisation"),
        ),
        Field("notified_on", "We were told on", "date", hint="Required for a general authorisation."),
        Field("objection_deadline", "Objections until", "date"),
        Field("valid_from", "Engaged from", "date", required=True),
        Field("valid_to", "Engaged until", "date", hint="Leave empty while it lasts."),
        Field(
            "flow_down_contract_id",
            "Flow-down contract",
            "select",
            choices=theirs,
            hint="The processor's contract with the sub-processor (GDPR Art. 28(4)).",
        ),
        Field("processor_contract_id", f"{vendor.name}'s contract with us", "select", choices=mine),
        Field("notes", "Notes", "textarea"),
    ]
    return {
        "heading": f"New sub-processor of {vendor.name}",
        "intro": f"A vendor {vendor.name} engages to process our users' data on its behalf.",
        "action": f"/ui/vendors/{vendor.id}/subprocessors/new",
        "fields": fields,
        "submit": "Record engagement",
    }


def objection_form(engagement) -> dict[str, Any]:
    deadline = engagement.objection_deadline
    return {
        "heading": f"Object to {engagement.subprocessor_name} as sub-processor of {engagement.engaged_by_name}",
        "intro": f"Objections until {words.day(deadline)}."
        if deadline
        else "No objection deadline is recorded.",
        "action": f"/ui/subprocessor-engagements/{engagement.id}/objection",
        "fields": OBJECTION,
        "submit": "Record objection",
    }


class EngagementPagesController(Controller):
    """The engagement and objection forms."""

    path = "/ui"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/vendors/{vendor_id:int}/subprocessors/new")
    async def new_engagement(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        return form_page(request, actor, csrf, await engagement_form(vendor), {})

    @post("/vendors/{vendor_id:int}/subprocessors/new", request_max_body_size=FORM_LIMIT)
    async def create_engagement(self, request: Request, vendor_id: int) -> Response:
        posted = await posted_form(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            await engagement_form(vendor),
            EngagementCreate,
            lambda data: service.create_engagement(ctx, vendor.id, data),
            f"/ui/vendors/{vendor.id}#subprocessors",
            notice="engagement",
        )

    @get("/subprocessor-engagements/{engagement_id:int}/objection")
    async def objection_page(self, request: Request, engagement_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        engagement = await get_engagement(bounded_id(engagement_id))
        return form_page(request, actor, csrf, objection_form(engagement), {})

    @post("/subprocessor-engagements/{engagement_id:int}/objection", request_max_body_size=FORM_LIMIT)
    async def object_to(self, request: Request, engagement_id: int) -> Response:
        posted = await posted_form(request)
        engagement = await get_engagement(bounded_id(engagement_id))
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            objection_form(engagement),
            Objection,
            lambda data: service.object_to(ctx, engagement.id, data),
            f"/ui/vendors/{engagement.engaged_by_id}#subprocessors",
            notice="objection",
        )
