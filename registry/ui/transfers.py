"""The transfer record's form in the web interface: the mechanism of a disclosure's international
transfer, written by the same service as PUT /disclosures/{id}/transfer."""

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from registry import words
from registry.disclosures.service import get_disclosure
from registry.enums import Derogation, Role, TransferMechanism
from registry.errors import RegistryError
from registry.transfers.schemas import TransferRead, TransferWrite
from registry.transfers.service import get_transfer, put_transfer
from registry.ui.forms import Field, choices, form_values
from registry.ui.pages import FORM_LIMIT, PAGE_ERRORS, bounded_id, signed_in, write_context
from registry.ui.submit import form_page, posted_form, submit, version_of

TRANSFER = [
    Field("mechanism", "Mechanism", "select", required=True, choices=choices(TransferMechanism, "mechanism")),
    Field(
        "scc_module",
        "SCC module",
        "select",
        choices=[(k, v, 0) for k, v in words.SCC_MODULES.items()],
        hint="Standard contractual clauses only.",
    ),
    Field(
        "derogation",
        "Derogation relied on (GDPR Art. 49(1))",
        "select",
        choices=choices(Derogation, "derogation"),
        hint="Derogations only.",
    ),
    Field("dpf_certified", "The recipient is certified under the EU-U.S. Data Privacy Framework", "checkbox"),
    Field("mechanism_reference", "Approval, assessment or certificate number"),
    Field("filing_date", "Standard contract filed with the CAC on", "date"),
    Field("filing_number", "Filing number"),
    Field(
        "separate_consent_reference",
        "Separate consent (PIPL Art. 39)",
        hint="Data leaving China: the separate consent the users gave.",
    ),
    Field("tia_date", "Transfer impact assessment made on", "date"),
    Field("tia_reference", "Assessment reference"),
    Field("tia_review_by", "Assessment to be reviewed by", "date"),
    Field("notes", "Notes", "textarea"),
]


def _spec(disclosure, version: int | None) -> dict[str, Any]:
    route = f"{words.country(disclosure.origin)} to {words.country(disclosure.country)}"
    return {
        "heading": f"Transfer record: {disclosure.vendor_name}, {route}",
        "intro": "What makes this international transfer lawful: GDPR Chapter V for data leaving the EEA, "
        "PIPL Art. 38-39 for data leaving China.",
        "action": f"/ui/disclosures/{disclosure.id}/transfer",
        "fields": TRANSFER,
        "version": version,
        "submit": "Save transfer record",
    }


async def _existing(disclosure_id: int) -> TransferRead | None:
    try:
        return await get_transfer(disclosure_id)
    except RegistryError as error:
        if error.status == 404:
            return None
        raise


class TransferPagesController(Controller):
    """The transfer record form of a disclosure."""

    path = "/ui"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    @get("/disclosures/{disclosure_id:int}/transfer")
    async def transfer_page(self, request: Request, disclosure_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        disclosure = await get_disclosure(bounded_id(disclosure_id))
        record = await _existing(disclosure.id)
        values = form_values(TRANSFER, record.model_dump(mode="json")) if record else {}
        return form_page(request, actor, csrf, _spec(disclosure, record and record.version), values)

    @post("/disclosures/{disclosure_id:int}/transfer", request_max_body_size=FORM_LIMIT)
    async def save_transfer(self, request: Request, disclosure_id: int) -> Response:
        posted = await posted_form(request)
        disclosure, version = await get_disclosure(bounded_id(disclosure_id)), version_of(posted[2])
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            _spec(disclosure, version),
            TransferWrite,
            lambda data: put_transfer(ctx, disclosure.id, data, version),
            f"/ui/vendors/{disclosure.vendor_id}",
            notice="transfer",
        )
