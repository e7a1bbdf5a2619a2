"""Transfer records at the edge: the mechanism of a disclosure's international transfer."""

from datetime import date, datetime

from pydantic import Field

from registry.enums import Derogation, TransferMechanism
from registry.schemas import Day, LongText, Schema, text


class TransferWrite(Schema):
    """The whole transfer record of one disclosure (a PUT replaces it)."""

    mechanism: TransferMechanism
    scc_module: int | None = Field(
        default=None, ge=1, le=4, description="scc_2021: module 1 (C2C), 2 (C2P), 3 (P2P) or 4 (P2C)."
    )
    derogation: Derogation | None = Field(
        default=None, description="derogation_49: which of Art. 49(1)(a)-(g)."
    )
    dpf_certified: bool = Field(
        default=False, description="adequacy for the US: the recipient is certified under the EU-US DPF."
    )
    mechanism_reference: text(300) | None = Field(
        default=None, description="The BCR approval, CAC assessment or certificate number."
    )
    filing_date: Day | None = Field(default=None, description="standard_contract: filed with the CAC on.")
    filing_number: text(100) | None = Field(default=None, description="standard_contract: the filing number.")
    separate_consent_reference: text(300) | None = Field(
        default=None, description="Data leaving China: the separate consent PIPL Art. 39 requires."
    )
    tia_date: Day | None = Field(default=None, description="When the transfer impact assessment was made.")
    tia_reference: text(300) | None = None
    tia_review_by: Day | None = Field(default=None, description="When the assessment must be reviewed.")
    notes: LongText | None = None


class TransferDocument(Schema):
    """The stored document of a transfer (the signed SCCs, the filing receipt)."""

    filename: str
    sha256: str


class TransferRead(TransferWrite):
    """A disclosure's transfer record as stored, with what is wrong with it today."""

    id: int
    disclosure_id: int
    origin: str
    country: str
    document: TransferDocument | None
    problems: list[str] = Field(description="What the check, conformance and supervision flag today.")
    version: int
    updated_by: str
    created_at: datetime
    updated_at: datetime


class TransferStatus(Schema):
    """Whether a disclosure is a transfer and what it lacks on a day."""

    disclosure_id: int
    on: date
    is_transfer: bool
    problems: list[str]
