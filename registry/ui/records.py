"""Pages that record contracts, terminations, disclosures, deletion confirmations and attestations.

Each form is described once (registry/ui/forms.py), validated by the API's own schema and written by the
same service function as the API, so the same rules apply and the change log names the person.
"""

import re
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from pydantic import BaseModel

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
from registry.enums import (
    Role,
)
from registry.errors import RegistryError
from registry.files import check_upload
from registry.http import FILENAME, read_form
from registry.ui.forms import (
    form_values,
    registry_errors,
    validate,
    values_of,
)
from registry.ui.pages import (
    FORM_LIMIT,
    PAGE_ERRORS,
    UPLOAD_CAP,
    bounded_id,
    check_csrf,
    refuse_large_body,
    render_page,
    signed_in,
    write_context,
)
from registry.ui.record_forms import (
    CONTRACT_EDIT,
    NEW_VENDOR,
    VENDOR,
    confirmation_form,
    contract_form,
    disclosure_fields,
    disclosure_form,
    edit_form,
    termination_form,
)
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
        return _form_page(request, actor, csrf, contract_form(vendor), defaults)

    @post("/vendors/{vendor_id:int}/contracts/new", request_max_body_size=UPLOAD_CAP)
    async def create_contract_form(self, request: Request, vendor_id: int) -> Response:
        settings = request.app.state["settings"]
        refuse_large_body(request, settings.max_upload_bytes + FORM_LIMIT)
        posted = await _posted(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        errors: dict[str, str] = {}
        document = await _document(posted[2], settings.max_upload_bytes, errors)
        ctx = write_context(request, posted[0])
        # The contract and its file in one transaction: never one without the other.
        return await _submit(
            request,
            posted,
            contract_form(vendor),
            ContractCreate,
            lambda data: create_contract(ctx, data, document),
            f"/ui/vendors/{vendor.id}",
            extra=lambda values: {"vendor_id": vendor.id},
            errors=errors,
        )

    @get("/contracts/{contract_id:int}/terminate")
    async def terminate_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        contract = await get_contract(bounded_id(contract_id))
        return _form_page(request, actor, csrf, termination_form(contract), {})

    @post("/contracts/{contract_id:int}/terminate", request_max_body_size=FORM_LIMIT)
    async def terminate(self, request: Request, contract_id: int) -> Response:
        posted = await _posted(request)
        contract = await get_contract(bounded_id(contract_id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            termination_form(contract),
            ContractTermination,
            lambda data: terminate_contract(ctx, contract.id, data),
            f"/ui/vendors/{contract.vendor_id}",
        )

    # --- disclosures -------------------------------------------------------------------------------

    @get("/vendors/{vendor_id:int}/disclosures/new")
    async def new_disclosure(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = disclosure_form(vendor, await disclosure_fields(vendor.id))
        return _form_page(request, actor, csrf, spec, {"basis": "contract"})

    @post("/vendors/{vendor_id:int}/disclosures/new", request_max_body_size=FORM_LIMIT)
    async def create_disclosure_form(self, request: Request, vendor_id: int) -> Response:
        posted = await _posted(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = disclosure_form(vendor, await disclosure_fields(vendor.id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            spec,
            DisclosureCreate,
            lambda data: create_disclosure(ctx, data),
            f"/ui/vendors/{vendor.id}",
            extra=lambda values: {"vendor_id": vendor.id},
        )

    # --- vendors -----------------------------------------------------------------------------------

    @get("/vendors/new")
    async def new_vendor_page(self, request: Request) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        return _form_page(request, actor, csrf, NEW_VENDOR, {})

    @post("/vendors/new", request_max_body_size=FORM_LIMIT)
    async def create_vendor_form(self, request: Request) -> Response:
        posted = await _posted(request)
        ctx = write_context(request, posted[0])
        # As this page always has: a refusal keeps the service's status (409 for a name taken), and
        # one that names no field (the name taken) is shown beside the name.
        return await _submit(
            request,
            posted,
            NEW_VENDOR,
            VendorCreate,
            lambda data: create_vendor(ctx, data),
            lambda vendor: f"/ui/vendors/{vendor.id}",
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
        return _form_page(request, actor, csrf, spec, form_values(VENDOR, vendor.model_dump(mode="json")))

    @post("/vendors/{vendor_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_vendor(self, request: Request, vendor_id: int) -> Response:
        posted = await _posted(request)
        vendor, version = await get_vendor(bounded_id(vendor_id)), _version(posted[2])
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, version),
            VendorUpdate,
            lambda data: update_vendor(ctx, vendor.id, data, version),
            f"/ui/vendors/{vendor.id}",
            editing=True,
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
        return _form_page(request, actor, csrf, spec, values)

    @post("/contracts/{contract_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_contract(self, request: Request, contract_id: int) -> Response:
        posted = await _posted(request)
        contract, version = await get_contract(bounded_id(contract_id)), _version(posted[2])
        ctx = write_context(request, posted[0])
        action = f"/ui/contracts/{contract.id}/edit"
        return await _submit(
            request,
            posted,
            edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, version),
            ContractUpdate,
            lambda data: update_contract(ctx, contract.id, data, version),
            f"/ui/vendors/{contract.vendor_id}",
            editing=True,
        )

    @get("/disclosures/{disclosure_id:int}/edit")
    async def edit_disclosure_page(self, request: Request, disclosure_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        disclosure = await get_disclosure(bounded_id(disclosure_id))
        fields = await disclosure_fields(disclosure.vendor_id)
        action = f"/ui/disclosures/{disclosure.id}/edit"
        spec = edit_form("Edit disclosure", action, fields, disclosure.version)
        return _form_page(request, actor, csrf, spec, form_values(fields, disclosure.model_dump(mode="json")))

    @post("/disclosures/{disclosure_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_disclosure(self, request: Request, disclosure_id: int) -> Response:
        posted = await _posted(request)
        disclosure, version = await get_disclosure(bounded_id(disclosure_id)), _version(posted[2])
        fields = await disclosure_fields(disclosure.vendor_id)
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            edit_form("Edit disclosure", f"/ui/disclosures/{disclosure.id}/edit", fields, version),
            DisclosureUpdate,
            lambda data: update_disclosure(ctx, disclosure.id, data, version),
            f"/ui/vendors/{disclosure.vendor_id}",
            editing=True,
        )

    # --- deletions and attestations -----------------------------------------------------------------

    @get("/deletions/{obligation_id:int}/confirm")
    async def confirm_page(self, request: Request, obligation_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        deletion = await get_deletion(bounded_id(obligation_id))
        return _form_page(request, actor, csrf, confirmation_form(deletion), {})

    @post("/deletions/{obligation_id:int}/confirm", request_max_body_size=FORM_LIMIT)
    async def confirm(self, request: Request, obligation_id: int) -> Response:
        posted = await _posted(request)
        deletion = await get_deletion(bounded_id(obligation_id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            confirmation_form(deletion),
            ConfirmationCreate,
            lambda data: add_confirmation(ctx, deletion.id, data),
            f"/ui/vendors/{deletion.vendor_id}",
            extra=lambda values: _remaining(values["remaining"]),
        )

    @post("/deletions/{obligation_id:int}/attestation", request_max_body_size=FORM_LIMIT)
    async def issue_attestation(self, request: Request, obligation_id: int) -> Response:
        actor, _, _ = await _posted(request)
        deletion = await get_deletion(bounded_id(obligation_id))
        await attestations.issue(
            write_context(request, actor),
            deletion.id,
            request.app.state["settings"],
            request.app.state["pdf_pool"].render,
        )
        return Redirect(f"/ui/vendors/{deletion.vendor_id}", status_code=303)


STALE = "Someone saved a change since you opened this form: reload it, then make your change."


async def _posted(request: Request):
    """(person, their CSRF token, the form) of an editor's form submission whose token matches."""
    actor, csrf = await signed_in(request, Role.editor)
    form = await read_form(request)
    check_csrf({"csrf": form.get("csrf")}, csrf)
    return actor, csrf, form


def _version(form) -> int | None:
    version = form.get("version")
    return int(version) if isinstance(version, str) and version.isdigit() else None


async def _submit(
    request: Request,
    posted: tuple[Any, str, Any],
    spec: dict[str, Any],
    schema: type[BaseModel],
    save: Callable[[Any], Awaitable[Any]],
    done: str | Callable[[Any], str],
    *,
    editing: bool = False,
    extra: dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    keep_status: bool = False,
    unplaced: str = "form",
) -> Response:
    """Validate the posted form with the API's schema, save it with the service and go on to ``done``
    (303, a path or a function of what was saved); else show the form again (400, or the service's
    status with ``keep_status``) with what was typed and each error beside its field."""
    actor, csrf, form = posted
    fields = spec["fields"]
    values = values_of(fields, form)
    # ``extra``: fields the form does not hold, or a function of what was typed (parsed lines).
    more = extra(values) if callable(extra) else (extra or {})
    data, found = validate(schema, fields, values, editing=editing, **more)
    found.update(errors or {})
    status = 400
    if not found:
        try:
            saved = await save(data)
        except RegistryError as error:
            found = {"form": STALE} if error.status == 412 else registry_errors(error, fields, unplaced)
            status = error.status if keep_status else 400
        else:
            return Redirect(done if isinstance(done, str) else done(saved), status_code=303)
    return _form_page(request, actor, csrf, spec, values, found, status)


def _remaining(lines: str) -> dict[str, list[dict[str, str]]]:
    """The form's "what | where" lines as the schema's list (a line without "|" fails on "where")."""
    parsed = []
    for line in filter(None, (line.strip() for line in lines.splitlines())):
        what, _, where = line.partition("|")
        parsed.append({"what": what.strip(), "where": where.strip()})
    return {"remaining": parsed} if parsed else {}


async def _document(form, limit: int, errors: dict[str, str]) -> tuple[bytes, str, str] | None:
    """The uploaded signed contract, checked like the API checks it (errors go beside the field)."""
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    content = await upload.read()
    if len(content) > limit:
        errors["document"] = f"The file is larger than the limit of {limit} bytes."
    elif not re.match(FILENAME, upload.filename):
        errors["document"] = "The file name must be 1 to 255 characters, without / \\ or control characters."
    else:
        try:
            check_upload(content, upload.content_type)
            return content, upload.content_type, upload.filename
        except RegistryError as error:
            errors["document"] = error.detail
    return None


def _form_page(request, actor, csrf, spec: dict[str, Any], values, errors=None, status=400) -> Template:
    """A form page (templates/form.html.j2): 200 when opened, else ``status`` with the errors beside
    their fields."""
    context = {"intro": None, "upload": False, "version": None, **spec}
    status = status if errors else 200
    return render_page(
        request, "form.html.j2", status, actor=actor, csrf=csrf, values=values, errors=errors or {}, **context
    )
