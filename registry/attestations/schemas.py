"""Attestations at the edge."""

from datetime import datetime

from pydantic import Field

from registry.enums import AttestationStatus
from registry.schemas import Schema, text


class AttestationRead(Schema):
    """An issued attestation: the record behind the signed PDF."""

    id: int = Field(description="Its id, for journal entries; the serial is what documents quote.")
    serial: str
    obligation_id: int
    vendor_id: int
    vendor_name: str
    sha256: str
    issued_at: datetime
    issued_by: str
    status: AttestationStatus
    revoked_at: datetime | None
    revoked_by: str | None
    revocation_reason: str | None
    verification_url: str
    supersedes: str | None = Field(description="The revoked attestation this one was issued in place of.")
    superseded_by: str | None = Field(description="The attestation issued in place of this revoked one.")


class Revocation(Schema):
    """Why an attestation no longer stands."""

    reason: text(2000, min_length=1)


class Verification(Schema):
    """What the registry knows about a PDF or serial number; no key needed to ask."""

    status: AttestationStatus
    serial: str | None = None
    vendor: str | None = None
    issued_at: datetime | None = None
    revoked_at: datetime | None = None
    detail: str
    supersedes: str | None = None
    superseded_by: str | None = None
    signer: str | None = Field(
        default=None,
        description="Subject of the certificate that signed the file (when its signature was checked).",
    )
    signed_at: datetime | None = Field(default=None, description="The signing time the signer claims.")
    timestamped: bool | None = Field(
        default=None, description="Whether the signature carries an RFC 3161 timestamp (PAdES B-T)."
    )
    timestamp_at: datetime | None = Field(
        default=None, description="The time the timestamp authority attests."
    )
    timestamp_authority: str | None = Field(
        default=None, description="Subject of the authority's certificate."
    )
    timestamp_valid: bool | None = Field(
        default=None, description="The timestamp token is intact and its authority trusted here."
    )
    validation_data_embedded: bool | None = Field(
        default=None, description="The file carries its validation data (DSS, PAdES B-LT): checkable offline."
    )
