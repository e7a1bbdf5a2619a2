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
    ContractFilter,
    create_contract,
    get_contract,
    list_contracts,
    terminate_contract,
    update_contract,
)
from registry.deletions.schemas import ConfirmationCreate
from registry.deletions.service import add_confirmation, get_deletion
from registry.disclosures.schemas import DisclosureCreate, DisclosureUpdate
from registry.disclosures.service import create_disclosure, get_disclosure, update_disclosure
from registry.enums import (
    ContractKind,
    EndOfContract,
    LegalBasis,
    Role,
    SanitizationMethod,
    SanitizationTechnique,
    TaxonomyKind,
    VendorKind,
)
from registry.errors import RegistryError
from registry.files import check_upload
from registry.http import FILENAME
from registry.taxonomy.service import tree
from registry.ui.forms import (
    Field,
    choices,
    form_values,
    registry_errors,
    tree_choices,
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
from registry.vendors.schemas import VendorCreate, VendorUpdate
from registry.vendors.service import create_vendor, get_vendor, update_vendor

CONTRACT = [
    Field("kind", "Kind", "select", required=True, choices=choices(ContractKind)),
    Field("title", "Title", required=True),
    Field("reference", "Reference", hint="Your reference; unique when set."),
    Field("signed_on", "Signed on", "date"),
    Field("effective_from", "In force from", "date"),
    Field("expires_on", "Last day in force", "date", hint="Leave empty if open-ended."),
    Field(
        "confidentiality_equivalent",
        "Confidentiality obligations equivalent to ours (policy §6.1)",
        "checkbox",
    ),
    Field(
        "end_of_contract",
        "At the end, the vendor must",
        "select",
        required=True,
        choices=choices(EndOfContract),
    ),
    Field("deletion_deadline_days", "Days to delete after the end", "number", required=True),
    Field("backups_covered", "The deletion duty covers backups", "checkbox"),
    # The clauses GDPR Art. 28(3) and PIPL Art. 21 require (GET /contracts/{id}/conformance).
    Field(
        "documented_instructions", "Processes only on our documented instructions (Art. 28(3)(a))", "checkbox"
    ),
    Field("personnel_confidentiality", "Its staff are bound to confidentiality (Art. 28(3)(b))", "checkbox"),
    Field("security_measures", "Security measures (Art. 28(3)(c), Art. 32)", "textarea"),
    Field(
        "subprocessing_requires_consent",
        "Sub-processors only with our prior consent (Art. 28(3)(d))",
        "checkbox",
    ),
    Field("assists_data_subject_rights", "Helps answer data subjects' requests (Art. 28(3)(e))", "checkbox"),
    Field(
        "assists_compliance",
        "Helps with security, breach notification and impact assessments (Art. 28(3)(f))",
        "checkbox",
    ),
    Field("audit_right", "We may audit; it shows how it complies (Art. 28(3)(h))", "checkbox"),
    Field("purposes", "Purposes of processing (PIPL Art. 21)", "textarea"),
    Field("processing_period", "Period of processing (PIPL Art. 21)"),
    Field("processing_method", "Method of processing (PIPL Art. 21)"),
    Field("governing_law", "Governing law"),
    Field("notes", "Notes", "textarea"),
    Field("document", "Signed contract (PDF, DOCX, ODT, PNG or JPEG)", "file"),
]
TERMINATION = [
    Field("terminated_on", "Last day in force", "date", required=True),
    Field("reason", "Reason", "textarea", required=True),
]
CONFIRMATION = [
    Field("performed_by.name", "Performed by: name", required=True),
    Field("performed_by.title", "Performed by: title", required=True),
    Field("performed_by.organisation", "Performed by: organisation", required=True),
    Field("verified_by.name", "Verified by: name", required=True),
    Field("verified_by.title", "Verified by: title", required=True),
    Field("verified_by.organisation", "Verified by: organisation", required=True),
    Field(
        "method_category",
        "Method (NIST SP 800-88)",
        "select",
        required=True,
        choices=choices(SanitizationMethod),
    ),
    Field("technique", "Technique", "select", required=True, choices=choices(SanitizationTechnique)),
    Field("tool", "Tool"),
    Field("tool_version", "Tool version"),
    Field("systems", "Systems covered", "lines", required=True, hint="One per line."),
    Field("environments", "Environments", "lines", hint="One per line, e.g. production, backup."),
    Field(
        "backups_handling", "How backups were handled", "textarea", hint="Required when backups are in scope."
    ),
    Field("last_backup_expires_on", "Last backup copy expires on", "date"),
    Field("subprocessors_covered", "Sub-processors covered", "lines", hint="One per line."),
    Field("completed_on", "Completed on", "date", required=True),
    Field("verification_method", "Verification method", required=True),
    Field("verification_result", "Verification result", required=True),
]


VENDOR = [
    Field("name", "Name", required=True),
    Field("legal_name", "Legal name"),
    Field("kind", "Kind", "select", required=True, choices=choices(VendorKind)),
    Field("country", "Country", required=True, hint="ISO 3166-1 alpha-2 code, e.g. DE"),
    Field("registered_address", "Registered address", "textarea"),
    Field("website", "Website", "url"),
    Field("tags", "Tags", "csv", hint="comma-separated"),
    Field("public", "List on the public sub-processor page while it receives data", "checkbox"),
    Field("notes", "Notes", "textarea"),
]


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
        return _form_page(request, actor, csrf, _contract_form(vendor), defaults)

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
            _contract_form(vendor),
            ContractCreate,
            lambda data: create_contract(ctx, data, document),
            f"/ui/vendors/{vendor.id}",
            extra={"vendor_id": vendor.id},
            errors=errors,
        )

    @get("/contracts/{contract_id:int}/terminate")
    async def terminate_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        contract = await get_contract(bounded_id(contract_id))
        return _form_page(request, actor, csrf, _termination_form(contract), {})

    @post("/contracts/{contract_id:int}/terminate", request_max_body_size=FORM_LIMIT)
    async def terminate(self, request: Request, contract_id: int) -> Response:
        posted = await _posted(request)
        contract = await get_contract(bounded_id(contract_id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            _termination_form(contract),
            ContractTermination,
            lambda data: terminate_contract(ctx, contract.id, data),
            f"/ui/vendors/{contract.vendor_id}",
        )

    # --- disclosures -------------------------------------------------------------------------------

    @get("/vendors/{vendor_id:int}/disclosures/new")
    async def new_disclosure(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = _disclosure_form(vendor, await _disclosure_fields(vendor.id))
        return _form_page(request, actor, csrf, spec, {"basis": "contract"})

    @post("/vendors/{vendor_id:int}/disclosures/new", request_max_body_size=FORM_LIMIT)
    async def create_disclosure_form(self, request: Request, vendor_id: int) -> Response:
        posted = await _posted(request)
        vendor = await get_vendor(bounded_id(vendor_id))
        spec = _disclosure_form(vendor, await _disclosure_fields(vendor.id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            spec,
            DisclosureCreate,
            lambda data: create_disclosure(ctx, data),
            f"/ui/vendors/{vendor.id}",
            extra={"vendor_id": vendor.id},
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
        spec = _edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, vendor.version)
        return _form_page(request, actor, csrf, spec, form_values(VENDOR, vendor.model_dump(mode="json")))

    @post("/vendors/{vendor_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_vendor(self, request: Request, vendor_id: int) -> Response:
        posted = await _posted(request)
        vendor, version = await get_vendor(bounded_id(vendor_id)), _version(posted[2])
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            _edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, version),
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
        spec = _edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, contract.version)
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
            _edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, version),
            ContractUpdate,
            lambda data: update_contract(ctx, contract.id, data, version),
            f"/ui/vendors/{contract.vendor_id}",
            editing=True,
        )

    @get("/disclosures/{disclosure_id:int}/edit")
    async def edit_disclosure_page(self, request: Request, disclosure_id: int) -> Template:
        actor, csrf = await signed_in(request, Role.editor)
        disclosure = await get_disclosure(bounded_id(disclosure_id))
        fields = await _disclosure_fields(disclosure.vendor_id)
        action = f"/ui/disclosures/{disclosure.id}/edit"
        spec = _edit_form("Edit disclosure", action, fields, disclosure.version)
        return _form_page(request, actor, csrf, spec, form_values(fields, disclosure.model_dump(mode="json")))

    @post("/disclosures/{disclosure_id:int}/edit", request_max_body_size=FORM_LIMIT)
    async def edit_disclosure(self, request: Request, disclosure_id: int) -> Response:
        posted = await _posted(request)
        disclosure, version = await get_disclosure(bounded_id(disclosure_id)), _version(posted[2])
        fields = await _disclosure_fields(disclosure.vendor_id)
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            _edit_form("Edit disclosure", f"/ui/disclosures/{disclosure.id}/edit", fields, version),
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
        return _form_page(request, actor, csrf, _confirmation_form(deletion), {})

    @post("/deletions/{obligation_id:int}/confirm", request_max_body_size=FORM_LIMIT)
    async def confirm(self, request: Request, obligation_id: int) -> Response:
        posted = await _posted(request)
        deletion = await get_deletion(bounded_id(obligation_id))
        ctx = write_context(request, posted[0])
        return await _submit(
            request,
            posted,
            _confirmation_form(deletion),
            ConfirmationCreate,
            lambda data: add_confirmation(ctx, deletion.id, data),
            f"/ui/vendors/{deletion.vendor_id}",
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


CONTRACT_EDIT = [f for f in CONTRACT if f.kind != "file"]
NEW_VENDOR = {"heading": "New vendor", "action": "/ui/vendors/new", "fields": VENDOR, "submit": "Save vendor"}
STALE = "Someone saved a change since you opened this form: reload it, then make your change."


async def _posted(request: Request):
    """(person, their CSRF token, the form) of an editor's form submission whose token matches."""
    actor, csrf = await signed_in(request, Role.editor)
    form = await request.form()
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
    extra: dict[str, Any] | None = None,
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
    data, found = validate(schema, fields, values, editing=editing, **(extra or {}))
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


def _edit_form(heading: str, action: str, fields: list[Field], version: int | None) -> dict[str, Any]:
    return {
        "heading": heading,
        "action": action,
        "fields": fields,
        "version": version,
        "submit": "Save changes",
    }


def _contract_form(vendor) -> dict[str, Any]:
    return {
        "heading": f"New contract with {vendor.name}",
        "action": f"/ui/vendors/{vendor.id}/contracts/new",
        "upload": True,
        "fields": CONTRACT,
        "submit": "Save contract",
    }


def _termination_form(contract) -> dict[str, Any]:
    return {
        "heading": f"Terminate {contract.title}" + (f" ({contract.reference})" if contract.reference else ""),
        "intro": "Its open disclosures end on that day, and a deletion obligation opens.",
        "action": f"/ui/contracts/{contract.id}/terminate",
        "fields": TERMINATION,
        "submit": "Terminate contract",
    }


def _disclosure_form(vendor, fields: list[Field]) -> dict[str, Any]:
    return {
        "heading": f"New disclosure to {vendor.name}",
        "intro": "What the vendor receives, about whom, why and on which basis.",
        "action": f"/ui/vendors/{vendor.id}/disclosures/new",
        "fields": fields,
        "submit": "Save disclosure",
    }


def _confirmation_form(deletion) -> dict[str, Any]:
    return {
        "heading": f"Record the deletion reported by {deletion.vendor_name}",
        "intro": f"Deletion {deletion.id}: {', '.join(deletion.categories)}; due {deletion.due_on}"
        + ("; backups are in scope." if deletion.backups_in_scope else "."),
        "action": f"/ui/deletions/{deletion.id}/confirm",
        "fields": CONFIRMATION,
        "submit": "Record confirmation",
    }


async def _disclosure_fields(vendor_id: int) -> list[Field]:
    contracts, _ = await list_contracts(ContractFilter(vendor_id=vendor_id, limit=500))
    return [
        Field(
            "contract_id",
            "Contract",
            "select",
            hint="Required for basis contract.",
            choices=[
                (str(c.id), c.title + (f" ({c.reference})" if c.reference else ""), 0) for c in contracts
            ],
        ),
        Field("basis", "Legal basis", "select", required=True, choices=choices(LegalBasis)),
        Field("consent_reference", "Consent reference", hint="Required for basis consent."),
        Field(
            "purpose",
            "Purpose (data use)",
            "select",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_use)),
        ),
        Field(
            "categories",
            "Data categories",
            "choices",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_category)),
        ),
        Field(
            "data_subjects",
            "Data subjects",
            "choices",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_subject)),
        ),
        Field("valid_from", "From", "date", required=True),
        Field("valid_to", "To (last day)", "date", hint="Empty under a contract: the contract's last day."),
        Field("country", "Country the data goes to", hint="ISO 3166-1 alpha-2; default: the vendor's."),
        Field("notes", "Notes", "textarea"),
    ]
