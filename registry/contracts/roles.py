"""Which clauses apply to a contract, by the roles of the disclosures under it, and the facts beyond
the contract's own fields that the PIPL Art. 23 and GDPR Art. 26 clauses read: each with its SQL twin,
on the contract aliased ``c`` (docs/legal-mapping.md)."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry.enums import RecipientRole


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _text_sql(column: str) -> str:
    return f"(c.{column} IS NOT NULL AND TRIM(c.{column}) <> '')"


@dataclass(frozen=True)
class Facts:
    """What a clause may depend on besides the contract's own fields: its disclosures and its vendor."""

    has_categories: bool
    roles: frozenset[RecipientRole]
    # Every independent controller's disclosure names its basis as PIPL Art. 23 asks.
    provision_basis: bool
    # The vendor's legal name and a contact are recorded (what PIPL Art. 23 tells the user).
    recipient_identified: bool


class Scope(StrEnum):
    """Which contracts a clause applies to, by the roles of the disclosures under them."""

    every = "every"
    processing = "processing"
    provision = "provision"
    joint = "joint"


_PROCESSING = (RecipientRole.processor.value, RecipientRole.sub_processor.value)


def _role_sql(roles: tuple[str, ...]) -> str:
    listed = ", ".join(f"'{r}'" for r in roles)
    return f"EXISTS (SELECT 1 FROM disclosure d WHERE d.contract = c.id AND d.role IN ({listed}))"


def applies(scope: Scope, facts: Facts) -> bool:
    if scope is Scope.processing:
        return not facts.roles or bool(facts.roles & set(_PROCESSING))
    if scope is Scope.provision:
        return RecipientRole.independent_controller in facts.roles
    if scope is Scope.joint:
        return RecipientRole.joint_controller in facts.roles
    return True


# The SQL twins of ``applies``, on the contract aliased ``c``.
APPLIES_SQL = {
    Scope.every: "TRUE",
    Scope.processing: f"({_role_sql(_PROCESSING)} OR NOT EXISTS (SELECT 1 FROM disclosure d WHERE d.contract = c.id))",
    Scope.provision: _role_sql((RecipientRole.independent_controller.value,)),
    Scope.joint: _role_sql((RecipientRole.joint_controller.value,)),
}


def _filled_sql(column: str) -> str:
    return f"({column} IS NOT NULL AND TRIM({column}) <> '')"


# PIPL Art. 23: consent (named) or another basis (its law named), for each independent controller's
# disclosure under the contract; the recipient's name and contact on the vendor.
PROVISION_BASIS = (
    lambda _, facts: facts.provision_basis,
    "NOT EXISTS (SELECT 1 FROM disclosure d WHERE d.contract = c.id AND d.role = 'independent_controller'"
    f" AND NOT ((d.basis = 'consent' AND {_filled_sql('d.consent_reference')})"
    f" OR (d.basis <> 'consent' AND {_filled_sql('d.legal_reference')})))",
)
_CONTACTS = ("contact_email", "contact_phone", "privacy_contact_email", "privacy_contact_phone")
RECIPIENT = (
    lambda _, facts: facts.recipient_identified,
    f"EXISTS (SELECT 1 FROM vendor v WHERE v.id = c.vendor AND {_filled_sql('v.legal_name')}"
    f" AND ({' OR '.join(_filled_sql('v.' + name) for name in _CONTACTS)}))",
)
JOINT = (
    lambda c, _: bool(c["joint_arrangement"]) and _filled(c["joint_arrangement_essence"]),
    f"(c.joint_arrangement = TRUE AND {_text_sql('joint_arrangement_essence')})",
)


def provision_basis_ok(disclosure: Mapping[str, Any]) -> bool:
    """The Python twin of PROVISION_BASIS for one disclosure."""
    if disclosure["basis"] == "consent":
        return _filled(disclosure["consent_reference"])
    return _filled(disclosure["legal_reference"])


def recipient_identified(vendor: Mapping[str, Any]) -> bool:
    return _filled(vendor["legal_name"]) and any(_filled(vendor[name]) for name in _CONTACTS)
