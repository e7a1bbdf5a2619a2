"""Disclosures at the edge: who receives which categories, why, on which basis, when."""

from datetime import date, datetime

from pydantic import Field, field_validator

from registry.enums import LegalBasis, RecipientRole
from registry.schemas import CountryCode, Day, Id, LongText, Schema, text
from registry.taxonomy.schemas import TaxonomyKey


def _unique(values: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(values)) if values is not None else None


class _DisclosureFields(Schema):
    contract_id: Id | None = Field(default=None, description="Required for basis 'contract'.")
    consent_reference: text(300) | None = Field(default=None, description="Required for basis 'consent'.")
    legal_reference: text(300) | None = Field(default=None, description="The law, for 'legal_obligation'.")
    country: CountryCode | None = Field(
        default=None, description="Where the data goes; default: the vendor's."
    )
    origin: CountryCode | None = Field(
        default=None,
        description="Where the data leaves from; default: REGISTRY_ORIGIN_COUNTRY. Another country than "
        "`country` (outside the EEA) makes the disclosure an international transfer.",
    )
    notes: LongText | None = None
    engagement_id: Id | None = Field(
        default=None,
        description="A sub-processor's disclosure: its engagement (POST /vendors/{id}/subprocessors).",
    )

    _unique_lists = field_validator("categories", "data_subjects", check_fields=False)(_unique)


class DisclosureCreate(_DisclosureFields):
    """Vendor V starts receiving categories of data subjects for a purpose."""

    vendor_id: Id
    categories: list[TaxonomyKey] = Field(min_length=1, max_length=100)
    data_subjects: list[TaxonomyKey] = Field(min_length=1, max_length=20)
    purpose: TaxonomyKey = Field(description="A data use key, e.g. essential.service.operations.support")
    basis: LegalBasis
    role: RecipientRole = Field(
        default=RecipientRole.processor, description="In which role the vendor receives this data."
    )
    valid_from: Day
    valid_to: Day | None = Field(
        default=None,
        description="Last day, inclusive. Omitted under a contract that ends: the contract's last day.",
    )


class DisclosureUpdate(_DisclosureFields):
    """A partial change; the vendor never changes, and ending has its own route."""

    categories: list[TaxonomyKey] | None = Field(default=None, min_length=1, max_length=100)
    data_subjects: list[TaxonomyKey] | None = Field(default=None, min_length=1, max_length=20)
    purpose: TaxonomyKey | None = None
    basis: LegalBasis | None = None
    role: RecipientRole | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None


class DisclosureEnd(Schema):
    """Stop a disclosure: its last day and why."""

    ended_on: Day
    reason: text(2000, min_length=1)


class DisclosureRead(Schema):
    """A disclosure as stored."""

    id: int
    vendor_id: int
    vendor_name: str
    categories: list[str]
    data_subjects: list[str]
    purpose: str
    basis: LegalBasis
    role: RecipientRole
    contract_id: int | None
    contract_reference: str | None
    consent_reference: str | None
    legal_reference: str | None
    country: str
    origin: str
    valid_from: date
    valid_to: date | None
    ended_reason: str | None
    notes: str | None
    engagement_id: int | None = None
    version: int
    created_at: datetime
    updated_at: datetime
