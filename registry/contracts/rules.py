"""Dates decide everything. A contract is in force from ``effective_from`` to ``ends_on``, both
inclusive, where ``ends_on`` is the earlier of its expiry and its termination date."""

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from registry.enums import ContractStatus, VendorStatus
from registry.errors import invalid


def ends_on(expires_on: date | None, terminated_on: date | None) -> date | None:
    dates = [d for d in (expires_on, terminated_on) if d is not None]
    return min(dates) if dates else None


def deletion_due_on(end: date | None, deadline_days: int) -> date | None:
    try:
        return end + timedelta(days=deadline_days) if end else None
    except OverflowError:
        from registry.errors import invalid

        raise invalid(
            "deletion_deadline_days",
            "range",
            "the contract's end plus its deletion deadline passes the year 9999",
        ) from None


def contract_status(contract: Mapping[str, Any], day: date) -> ContractStatus:
    if not contract["signed_on"] or not contract["effective_from"] or contract["effective_from"] > day:
        return ContractStatus.draft
    end = contract["ends_on"]
    if end is None or end >= day:
        return ContractStatus.active
    if contract["terminated_on"] is not None and contract["terminated_on"] == end:
        return ContractStatus.terminated
    return ContractStatus.expired


def vendor_status(contracts: Iterable[Mapping[str, Any]], day: date) -> VendorStatus:
    """Active while any contract is in force; offboarding until the last deletion deadline passes."""
    statuses = [(c, contract_status(c, day)) for c in contracts]
    if any(status is ContractStatus.active for _, status in statuses):
        return VendorStatus.active
    ended = [c for c, status in statuses if status in (ContractStatus.expired, ContractStatus.terminated)]
    if not ended:
        return VendorStatus.prospective
    if any(c["deletion_due_on"] >= day for c in ended):
        return VendorStatus.offboarding
    return VendorStatus.former


# The same rules as SQL, for filtering lists; {} placeholders take the day. Kept beside the Python
# above so that a change to one is made to both (tests compare them on the demo data).
_IN_FORCE = (
    "EXISTS (SELECT 1 FROM contract c WHERE c.vendor = vendor.id AND c.signed_on IS NOT NULL"
    " AND c.effective_from <= {} AND (c.ends_on IS NULL OR c.ends_on >= {}))"
)
_ENDED = (
    "EXISTS (SELECT 1 FROM contract c WHERE c.vendor = vendor.id AND c.signed_on IS NOT NULL"
    " AND c.effective_from IS NOT NULL AND c.ends_on < {})"
)
_IN_DELETION_WINDOW = (
    "EXISTS (SELECT 1 FROM contract c WHERE c.vendor = vendor.id AND c.signed_on IS NOT NULL"
    " AND c.effective_from IS NOT NULL AND c.ends_on < {} AND c.deletion_due_on >= {})"
)


def vendor_status_sql(status: VendorStatus, day: date) -> tuple[str, list[date]]:
    if status is VendorStatus.active:
        return _IN_FORCE, [day, day]
    not_active = f"NOT {_IN_FORCE}"
    if status is VendorStatus.prospective:
        return f"{not_active} AND NOT {_ENDED}", [day, day, day]
    if status is VendorStatus.offboarding:
        return f"{not_active} AND {_IN_DELETION_WINDOW}", [day, day, day, day]
    return f"{not_active} AND {_ENDED} AND NOT {_IN_DELETION_WINDOW}", [day, day, day, day, day]


def check_dates(c: Mapping[str, Any]) -> None:
    """Dates in order: effective ≤ expiry, and a termination within the period in force."""
    start, expiry, terminated = c.get("effective_from"), c.get("expires_on"), c.get("terminated_on")
    if start and expiry and expiry < start:
        raise invalid("expires_on", "date_order", "must not be before effective_from")
    if terminated is not None:
        if start and terminated < start:
            raise invalid("effective_from", "date_order", "must not be after the termination date")
        if expiry and terminated > expiry:
            raise invalid("expires_on", "date_order", "must not be before the termination date")


_SIGNED_AND_STARTED = "contract.signed_on IS NOT NULL AND contract.effective_from <= {}"


def contract_status_sql(status: ContractStatus, day: date) -> tuple[str, list[date]]:
    """The SQL twin of :func:`contract_status`."""
    if status is ContractStatus.draft:
        return (
            "(contract.signed_on IS NULL OR contract.effective_from IS NULL OR contract.effective_from > {})",
            [day],
        )
    if status is ContractStatus.active:
        return f"{_SIGNED_AND_STARTED} AND (contract.ends_on IS NULL OR contract.ends_on >= {{}})", [day, day]
    ended = f"{_SIGNED_AND_STARTED} AND contract.ends_on < {{}}"
    if status is ContractStatus.terminated:
        return f"{ended} AND contract.terminated_on = contract.ends_on", [day, day]
    return (f"{ended} AND (contract.terminated_on IS NULL OR contract.terminated_on <> contract.ends_on)"), [
        day,
        day,
    ]


def coverage_problem(contract: Mapping[str, Any], valid_from: date, valid_to: date | None) -> str | None:
    """Why ``contract`` cannot cover a contract-basis disclosure over the period, or None (§6.1)."""
    ref = f"contract {contract['id']}" + (f" ({contract['reference']})" if contract.get("reference") else "")
    if not contract["confidentiality_equivalent"]:
        return f"{ref} has no confidentiality obligations equivalent to ours (policy §6.1)"
    if not contract["signed_on"] or not contract["effective_from"]:
        return f"{ref} is a draft: not signed, or without an effective date"
    if valid_from < contract["effective_from"]:
        return (
            f"{ref} takes effect on {contract['effective_from']}, after the disclosure starts ({valid_from})"
        )
    end = contract["ends_on"]
    if end is not None and (valid_to is None or valid_to > end):
        until = valid_to or "further notice"
        return f"{ref} ends on {end}, but the disclosure runs until {until}"
    return None
