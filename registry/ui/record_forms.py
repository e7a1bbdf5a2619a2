"""Each record's form in the web interface: its fields (rendered by templates/form.html.j2 and
parsed by ui/forms.py into the API's schema) and its page's heading, action and button."""

from datetime import timedelta
from typing import Any

from registry import clock, words
from registry.contracts.service import ContractFilter, list_contracts
from registry.disclosures.service import DisclosureFilter, list_disclosures
from registry.enums import (
    ConfirmationKind,
    ContractKind,
    ContractStatus,
    EndOfContract,
    LegalBasis,
    RecipientRole,
    SanitizationMethod,
    SanitizationTechnique,
    TaxonomyKind,
    VendorKind,
    VerificationOutcome,
)
from registry.taxonomy.service import tree
from registry.ui.forms import Field, choices, tree_choices
from registry.ui.subprocessor_fields import engagement_field, subprocessor_fields

CONTRACT = [
    Field("kind", "Kind", "select", required=True, choices=choices(ContractKind, "contract_kind")),
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
        choices=choices(EndOfContract, "end_of_contract"),
    ),
    Field("deletion_deadline_days", "Days to delete after the end", "number", required=True),
    Field("backups_covered", "The deletion duty covers backups", "checkbox"),
    Field(
        "minimum_sanitization",
        "Weakest sanitization the vendor may use (NIST SP 800-88)",
        "select",
        choices=choices(SanitizationMethod, "method"),
        hint="clear < purge < destroy; a weaker deletion report is refused.",
    ),
    Field("evidence_required", "Deletion reports need an evidence file before they are attested", "checkbox"),
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
    Field(
        "kind",
        "Kind of report",
        "select",
        choices=choices(ConfirmationKind, "report_kind"),
        hint="None or deletion: the deletion itself; backup follow-up: the backup copies are gone too.",
    ),
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
        choices=choices(SanitizationMethod, "method"),
    ),
    Field(
        "technique", "Technique", "select", required=True, choices=choices(SanitizationTechnique, "technique")
    ),
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
    Field(
        "verification_outcome",
        "Verification outcome",
        "select",
        required=True,
        choices=choices(VerificationOutcome, "outcome"),
        hint="Only a passed verification can be attested.",
    ),
    Field("remaining", "What remains, and where", "lines", hint="Partial only. One per line: what | where."),
    Field(
        "self_verification_reason",
        "Why the performer verified their own work",
        "textarea",
        hint="Required to attest when performer and verifier are the same person.",
    ),
    Field("returned.returned_on", "Returned on", "date", hint="Return-then-delete contracts: the return."),
    Field("returned.format", "Returned as (format)"),
    Field("returned.received_by", "Received by (name and role)"),
    Field("returned.sha256", "SHA-256 of what was returned"),
]


VENDOR = [
    Field("name", "Name", required=True),
    Field("legal_name", "Legal name"),
    Field("kind", "Kind", "select", required=True, choices=choices(VendorKind, "vendor_kind")),
    Field(
        "country",
        "Country",
        "country",
        required=True,
        hint="Type its name and pick it, or its two-letter code.",
    ),
    Field("registered_address", "Registered address", "textarea"),
    Field("website", "Website", "url"),
    Field("tags", "Tags", "csv", hint="comma-separated"),
    Field("public", "List on the public sub-processor page while it receives data", "checkbox"),
    Field("notes", "Notes", "textarea"),
]


CONTRACT_EDIT = [f for f in CONTRACT if f.kind != "file"]


NEW_VENDOR = {"heading": "New vendor", "action": "/ui/vendors/new", "fields": VENDOR, "submit": "Save vendor"}


def edit_form(heading: str, action: str, fields: list[Field], version: int | None) -> dict[str, Any]:
    return {
        "heading": heading,
        "action": action,
        "fields": fields,
        "version": version,
        "submit": "Save changes",
    }


def contract_form(vendor) -> dict[str, Any]:
    return {
        "heading": f"New contract with {vendor.name}",
        "action": f"/ui/vendors/{vendor.id}/contracts/new",
        "upload": True,
        "fields": CONTRACT,
        "submit": "Save contract",
    }


async def termination_form(contract) -> dict[str, Any]:
    """The termination form, saying first what terminating does to this contract's records."""
    said = await words.load()
    found, _ = await list_disclosures(DisclosureFilter(contract_id=contract.id, limit=500))
    open_ = [d for d in found if d.valid_to is None or d.valid_to >= clock.today()]
    follows = [
        f"The disclosure of {', '.join(said('data_category', k) for k in d.categories)} (from "
        f"{words.day(d.valid_from)}) ends on the last day in force."
        for d in open_
    ] or ["No disclosure relies on this contract today: none ends."]
    days = contract.deletion_deadline_days
    follows.append(
        f"The vendor must then delete the data within {days} days of the last day in force"
        + (", backups included" if contract.backups_covered else "")
        + ". The deletion is tracked until its report is recorded and attested."
    )
    return {
        # The due date for the day typed (forms.js follows the field; today's until then).
        "due": {"days": days, "on": clock.today() + timedelta(days=days), "after": "terminated_on"},
        "heading": f"Terminate {contract.title}" + (f" ({contract.reference})" if contract.reference else ""),
        "intro": "Terminating cannot be undone: check what follows, then confirm below.",
        "follows": follows,
        "confirm": "Terminate the contract only if this is what you mean to happen.",
        "action": f"/ui/contracts/{contract.id}/terminate",
        "fields": TERMINATION,
        "submit": "Terminate contract",
    }


def disclosure_form(vendor, fields: list[Field]) -> dict[str, Any]:
    [contract] = [f for f in fields if f.name == "contract_id"]
    return {
        # The service's messages name contracts by id: the form says their titles.
        "records": {f"contract {value}": f"the contract “{label}”" for value, label, _ in contract.choices},
        "heading": f"New disclosure to {vendor.name}",
        "intro": "What the vendor receives, about whom, why and on which basis.",
        "action": f"/ui/vendors/{vendor.id}/disclosures/new",
        "fields": fields,
        "submit": "Save disclosure",
    }


def confirmation_form(deletion, said: words.Words) -> dict[str, Any]:
    categories = ", ".join(said("data_category", k) for k in deletion.categories)
    return {
        "heading": f"Record the deletion reported by {deletion.vendor_name}",
        "intro": f"The deletion of {categories}, due {words.day(deletion.due_on)}"
        + ("; backups are in scope." if deletion.backups_in_scope else "."),
        "action": f"/ui/deletions/{deletion.id}/confirm",
        "fields": CONFIRMATION + subprocessor_fields(deletion),
        "submit": "Record confirmation",
    }


async def disclosure_defaults(vendor_id: int) -> dict[str, Any]:
    """A new disclosure rests on a contract: the vendor's only one in force, when it has just one."""
    contracts, _ = await list_contracts(ContractFilter(vendor_id=vendor_id, limit=500))
    active = [c for c in contracts if c.status is ContractStatus.active]
    return {
        "basis": "contract",
        "role": "processor",
        **({"contract_id": str(active[0].id)} if len(active) == 1 else {}),
    }


def remaining(lines: str) -> dict[str, list[dict[str, str]]]:
    """The form's "what | where" lines as the schema's list (a line without "|" fails on "where")."""
    parsed = []
    for line in filter(None, (line.strip() for line in lines.splitlines())):
        what, _, where = line.partition("|")
        parsed.append({"what": what.strip(), "where": where.strip()})
    return {"remaining": parsed} if parsed else {}


async def disclosure_fields(vendor_id: int) -> list[Field]:
    contracts, _ = await list_contracts(ContractFilter(vendor_id=vendor_id, limit=500))
    return [
        Field(
            "contract_id",
            "Contract",
            "select",
            hint="Required when the legal basis is a contract.",
            choices=[
                (str(c.id), c.title + (f" ({c.reference})" if c.reference else ""), 0) for c in contracts
            ],
        ),
        Field(
            "role",
            "The vendor receives it as",
            "select",
            choices=choices(RecipientRole, "role"),
            hint="Processor (empty: a new disclosure's default): on our instructions (GDPR Art. 28, PIPL "
            "Art. 21); independent controller: for its own purposes (PIPL Art. 23).",
        ),
        Field("basis", "Legal basis", "select", required=True, choices=choices(LegalBasis, "basis")),
        Field("consent_reference", "Consent reference", hint="Required when the legal basis is consent."),
        Field("legal_reference", "Legal reference", hint="The law, for another basis than consent."),
        Field(
            "purpose",
            "Purpose (data use)",
            "select",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_use)),
            codes=True,
        ),
        Field(
            "categories",
            "Data categories",
            "choices",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_category)),
            codes=True,
        ),
        Field(
            "data_subjects",
            "Data subjects",
            "choices",
            required=True,
            choices=tree_choices(await tree(TaxonomyKind.data_subject)),
            codes=True,
        ),
        Field("valid_from", "Start date", "date", required=True),
        Field(
            "valid_to",
            "End date",
            "date",
            hint="The last day. Empty under a contract: the contract's last day.",
        ),
        Field("country", "Country the data goes to", "country", hint="Empty: the vendor's country."),
        Field(
            "origin",
            "Country the data leaves from",
            "country",
            hint="Empty: the registry's origin country (when editing: unchanged). Another country is an "
            "international transfer.",
        ),
        Field("notes", "Notes", "textarea"),
        *await engagement_field(vendor_id),
    ]
