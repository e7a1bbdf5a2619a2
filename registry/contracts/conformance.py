"""Which clauses the law and the policy require of a contract, and whether a contract has them.

Each clause is checked twice from one definition: in Python for a contract's conformance, and in SQL
for filtering the vendor list (``?conformance=gaps``). Tests compare the two on the same data. A vendor
is judged on its contracts in force together (the law asks for the clauses in "a contract or other
legal act": a master agreement and its DPA count as one), a contract on its own.

Sources:
- GDPR Art. 28(3)(a)-(h): what a processing contract must stipulate;
- PIPL Art. 21: entrusted processing agrees purpose, period, method, categories and protective measures,
  the trustee processes only as agreed, does not sub-entrust without consent, returns or deletes the
  data at the end and keeps none, and the handler supervises it;
- the privacy policy §6.1: recipients have "equivalent confidentiality obligations and confidentiality
  measures as us", and are supervised "to delete personal information backed up after their services
  are over";
- by the role of the disclosures under the contract (docs/legal-mapping.md): the Art. 28(3) and PIPL 21
  clauses apply when one of them is a processor's or a sub-processor's, or there is none yet (nothing is
  silently exempted); PIPL Art. 23 applies to an independent controller's, Art. 26 to a joint one's.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from registry.contracts import rules
from registry.contracts.roles import (
    APPLIES_SQL,
    JOINT,
    PROVISION_BASIS,
    RECIPIENT,
    Facts,
    Scope,
    applies,
)
from registry.enums import RecipientRole


class Framework(StrEnum):
    gdpr = "gdpr"
    pipl = "pipl"
    policy = "policy"


def _filled(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _text_sql(column: str) -> str:
    return f"(c.{column} IS NOT NULL AND TRIM(c.{column}) <> '')"


_CATEGORIES_SQL = (
    "EXISTS (SELECT 1 FROM disclosure d JOIN disclosure_category dc ON dc.disclosure = d.id"
    " WHERE d.contract = c.id)"
)


@dataclass(frozen=True)
class Clause:
    id: str
    framework: Framework
    article: str
    requirement: str
    # The contract fields that record the clause: what to fill in when it is missing.
    fields: tuple[str, ...]
    check: Callable[[Mapping[str, Any], Facts], bool]
    # A SQL condition on the contract aliased ``c`` that is true when the clause is present.
    sql: str
    scope: Scope = Scope.processing


def _flag(name: str) -> tuple[Callable[[Mapping[str, Any], Facts], bool], str]:
    return (lambda c, _: bool(c[name])), f"c.{name} = TRUE"


def _text(name: str) -> tuple[Callable[[Mapping[str, Any], Facts], bool], str]:
    return (lambda c, _: _filled(c[name])), _text_sql(name)


# Delete or return at the end, copies included: the registry records what happens at the end on every
# contract, so the clause turns on whether the duty reaches the backups.
_END = (
    (lambda c, _: bool(c["end_of_contract"]) and bool(c["backups_covered"])),
    ("(c.end_of_contract IS NOT NULL AND c.backups_covered = TRUE)"),
)
_CATEGORIES = (lambda _, facts: facts.has_categories), _CATEGORIES_SQL


def _clause(id_, framework, article, requirement, fields, rule, scope=Scope.processing) -> Clause:
    check, sql = rule
    return Clause(id_, framework, article, requirement, fields, check, sql, scope)


G, P, POL = Framework.gdpr, Framework.pipl, Framework.policy
CLAUSES: tuple[Clause, ...] = (
    _clause(
        "gdpr-28-3-a",
        G,
        "GDPR Art. 28(3)(a)",
        "Processes the data only on the controller's documented instructions, transfers included.",
        ("documented_instructions",),
        _flag("documented_instructions"),
    ),
    _clause(
        "gdpr-28-3-b",
        G,
        "GDPR Art. 28(3)(b)",
        "People authorised to process the data are bound to confidentiality.",
        ("personnel_confidentiality",),
        _flag("personnel_confidentiality"),
    ),
    _clause(
        "gdpr-28-3-c",
        G,
        "GDPR Art. 28(3)(c)",
        "Takes the security measures Art. 32 requires.",
        ("security_measures",),
        _text("security_measures"),
    ),
    _clause(
        "gdpr-28-3-d",
        G,
        "GDPR Art. 28(3)(d)",
        "Engages another processor only with the controller's prior authorisation.",
        ("subprocessing_requires_consent",),
        _flag("subprocessing_requires_consent"),
    ),
    _clause(
        "gdpr-28-3-e",
        G,
        "GDPR Art. 28(3)(e)",
        "Assists the controller in answering data subjects' requests.",
        ("assists_data_subject_rights",),
        _flag("assists_data_subject_rights"),
    ),
    _clause(
        "gdpr-28-3-f",
        G,
        "GDPR Art. 28(3)(f)",
        "Assists with security, breach notification and impact assessments (Arts. 32-36).",
        ("assists_compliance",),
        _flag("assists_compliance"),
    ),
    _clause(
        "gdpr-28-3-g",
        G,
        "GDPR Art. 28(3)(g)",
        "Deletes or returns all the data at the end, and deletes existing copies (backups).",
        ("end_of_contract", "backups_covered"),
        _END,
    ),
    _clause(
        "gdpr-28-3-h",
        G,
        "GDPR Art. 28(3)(h)",
        "Makes available the information needed to demonstrate compliance, and allows audits.",
        ("audit_right",),
        _flag("audit_right"),
    ),
    _clause(
        "pipl-21-purpose",
        P,
        "PIPL Art. 21",
        "Agrees the purpose of the entrusted processing.",
        ("purposes",),
        _text("purposes"),
    ),
    _clause(
        "pipl-21-period",
        P,
        "PIPL Art. 21",
        "Agrees the period of the entrusted processing.",
        ("processing_period",),
        _text("processing_period"),
    ),
    _clause(
        "pipl-21-method",
        P,
        "PIPL Art. 21",
        "Agrees the method of processing.",
        ("processing_method",),
        _text("processing_method"),
    ),
    _clause(
        "pipl-21-categories",
        P,
        "PIPL Art. 21",
        "Agrees the categories of personal information (recorded by the disclosures under the contract).",
        ("disclosures",),
        _CATEGORIES,
    ),
    _clause(
        "pipl-21-protection",
        P,
        "PIPL Art. 21",
        "Agrees the protective measures.",
        ("security_measures",),
        _text("security_measures"),
    ),
    _clause(
        "pipl-21-instructions",
        P,
        "PIPL Art. 21",
        "The trustee processes only as agreed, beyond neither purpose nor method.",
        ("documented_instructions",),
        _flag("documented_instructions"),
    ),
    _clause(
        "pipl-21-subentrust",
        P,
        "PIPL Art. 21",
        "No further entrusting without the handler's consent.",
        ("subprocessing_requires_consent",),
        _flag("subprocessing_requires_consent"),
    ),
    _clause(
        "pipl-21-return-delete",
        P,
        "PIPL Art. 21",
        "Returns or deletes the data when the contract ends, and retains none (backups included).",
        ("end_of_contract", "backups_covered"),
        _END,
    ),
    _clause(
        "pipl-21-supervision",
        P,
        "PIPL Art. 21",
        "The handler supervises the trustee's processing (audit right).",
        ("audit_right",),
        _flag("audit_right"),
    ),
    _clause(
        "policy-6-1-confidentiality",
        POL,
        "Privacy policy §6.1",
        "Confidentiality obligations and measures equivalent to ours.",
        ("confidentiality_equivalent",),
        _flag("confidentiality_equivalent"),
        Scope.every,
    ),
    _clause(
        "policy-6-1-backups",
        POL,
        "Privacy policy §6.1",
        "Deletes the data, backups included, after the service is over.",
        ("backups_covered",),
        _flag("backups_covered"),
        Scope.every,
    ),
    _clause(
        "pipl-23-basis",
        P,
        "PIPL Art. 23",
        "Another handler receives the data on the users' separate consent, or on another basis the law names.",
        ("disclosures.basis", "disclosures.consent_reference", "disclosures.legal_reference"),
        PROVISION_BASIS,
        Scope.provision,
    ),
    _clause(
        "pipl-23-recipient",
        P,
        "PIPL Art. 23",
        "The recipient's name and contact, which the users are told, are recorded.",
        ("vendor.legal_name", "vendor.contact", "vendor.privacy_contact"),
        RECIPIENT,
        Scope.provision,
    ),
    _clause(
        "gdpr-26-arrangement",
        G,
        "GDPR Art. 26",
        "Joint controllers have an arrangement setting out their responsibilities; its essence is made "
        "available to the data subjects.",
        ("joint_arrangement", "joint_arrangement_essence"),
        JOINT,
        Scope.joint,
    ),
)
CLAUSE_IDS = tuple(c.id for c in CLAUSES)

# Not required by the law or the policy, so not counted; when present, registry/deletions/rules.py
# holds every deletion report to them.
DELETION_TERMS: tuple[tuple[str, str, str], ...] = (
    (
        "deletion-minimum-sanitization",
        "The weakest NIST SP 800-88 sanitization category the vendor may use (clear < purge < destroy).",
        "minimum_sanitization",
    ),
    (
        "deletion-evidence",
        "Each deletion report comes with evidence (a file) before it is attested.",
        "evidence_required",
    ),
)


def clauses_of(frameworks: set[Framework] | None) -> tuple[Clause, ...]:
    return CLAUSES if not frameworks else tuple(c for c in CLAUSES if c.framework in frameworks)


def evaluate(
    contract: Mapping[str, Any], facts: Facts, frameworks: set[Framework] | None = None
) -> list[tuple[Clause, bool]]:
    """The clauses that apply to the contract (by its disclosures' roles), each with whether it has it."""
    return [
        (clause, clause.check(contract, facts))
        for clause in clauses_of(frameworks)
        if applies(clause.scope, facts)
    ]


def _in_force_with(day: date, vendor: str, condition: str) -> tuple[str, list[date]]:
    return rules.vendor_has_contract_sql(rules.in_force_sql(day, "c"), vendor, condition)


def _missing_sql(day: date, vendor: str, clause: Clause) -> tuple[str, list[date]]:
    """Some contract in force needs the clause, and none in force has it."""
    needed, n_args = _in_force_with(day, vendor, APPLIES_SQL[clause.scope])
    present, p_args = _in_force_with(day, vendor, clause.sql)
    return f"({needed} AND NOT {present})", [*n_args, *p_args]


def vendor_gaps_sql(day: date, vendor: str = "vendor.id") -> tuple[str, list[date]]:
    """Vendors with a contract in force, where some clause one of them needs is in none of them.
    The law asks for the clauses in "a contract or other legal act": an MSA and its DPA together count."""
    any_, args = _in_force_with(day, vendor, "TRUE")
    missing = [_missing_sql(day, vendor, clause) for clause in CLAUSES]
    sql = " OR ".join(m for m, _ in missing)
    return f"({any_} AND ({sql}))", args + [a for _, margs in missing for a in margs]


def vendor_complete_sql(day: date, vendor: str = "vendor.id") -> tuple[str, list[date]]:
    """Vendors with a contract in force whose contracts in force together have every clause they need."""
    any_, args = _in_force_with(day, vendor, "TRUE")
    missing = [_missing_sql(day, vendor, clause) for clause in CLAUSES]
    sql = " AND ".join(f"NOT {m}" for m, _ in missing)
    return f"({any_} AND {sql})", args + [a for _, margs in missing for a in margs]


# GDPR Art. 28(4): a sub-processor's contract imposes "the same data protection obligations" as the
# processor's contract with us. Kept apart from the role-dependent clauses above (one check, one id).
FLOW_DOWN_ID = "gdpr-28-4"
FLOW_DOWN_ARTICLE = "GDPR Art. 28(4)"


def flow_down_gaps(
    processor_contract: Mapping[str, Any],
    processor_has_categories: bool,
    flow_down: Mapping[str, Any],
    flow_down_has_categories: bool,
) -> list[str]:
    """Ids of the processing clauses (Art. 28(3), PIPL 21, the policy's) the processor's contract with
    us has and the flow-down contract lacks: both are judged as processing contracts."""

    def facts(has_categories: bool) -> Facts:
        return Facts(
            has_categories=has_categories,
            roles=frozenset({RecipientRole.processor}),
            provision_basis=True,
            recipient_identified=True,
        )

    return [
        clause.id
        for clause in CLAUSES
        if clause.scope in (Scope.processing, Scope.every)
        and clause.check(processor_contract, facts(processor_has_categories))
        and not clause.check(flow_down, facts(flow_down_has_categories))
    ]
