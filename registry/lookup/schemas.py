"""The disclosure lookup API at the edge."""

from datetime import date

from pydantic import Field

from registry.disclosures.schemas import DisclosureRead
from registry.enums import ContractKind, LegalBasis, RecipientRole, VendorKind
from registry.schemas import Day, Id, Schema
from registry.subprocessors.schemas import ChainLink
from registry.taxonomy.schemas import TaxonomyKey


class ContractSummary(Schema):
    """The contract a disclosure relies on."""

    id: int
    reference: str | None
    title: str
    kind: ContractKind
    ends_on: date | None
    confidentiality_equivalent: bool


class Recipient(Schema):
    """One vendor's disclosure that included the asked-for data."""

    vendor_id: int
    vendor_name: str
    vendor_kind: VendorKind
    vendor_country: str
    disclosure_id: int
    categories: list[str] = Field(description="The disclosure's categories that matched the question.")
    purpose: str
    basis: LegalBasis
    role: RecipientRole = Field(description="In which role the vendor receives it.")
    contract: ContractSummary | None
    consent_reference: str | None
    valid_from: date
    valid_to: date | None
    country: str = Field(description="Where the data went.")
    chain: list[ChainLink] | None = Field(
        default=None,
        description="A sub-processor's processors, from ours down to it, each with its engagement; "
        "null for any other recipient.",
    )


class RecipientList(Schema):
    """Every recipient of the categories on a day, or during a period."""

    categories: list[str]
    matched_categories: list[str] = Field(
        description="The asked-for categories with everything under them and everything they are under."
    )
    date_from: date
    date_to: date
    items: list[Recipient]
    total: int = Field(description="All matching disclosures; items holds limit of them from offset.")
    limit: int
    offset: int


class HeldCategory(Schema):
    category: str
    disclosure_ids: list[int]
    contract_ids: list[int]


class VendorHoldings(Schema):
    """What one vendor held on a day, and under which contracts."""

    vendor_id: int
    vendor_name: str
    as_of: date
    categories: list[HeldCategory]
    disclosures: list[DisclosureRead]
    contracts: list[ContractSummary]


class CheckRequest(Schema):
    """May we send these categories to this vendor, for this purpose, on this day?"""

    vendor: Id
    categories: list[TaxonomyKey] = Field(min_length=1, max_length=100)
    purpose: TaxonomyKey | None = Field(default=None, description="A data use; omitted: any purpose.")
    on: Day | None = Field(default=None, description="Default: today (UTC).")


class CheckResult(Schema):
    """The answer, with the reasons and the records it rests on."""

    allowed: bool
    vendor_id: int
    on: date
    purpose: str | None
    categories: list[str]
    reasons: list[str]
    disclosures: list[DisclosureRead]
    contracts: list[ContractSummary]
