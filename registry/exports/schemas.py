"""What the exports answer: the register of recipients, and the whole register."""

from datetime import date, datetime

from pydantic import Field

from registry.attestations.schemas import AttestationRead
from registry.contracts.schemas import ContractRead
from registry.deletions.schemas import DeletionRead
from registry.disclosures.schemas import DisclosureRead
from registry.enums import LegalBasis, RecipientRole, TransferMechanism
from registry.schemas import Schema
from registry.subprocessors.schemas import EngagementRead
from registry.transfers.schemas import TransferRead
from registry.vendors.schemas import VendorRead


class RecipientRow(Schema):
    """One disclosure to one vendor, as the register lists it."""

    vendor_id: int
    vendor_name: str
    vendor_legal_name: str | None
    vendor_kind: str
    vendor_country: str
    disclosure_id: int
    categories: list[str]
    data_subjects: list[str]
    purpose: str
    basis: LegalBasis
    role: RecipientRole
    contract_id: int | None
    contract_reference: str | None
    contract_title: str | None
    consent_reference: str | None
    legal_reference: str | None
    valid_from: date
    valid_to: date | None
    destination_country: str
    origin_country: str
    transfer_mechanism: TransferMechanism | None = None
    engagement_id: int | None = Field(default=None, description="A sub-processor's engagement.")
    processor_chain: list[str] = Field(
        default_factory=list, description="A sub-processor's processors, from ours down to it (names)."
    )


class RecipientRegister(Schema):
    """The whole register, with who keeps it and when it was drawn up."""

    controller: str
    generated_at: datetime
    as_of: date | None
    rows: list[RecipientRow]


class Register(Schema):
    """Every record of the registry, as the API returns each."""

    controller: str
    generated_at: datetime
    vendors: list[VendorRead]
    contracts: list[ContractRead]
    disclosures: list[DisclosureRead]
    transfers: list[TransferRead]
    deletions: list[DeletionRead]
    attestations: list[AttestationRead]
    subprocessor_engagements: list[EngagementRead]
