"""The columns of each import sheet: the file's header names, the API field each fills, and how a cell
is read. One description serves the templates, the parser and the documentation."""

from dataclasses import dataclass

from registry.enums import ContractKind, EndOfContract, LegalBasis, RecipientRole, VendorKind


@dataclass(frozen=True)
class Column:
    name: str  # the header in the file
    field: str  # the field of the API's schema, dotted when nested (contact.email)
    kind: str = "text"  # text, bool, date, int, list
    required: bool = False
    help: str = ""


def _choices(enum) -> str:
    return "one of: " + ", ".join(e.value for e in enum)


VENDORS = (
    Column("name", "name", required=True, help="Unique; the key that matches a row to a vendor."),
    Column("legal_name", "legal_name"),
    Column("kind", "kind", required=True, help=_choices(VendorKind)),
    Column("country", "country", required=True, help="ISO 3166-1 alpha-2, e.g. DE"),
    Column(
        "parent",
        "parent_id",
        help="Name of the group company (a vendor); a sub-processor is an engagement, not a parent.",
    ),
    Column("registered_address", "registered_address"),
    Column("website", "website", help="https://…"),
    Column("tags", "tags", "list", help="Separated by commas."),
    Column("public", "public", "bool", help="yes: listed on the public sub-processor page."),
    Column("contact_name", "contact.name"),
    Column("contact_email", "contact.email"),
    Column("contact_phone", "contact.phone"),
    Column("privacy_contact_name", "privacy_contact.name"),
    Column("privacy_contact_email", "privacy_contact.email"),
    Column("privacy_contact_phone", "privacy_contact.phone"),
    Column("notes", "notes"),
)
CONTRACTS = (
    Column("vendor", "vendor_id", required=True, help="The vendor's name."),
    Column("reference", "reference", help="Unique; the key that matches a row to a contract."),
    Column("kind", "kind", required=True, help=_choices(ContractKind)),
    Column("title", "title", required=True, help="Without a reference, vendor and title match the row."),
    Column("signed_on", "signed_on", "date", help="YYYY-MM-DD"),
    Column("effective_from", "effective_from", "date"),
    Column("expires_on", "expires_on", "date", help="Last day in force; empty if open-ended."),
    Column("governing_law", "governing_law"),
    Column("confidentiality_equivalent", "confidentiality_equivalent", "bool", help="yes/no (policy §6.1)"),
    Column("confidentiality_text", "confidentiality_text"),
    Column("security_measures", "security_measures"),
    Column("end_of_contract", "end_of_contract", help=_choices(EndOfContract)),
    Column("deletion_deadline_days", "deletion_deadline_days", "int", help="Days after the end; default 30."),
    Column("backups_covered", "backups_covered", "bool"),
    Column("subprocessing_requires_consent", "subprocessing_requires_consent", "bool"),
    Column("audit_right", "audit_right", "bool"),
    Column("documented_instructions", "documented_instructions", "bool"),
    Column("personnel_confidentiality", "personnel_confidentiality", "bool"),
    Column("assists_data_subject_rights", "assists_data_subject_rights", "bool"),
    Column("assists_compliance", "assists_compliance", "bool"),
    Column("purposes", "purposes"),
    Column("processing_period", "processing_period"),
    Column("processing_method", "processing_method"),
    Column("notes", "notes"),
)
DISCLOSURES = (
    Column("vendor", "vendor_id", required=True, help="The vendor's name."),
    Column("contract", "contract_id", help="The contract's reference; required for basis contract."),
    Column("basis", "basis", required=True, help=_choices(LegalBasis)),
    Column("purpose", "purpose", required=True, help="A data use key, e.g. essential.service"),
    Column("categories", "categories", "list", required=True, help="Data category keys, comma-separated."),
    Column(
        "data_subjects", "data_subjects", "list", required=True, help="Data subject keys, comma-separated."
    ),
    Column("valid_from", "valid_from", "date", required=True),
    Column("valid_to", "valid_to", "date", help="Last day; empty: open-ended or the contract's last day."),
    Column("country", "country", help="Where the data goes; empty: the vendor's country."),
    Column("consent_reference", "consent_reference", help="Required for basis consent."),
    Column("role", "role", help=_choices(RecipientRole) + "; empty: processor."),
    Column("origin", "origin", help="Where the data leaves from; empty: REGISTRY_ORIGIN_COUNTRY."),
    Column("legal_reference", "legal_reference"),
    Column("notes", "notes"),
)
# In the order they are imported: contracts name vendors, disclosures name both.
SHEETS: dict[str, tuple[Column, ...]] = {
    "vendors": VENDORS,
    "contracts": CONTRACTS,
    "disclosures": DISCLOSURES,
}
