"""Pages that record contracts, terminations, disclosures, deletion confirmations and attestations.

Each form is described once (registry/ui/forms.py), validated by the API's own schema and written by the
same service function as the API, so the same rules apply and the change log names the person.
"""

import re
from collections.abc import Awaitable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from registry.attestations import service as attestations
from registry.contracts.controller import FILENAME
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
from registry.http import read_form
from registry.taxonomy.service import tree
from registry.ui.controller import (
    _FORM_LIMIT,
    PAGE_ERRORS,
    UPLOAD_CAP,
    _bounded,
    _check_csrf,
    _context,
    _page,
    _signed_in,
    refuse_large_body,
)
from registry.ui.forms import (
    Field,
    choices,
    form_values,
    registry_errors,
    tree_choices,
    validate,
    values_of,
)
from registry.vendors.schemas import VendorUpdate
from registry.vendors.service import get_vendor, update_vendor

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
        actor, csrf = await _signed_in(request, Role.editor)
        vendor = await get_vendor(_bounded(vendor_id))
        defaults = {"kind": "dpa", "end_of_contract": "delete", "deletion_deadline_days": "30"}
        return _form_page(request, actor, csrf, _contract_form(vendor), defaults)

    @post("/vendors/{vendor_id:int}/contracts/new", request_max_body_size=UPLOAD_CAP)
    async def create_contract_form(self, request: Request, vendor_id: int) -> Response:
        settings = request.app.state["settings"]
        refuse_large_body(request, settings.max_upload_bytes + _FORM_LIMIT)
        actor, csrf, form = await _posted(request)
        vendor = await get_vendor(_bounded(vendor_id))
        values = values_of(CONTRACT, form)
        data, errors = validate(ContractCreate, CONTRACT, values, vendor_id=vendor.id)
        document = await _document(form, settings.max_upload_bytes, errors)
        if not errors:  # the contract and its file in one transaction: never one without the other
            errors = await _saved(create_contract(_context(request, actor), data, document), CONTRACT)
        if errors:
            return _form_page(request, actor, csrf, _contract_form(vendor), values, errors)
        return Redirect(f"/ui/vendors/{vendor.id}", status_code=303)

    @get("/contracts/{contract_id:int}/terminate")
    async def terminate_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        contract = await get_contract(_bounded(contract_id))
        return _form_page(request, actor, csrf, _termination_form(contract), {})

    @post("/contracts/{contract_id:int}/terminate", request_max_body_size=_FORM_LIMIT)
    async def terminate(self, request: Request, contract_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        contract = await get_contract(_bounded(contract_id))
        values = values_of(TERMINATION, form)
        data, errors = validate(ContractTermination, TERMINATION, values)
        if not errors:
            errors = await _saved(
                terminate_contract(_context(request, actor), contract.id, data), TERMINATION
            )
        if errors:
            return _form_page(request, actor, csrf, _termination_form(contract), values, errors)
        return Redirect(f"/ui/vendors/{contract.vendor_id}", status_code=303)

    # --- disclosures -------------------------------------------------------------------------------

    @get("/vendors/{vendor_id:int}/disclosures/new")
    async def new_disclosure(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        vendor = await get_vendor(_bounded(vendor_id))
        spec = _disclosure_form(vendor, await _disclosure_fields(vendor.id))
        return _form_page(request, actor, csrf, spec, {"basis": "contract"})

    @post("/vendors/{vendor_id:int}/disclosures/new", request_max_body_size=_FORM_LIMIT)
    async def create_disclosure_form(self, request: Request, vendor_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        vendor = await get_vendor(_bounded(vendor_id))
        fields = await _disclosure_fields(vendor.id)
        values = values_of(fields, form)
        data, errors = validate(DisclosureCreate, fields, values, vendor_id=vendor.id)
        if not errors:
            errors = await _saved(create_disclosure(_context(request, actor), data), fields)
        if errors:
            return _form_page(request, actor, csrf, _disclosure_form(vendor, fields), values, errors)
        return Redirect(f"/ui/vendors/{vendor.id}", status_code=303)

    # --- editing -------------------------------------------------------------------------------------
    # Each edit form carries the version it was opened at: a change saved meanwhile by someone else is
    # reported (412 from the service) instead of being overwritten.

    @get("/vendors/{vendor_id:int}/edit")
    async def edit_vendor_page(self, request: Request, vendor_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        vendor = await get_vendor(_bounded(vendor_id))
        spec = _edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, vendor.version)
        return _form_page(request, actor, csrf, spec, form_values(VENDOR, vendor.model_dump(mode="json")))

    @post("/vendors/{vendor_id:int}/edit", request_max_body_size=_FORM_LIMIT)
    async def edit_vendor(self, request: Request, vendor_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        vendor, version = await get_vendor(_bounded(vendor_id)), _version(form)
        values = values_of(VENDOR, form)
        data, errors = validate(VendorUpdate, VENDOR, values, editing=True)
        if not errors:
            errors = await _saved(update_vendor(_context(request, actor), vendor.id, data, version), VENDOR)
        if errors:
            spec = _edit_form(f"Edit {vendor.name}", f"/ui/vendors/{vendor.id}/edit", VENDOR, version)
            return _form_page(request, actor, csrf, spec, values, errors)
        return Redirect(f"/ui/vendors/{vendor.id}", status_code=303)

    @get("/contracts/{contract_id:int}/edit")
    async def edit_contract_page(self, request: Request, contract_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        contract = await get_contract(_bounded(contract_id))
        action = f"/ui/contracts/{contract.id}/edit"
        spec = _edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, contract.version)
        values = form_values(CONTRACT_EDIT, contract.model_dump(mode="json"))
        return _form_page(request, actor, csrf, spec, values)

    @post("/contracts/{contract_id:int}/edit", request_max_body_size=_FORM_LIMIT)
    async def edit_contract(self, request: Request, contract_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        contract, version = await get_contract(_bounded(contract_id)), _version(form)
        values = values_of(CONTRACT_EDIT, form)
        data, errors = validate(ContractUpdate, CONTRACT_EDIT, values, editing=True)
        if not errors:
            saving = update_contract(_context(request, actor), contract.id, data, version)
            errors = await _saved(saving, CONTRACT_EDIT)
        if errors:
            action = f"/ui/contracts/{contract.id}/edit"
            spec = _edit_form(f"Edit {contract.title}", action, CONTRACT_EDIT, version)
            return _form_page(request, actor, csrf, spec, values, errors)
        return Redirect(f"/ui/vendors/{contract.vendor_id}", status_code=303)

    @get("/disclosures/{disclosure_id:int}/edit")
    async def edit_disclosure_page(self, request: Request, disclosure_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        disclosure = await get_disclosure(_bounded(disclosure_id))
        fields = await _disclosure_fields(disclosure.vendor_id)
        action = f"/ui/disclosures/{disclosure.id}/edit"
        spec = _edit_form("Edit disclosure", action, fields, disclosure.version)
        return _form_page(request, actor, csrf, spec, form_values(fields, disclosure.model_dump(mode="json")))

    @post("/disclosures/{disclosure_id:int}/edit", request_max_body_size=_FORM_LIMIT)
    async def edit_disclosure(self, request: Request, disclosure_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        disclosure, version = await get_disclosure(_bounded(disclosure_id)), _version(form)
        fields = await _disclosure_fields(disclosure.vendor_id)
        values = values_of(fields, form)
        data, errors = validate(DisclosureUpdate, fields, values, editing=True)
        if not errors:
            saving = update_disclosure(_context(request, actor), disclosure.id, data, version)
            errors = await _saved(saving, fields)
        if errors:
            spec = _edit_form("Edit disclosure", f"/ui/disclosures/{disclosure.id}/edit", fields, version)
            return _form_page(request, actor, csrf, spec, values, errors)
        return Redirect(f"/ui/vendors/{disclosure.vendor_id}", status_code=303)

    # --- deletions and attestations -----------------------------------------------------------------

    @get("/deletions/{obligation_id:int}/confirm")
    async def confirm_page(self, request: Request, obligation_id: int) -> Template:
        actor, csrf = await _signed_in(request, Role.editor)
        deletion = await get_deletion(_bounded(obligation_id))
        return _form_page(request, actor, csrf, _confirmation_form(deletion), {})

    @post("/deletions/{obligation_id:int}/confirm", request_max_body_size=_FORM_LIMIT)
    async def confirm(self, request: Request, obligation_id: int) -> Response:
        actor, csrf, form = await _posted(request)
        deletion = await get_deletion(_bounded(obligation_id))
        values = values_of(CONFIRMATION, form)
        data, errors = validate(ConfirmationCreate, CONFIRMATION, values)
        if not errors:
            errors = await _saved(add_confirmation(_context(request, actor), deletion.id, data), CONFIRMATION)
        if errors:
            return _form_page(request, actor, csrf, _confirmation_form(deletion), values, errors)
        return Redirect(f"/ui/vendors/{deletion.vendor_id}", status_code=303)

    @post("/deletions/{obligation_id:int}/attestation", request_max_body_size=_FORM_LIMIT)
    async def issue_attestation(self, request: Request, obligation_id: int) -> Response:
        actor, _, _ = await _posted(request)
        deletion = await get_deletion(_bounded(obligation_id))
        await attestations.issue(
            _context(request, actor),
            deletion.id,
            request.app.state["settings"],
            request.app.state["pdf_pool"].render,
        )
        return Redirect(f"/ui/vendors/{deletion.vendor_id}", status_code=303)


CONTRACT_EDIT = [f for f in CONTRACT if f.kind != "file"]
STALE = "Someone saved a change since you opened this form: reload it, then make your change."


async def _posted(request: Request):
    """(person, their CSRF token, the form) of an editor's form submission whose token matches."""
    actor, csrf = await _signed_in(request, Role.editor)
    form = await read_form(request)
    _check_csrf({"csrf": form.get("csrf")}, csrf)
    return actor, csrf, form


def _version(form) -> int | None:
    version = form.get("version")
    return int(version) if isinstance(version, str) and version.isdigit() else None


async def _saved(saving: Awaitable[Any], fields: list[Field]) -> dict[str, str]:
    """Run the service call; {} when it succeeded, else its errors by field."""
    try:
        await saving
    except RegistryError as error:
        return {"form": STALE} if error.status == 412 else registry_errors(error, fields)
    return {}


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


def _form_page(request, actor, csrf, spec: dict[str, Any], values, errors=None) -> Template:
    """A form page (templates/form.html.j2): 200 when opened, 400 with the errors beside their fields."""
    context = {"intro": None, "upload": False, "version": None, **spec}
    status = 400 if errors else 200
    return _page(
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
