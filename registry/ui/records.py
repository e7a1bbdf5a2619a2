"""Pages that record contracts, terminations, disclosures, deletion confirmations and attestations.

Each form is described once (registry/ui/forms.py), validated by the API's own schema and written by the
same service function as the API, so the same rules apply and the change log names the person. What a
posted form goes through is registry/ui/submit.py.
"""

from litestar import Controller, Request, Response, get, post
from litestar.response import Template

from registry import words
from registry.attestations import service as attestations
from registry.contracts.schemas import ContractCreate, ContractTermination, ContractUpdate
from registry.contracts.service import (
    create_contract,
    get_contract,
    terminate_contract,
    update_contract,
)
from registry.deletions.schemas import ConfirmationCreate
from registry.deletions.service import add_confirmation, get_deletion
from registry.disclosures.schemas import DisclosureCreate, DisclosureUpdate
from registry.disclosures.service import create_disclosure, get_disclosure, update_disclosure
from registry.enums import Role
from registry.ui import checks
from registry.ui.forms import form_values
from registry.ui.pages import (
    FORM_LIMIT,
    PAGE_ERRORS,
    UPLOAD_CAP,
    bounded_id,
    notice_redirect,
    refuse_large_body,
    signed_in,
    write_context,
)
from registry.ui.record_forms import (
    CONTRACT_EDIT,
    NEW_VENDOR,
    VENDOR,
    confirmation_form,
    contract_form,
    disclosure_defaults,
    disclosure_fields,
    disclosure_form,
    edit_form,
    remaining,
    termination_form,
)
from registry.ui.submit import form_page, posted_form, read_upload, submit, version_of
from registry.ui.subprocessor_fields import subprocessor_answers
from registry.vendors.schemas import VendorCreate, VendorUpdate
from registry.vendors.service import create_vendor, get_vendor, update_vendor


class RecordsController(Controller):
    path = "/ui"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    # --- contracts ---------------------------------------------------------------------------------

    @get("/vendors/{vendor_id:int}/contracts/new")
    async def new_contract(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        defaults = {"kind": "dpa", "end_of_contract": "delete", "deletion_deadline_days": "30"}
        return form_page(request, actor, csrf, contract_form(vendor), defaults)

    @post("/vendors/{vendor_id:int}/contracts/new", request_max_body_size=UPLOAD_CAP)
    async def create_contract_form(self, request: Request, vendor_id: int) -> Response:
        settings = request.app.state["settings"]
        refuse_large_body(request, settings.max_upload_bytes + FORM_LIMIT)
        posted = await posted_form(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        errors: dict[str, str] = {}
        upload = await read_upload(posted[2], posted[0].name, settings.max_upload_bytes, errors)
        ctx = write_context(request, posted[0])
        # The contract and its file in one transaction: never one without the other.
        return await submit(
            request,
            posted,
            contract_form(vendor),
            ContractCreate,
            lambda data: create_contract(ctx, data, upload.document),
            f"/ui/vendors/{vendor.id}",
            notice="contract",
            extra=lambda values: {"vendor_id": vendor.id},
            errors=errors,
            checks=checks.contract,
            upload=upload,
        )

    @get("/contracts/{contract_id:int}/terminate")
    async def terminate_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        contract = await get_contract(bounded_id(contract_id))
        return form_page(request, actor, csrf, await termination_form(contract), {})

    @post("/contracts/{contract_id:int}/terminate", request_max_body_size=FORM_LIMIT)
    async def terminate(self, request: Request, contract_id: int) -> Response:
        posted = await posted_form(request)
        contract = await get_contract(bounded_id(contract_id))
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            await termination_form(contract),
            ContractTermination,
            lambda data: terminate_contract(ctx, contract.id, data),
            f"/ui/vendors/{contract.vendor_id}",
            notice="terminated",
        )

    # --- disclosures -------------------------------------------------------------------------------

    @get("/vendors/{vendor_id:int}/disclosures/new")
    async def new_disclosure(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = disclosure_form(vendor, await disclosure_fields(vendor.id))
        return form_page(request, actor, csrf, spec, await disclosure_defaults(vendor.id))

    @post("/vendors/{vendor_id:int}/disclosures/new", request_max_body_size=FORM_LIMIT)
    async def create_disclosure_form(self, request: Request, vendor_id: int) -> Response:
        posted = await posted_form(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = disclosure_form(vendor, await disclosure_fields(vendor.id))
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            spec,
            DisclosureCreate,
            lambda data: create_disclosure(ctx, data, request.app.state["settings"].origin_country),
            f"/ui/vendors/{vendor.id}",
            notice="disclosure",
            extra=lambda values: {"vendor_id": vendor.id},
            checks=checks.disclosure,
        )

    # --- vendors -----------------------------------------------------------------------------------

    @get("/vendors/new")
    async def new_vendor_page(self, request: Request) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        return form_page(request, actor, csrf, NEW_VENDOR, {})

    @post("/vendors/new", request_max_body_size=FORM_LIMIT)
    async def create_vendor_form(self, request: Request) -> Response:
        posted = await posted_form(request)
        ctx = write_context(request, posted[0])
        # As this page always has: a refusal keeps the service's status (409 for a name taken), and
        # one that names no field (the name taken) is shown beside the name.
        return await submit(
            request,
            posted,
            NEW_VENDOR,
            VendorCreate,
            lambda data: create_vendor(ctx, data),
            lambda vendor: f"/ui/vendors/{vendor.id}",
            notice="vendor",
            checks=checks.vendor,
            keep_status=True,
            unplaced="name",
        )

    # --- editing -------------------------------------------------------------------------------------
    # Each edit form carries the version it was opened at: a change saved meanwhile by someone else is
    # reported (412 from the service) instead of being overwritten.

    @get("/vendors/{vendor_id:int}/edit")
    async def edit_vendor_page(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, vendor.version)
        return form_page(request, actor, csrf, spec, form_values(VENDOR, vendor.model_dump(mode="json")))

    @post("/vendors/{vendor_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_vendor(self, request: Request, vendor_id: int) -> Response:
        posted = await posted_form(request)
        vendor, version = await get_vendor(bounded_id(vendor_id)), version_of(posted[2])
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, version),
            VendorUpdate,
            lambda data: update_vendor(ctx, vendor.id, data, version),
            f"/ui/vendors/{vendor.id}",
            notice="vendor",
            editing=True,
            checks=lambda values: checks.vendor(values, vendor.id),
        )

    @get("/contracts/{contract_id:int}/edit")
    async def edit_contract_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        contract = await get_contract(bounded_id(contract_id))
        action = f"/ui/contracts/{contract.id}/edit"
        spec = edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, contract.version)
        if contract.document:  # the contract's page: its signed document opens from here too
            spec["document"] = {
                "href": f"/ui/contracts/{contract.id}/document",
                **contract.document.model_dump(),
            }
        values = form_values(CONTRACT_EDIT, contract.model_dump(mode="json"))
        return form_page(request, actor, csrf, spec, values)

    @post("/contracts/{contract_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_contract(self, request: Request, contract_id: int) -> Response:
        posted = await posted_form(request)
        contract, version = await get_contract(bounded_id(contract_id)), version_of(posted[2])
        ctx = write_context(request, posted[0])
        action = f"/ui/contracts/{contract.id}/edit"
        return await submit(
            request,
            posted,
            edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, version),
            ContractUpdate,
            lambda data: update_contract(ctx, contract.id, data, version),
            f"/ui/vendors/{contract.vendor_id}",
            notice="contract",
            editing=True,
            checks=lambda values: checks.contract(values, contract.id),
        )

    @get("/disclosures/{disclosure_id:int}/edit")
    async def edit_disclosure_page(self, request: Request, disclosure_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        disclosure = await get_disclosure(bounded_id(disclosure_id))
        fields = await disclosure_fields(disclosure.vendor_id)
        action = f"/ui/disclosures/{disclosure.id}/edit"
        spec = edit_form("Edit disclosure", action, fields, disclosure.version)
        return form_page(request, actor, csrf, spec, form_values(fields, disclosure.model_dump(mode="json")))

    @post("/disclosures/{disclosure_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_disclosure(self, request: Request, disclosure_id: int) -> Response:
        posted = await posted_form(request)
        disclosure, version = await get_disclosure(bounded_id(disclosure_id)), version_of(posted[2])
        fields = await disclosure_fields(disclosure.vendor_id)
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            edit_form("Edit disclosure", f"/ui/disclosures/{disclosure.id}/edit", fields, version),
            DisclosureUpdate,
            lambda data: update_disclosure(ctx, disclosure.id, data, version),
            f"/ui/vendors/{disclosure.vendor_id}",
            notice="disclosure",
            editing=True,
            # Left empty, the role and the origin stay as they are (neither can be cleared).
            extra=lambda values: {k: getattr(disclosure, k) for k in ("role", "origin") if not values.get(k)},
            checks=checks.disclosure,
        )

    # --- deletions and attestations -----------------------------------------------------------------

    @get("/deletions/{obligation_id:int}/confirm")
    async def confirm_page(self, request: Request, obligation_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        deletion = await get_deletion(bounded_id(obligation_id))
        return form_page(request, actor, csrf, confirmation_form(deletion, await words.load()), {})

    @post("/deletions/{obligation_id:int}/confirm", request_max_body_size=FORM_LIMIT)
    async def confirm(self, request: Request, obligation_id: int) -> Response:
        posted = await posted_form(request)
        deletion = await get_deletion(bounded_id(obligation_id))
        ctx = write_context(request, posted[0])
        return await submit(
            request,
            posted,
            confirmation_form(deletion, await words.load()),
            ConfirmationCreate,
            lambda data: add_confirmation(ctx, deletion.id, data),
            f"/ui/vendors/{deletion.vendor_id}",
            notice="confirmation",
            extra=lambda values: remaining(values["remaining"]) | subprocessor_answers(deletion, values),
            checks=checks.confirmation(deletion),
        )

    @post("/deletions/{obligation_id:int}/attestation", request_max_body_size=FORM_LIMIT)
    async def issue_attestation(self, request: Request, obligation_id: int) -> Response:
        actor, _, _ = await posted_form(request)
        deletion = await get_deletion(bounded_id(obligation_id))
        await attestations.issue(
            write_context(request, actor),
            deletion.id,
            request.app.state["settings"],
            request.app.state["pdf_pool"].render,
        )
        return notice_redirect(f"/ui/vendors/{deletion.vendor_id}", "attestation")
