"""What fideslang has no field for: the registry's facts in ``System.meta["registry"]``."""

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_yaml_boolean(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name != "public":
            raise ValueError("YAML reads an unquoted NO, YES, ON or OFF as true/false: put it in quotes")
        return value


class ContactMeta(_Meta):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class DeclarationMeta(_Meta):
    """A disclosure's facts, keyed by its declaration's name."""

    contract: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    country: str | None = None
    consent_reference: str | None = None
    legal_reference: str | None = None
    notes: str | None = None
    role: str | None = None
    origin: str | None = None
    # Exported for the reader; a transfer record is not imported (its details are not in the manifest).
    transfer_mechanism: str | None = None
    # Exported for reading; an import does not record engagements (POST /vendors/{id}/subprocessors).
    processor_chain: list[str] | None = None


class VendorMeta(_Meta):
    """A vendor's facts; ``declarations`` holds its disclosures' facts."""

    kind: str | None = None
    country: str | None = None
    parent: str | None = None
    website: str | None = None
    public: bool | None = None
    contact: ContactMeta | None = None
    privacy_contact: ContactMeta | None = None
    declarations: dict[str, DeclarationMeta] = {}
