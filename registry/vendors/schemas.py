"""Vendors at the edge: what clients send and what they get back."""

from datetime import datetime
from typing import Annotated

from pydantic import EmailStr, Field, field_validator

from registry.enums import VendorKind, VendorStatus
from registry.schemas import (
    CountryCode,
    Id,
    LongText,
    Name,
    Schema,
    ShortText,
    Tag,
    WebUrl,
    text,
)


class Contact(Schema):
    """A person or desk to write to."""

    name: ShortText | None = None
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Annotated[str, Field(max_length=50, pattern=r"^\+?[0-9 ()./-]{3,50}$")] | None = None


class RegistrationId(Schema):
    """An identifier in a public register, e.g. scheme ``LEI``, ``VAT``, ``company_number``."""

    scheme: text(50, min_length=1)
    value: text(100, min_length=1)


class _VendorFields(Schema):
    legal_name: ShortText | None = None
    parent_id: Id | None = Field(
        default=None,
        description="The group company this vendor belongs to (a sub-processor is recorded as an engagement: "
        "POST /vendors/{id}/subprocessors).",
    )
    registered_address: text(2000) | None = None
    registration_ids: list[RegistrationId] = Field(default_factory=list, max_length=20)
    contact: Contact | None = None
    privacy_contact: Contact | None = None
    website: WebUrl | None = None
    notes: LongText | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    public: bool = Field(
        default=False,
        description="List it on the public sub-processor page (GET /public/subprocessors) while it "
        "receives data.",
    )

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        return list(dict.fromkeys(tags))


class VendorCreate(_VendorFields):
    """A new vendor."""

    name: Name
    kind: VendorKind
    country: CountryCode


class VendorUpdate(_VendorFields):
    """A partial change: only the fields sent are changed; ``null`` clears an optional field."""

    name: Name | None = None
    kind: VendorKind | None = None
    country: CountryCode | None = None
    registration_ids: list[RegistrationId] | None = Field(default=None, max_length=20)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    public: bool | None = None


class VendorRead(Schema):
    """A vendor as stored, with its status derived from its contracts today."""

    id: int
    name: str
    legal_name: str | None
    kind: VendorKind
    status: VendorStatus
    parent_id: int | None
    country: str
    registered_address: str | None
    registration_ids: list[RegistrationId]
    contact: Contact | None
    privacy_contact: Contact | None
    website: str | None
    notes: str | None
    tags: list[str]
    public: bool
    version: int
    created_at: datetime
    updated_at: datetime
