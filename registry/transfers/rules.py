"""Transfer rules as pure functions, shared by the write checks, the lookup check (SQL path and
in-memory index), the conformance list and the supervision report.

A disclosure is an international transfer when its data goes to another country than it leaves from,
except between two EEA members (the GDPR's free movement within the EEA, Art. 1(3); Chapter V covers
third countries only).
"""

from datetime import date
from typing import Any, NamedTuple

from registry.enums import GDPR_MECHANISMS, PIPL_MECHANISMS, TransferMechanism
from registry.transfers.countries import adequacy, in_eea
from registry.words import MECHANISMS, country

CHINA = "CN"
# Mechanisms that need an assessment of the destination's law: a transfer impact assessment for the
# Art. 46/47 tools (Schrems II, EDPB Recommendations 01/2020), the PIPL Art. 55 assessment for PIPL's.
ASSESSED = frozenset({TransferMechanism.scc_2021, TransferMechanism.bcr}) | PIPL_MECHANISMS
NO_MECHANISM = "transfer_without_mechanism"
ASSESSMENT_MISSING = "transfer_assessment_missing"
ASSESSMENT_OVERDUE = "transfer_assessment_overdue"
CONSENT_MISSING = "transfer_consent_missing"
FILING_MISSING = "transfer_filing_missing"
_PIPL_FIELDS = ("filing_date", "filing_number", "separate_consent_reference")


def is_transfer(origin: str, destination: str) -> bool:
    return origin != destination and not (in_eea(origin) and in_eea(destination))


def _origin_problem(m: TransferMechanism, origin: str) -> tuple[str, str, str] | None:
    if m in GDPR_MECHANISMS and not in_eea(origin):
        return (
            "mechanism",
            "gdpr_origin",
            f"{MECHANISMS[m]} is a GDPR mechanism; the data leaves from {country(origin)}, not the EEA",
        )
    if m in PIPL_MECHANISMS and origin != CHINA:
        return (
            "mechanism",
            "pipl_origin",
            f"{MECHANISMS[m]} is a PIPL mechanism; the data leaves from {country(origin)}, not China",
        )
    if m is TransferMechanism.other_law and (in_eea(origin) or origin == CHINA):
        law = "the GDPR" if in_eea(origin) else "the PIPL"
        return (
            "mechanism",
            "other_law_origin",
            f"data leaving {country(origin)} is transferred under {law}: record one of its mechanisms",
        )
    return None


def _detail_problem(v: dict[str, Any], m: TransferMechanism, destination: str):
    if m is TransferMechanism.other_law and not (v.get("mechanism_reference") or "").strip():
        return (
            "mechanism_reference",
            "required",
            "name the origin country's rule and instrument relied on (e.g. UK IDTA, signed 2025-01-10)",
        )
    if m is TransferMechanism.adequacy:
        decision = adequacy(destination)
        if decision is None:
            return "mechanism", "adequacy_decision", f"{country(destination)} has no EU adequacy decision"
        if decision.certified_only and not v.get("dpf_certified"):
            return (
                "dpf_certified",
                "required",
                f"adequacy for {country(destination)} covers certified recipients only",
            )
    if (m is TransferMechanism.scc_2021) != (v.get("scc_module") is not None):
        if m is TransferMechanism.scc_2021:
            return "scc_module", "required", "the 2021 SCCs are used in module 1, 2, 3 or 4"
        return "scc_module", "not_applicable", "only the 2021 SCCs have modules"
    if (m is TransferMechanism.derogation_49) != bool(v.get("derogation")):
        if m is TransferMechanism.derogation_49:
            return "derogation", "required", "name which of Art. 49(1)(a)-(g) applies"
        return "derogation", "not_applicable", "only an Art. 49 derogation names one"
    if m is not TransferMechanism.standard_contract:
        for name in ("filing_date", "filing_number"):
            if v.get(name):
                return name, "not_applicable", "a filing belongs to a PIPL standard contract"
    return None


def fit_problem(v: dict[str, Any], origin: str, destination: str) -> tuple[str, str, str] | None:
    """(field, rule, message) when the record does not fit the disclosure; None when it does."""
    m = TransferMechanism(v["mechanism"])
    if not is_transfer(origin, destination):
        return (
            "mechanism",
            "not_a_transfer",
            f"data from {country(origin)} to {country(destination)} is not an international transfer",
        )
    if origin != CHINA:
        for name in _PIPL_FIELDS:
            if v.get(name):
                return (
                    name,
                    "pipl_origin",
                    f"PIPL applies to data leaving China; this leaves from {country(origin)}",
                )
    problem = _origin_problem(m, origin) or _detail_problem(v, m, destination)
    if problem:
        return problem
    if v.get("tia_date") and v.get("tia_review_by") and v["tia_review_by"] < v["tia_date"]:
        return "tia_review_by", "date_order", "must not be before tia_date"
    return None


class Problem(NamedTuple):
    """One thing wrong with a transfer: a code (the supervision item's), whether the check refuses."""

    code: str
    blocks: bool
    why: str


def _assessment(m: TransferMechanism, t: dict[str, Any], day: date) -> list[Problem]:
    if m not in ASSESSED:
        return []
    if not t.get("tia_date"):
        return [
            Problem(
                ASSESSMENT_MISSING,
                True,
                f"no transfer impact assessment is recorded for its {MECHANISMS[m].lower()}",
            )
        ]
    if t.get("tia_review_by") and t["tia_review_by"] < day:
        return [
            Problem(
                ASSESSMENT_OVERDUE,
                True,
                f"its transfer impact assessment was due for review on {t['tia_review_by']}",
            )
        ]
    return []


def problems(origin: str, destination: str, t: dict[str, Any] | None, day: date) -> list[Problem]:
    """What is wrong with a disclosure's transfer on ``day``; none when it is lawful or no transfer.
    Countries and mechanisms in words: the reasons are shown on pages as they are."""
    if not is_transfer(origin, destination):
        return []
    if t is None:
        route = f"from {country(origin)} to {country(destination)}"
        return [Problem(NO_MECHANISM, True, f"no transfer mechanism is recorded for data {route}")]
    m = TransferMechanism(t["mechanism"])
    unfit = fit_problem(t, origin, destination)
    if unfit:
        return [
            Problem(NO_MECHANISM, True, f"its transfer mechanism ({MECHANISMS[m]}) does not fit: {unfit[2]}")
        ]
    found: list[Problem] = []
    decision = adequacy(destination) if m is TransferMechanism.adequacy else None
    if decision and not decision.in_force(day):
        found.append(
            Problem(
                NO_MECHANISM, True, f"no adequacy decision for {country(destination)} is in force on {day}"
            )
        )
    found += _assessment(m, t, day)
    if origin == CHINA and not t.get("separate_consent_reference"):
        found.append(
            Problem(CONSENT_MISSING, True, "the separate consent PIPL Art. 39 requires is not recorded")
        )
    if m is TransferMechanism.standard_contract and not (t.get("filing_date") and t.get("filing_number")):
        why = "the standard contract's filing with the CAC (date and number) is not recorded"
        found.append(Problem(FILING_MISSING, False, why))
    return found


def blocking(origin: str, destination: str, t: dict[str, Any] | None, day: date) -> str | None:
    """Why the transfer cannot be relied on on ``day``, or None."""
    return next((p.why for p in problems(origin, destination, t, day) if p.blocks), None)
