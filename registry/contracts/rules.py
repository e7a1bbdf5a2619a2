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


def in_force(contract: Mapping[str, Any], day: date) -> bool:
    """Signed, taken effect on or before ``day``, and not ended before it."""
    end = contract["ends_on"]
    return _signed_and_started(contract, day) and (end is None or end >= day)


def ended(contract: Mapping[str, Any], day: date) -> bool:
    """Signed and taken effect, but over before ``day`` (expired or terminated)."""
    end = contract["ends_on"]
    return _signed_and_started(contract, day) and end is not None and end < day


def in_deletion_window(contract: Mapping[str, Any], day: date) -> bool:
    """Ended, with its deletion deadline still to come (or today)."""
    return ended(contract, day) and contract["deletion_due_on"] >= day


def _signed_and_started(contract: Mapping[str, Any], day: date) -> bool:
    start = contract["effective_from"]
    return bool(contract["signed_on"]) and start is not None and start <= day


def contract_status(contract: Mapping[str, Any], day: date) -> ContractStatus:
    if in_force(contract, day):
        return ContractStatus.active
    if not ended(contract, day):
        return ContractStatus.draft
    if contract["terminated_on"] is not None and contract["terminated_on"] == contract["ends_on"]:
        return ContractStatus.terminated
    return ContractStatus.expired


def deletion_pending(contract: Mapping[str, Any]) -> bool:
    """Data was disclosed under it and no standing attestation says it was deleted. The contract
    mapping carries ``disclosed`` and ``attested`` (vendors.service.with_deletion_state)."""
    return bool(contract["disclosed"]) and not contract["attested"]


def vendor_status(contracts: Iterable[Mapping[str, Any]], day: date) -> VendorStatus:
    """Active while any contract is in force; once none is, offboarding until every ended contract's
    deletion is attested (overdue or not: the deletion loop decides, not the calendar), then former."""
    contracts = list(contracts)
    if any(in_force(c, day) for c in contracts):
        return VendorStatus.active
    if not any(ended(c, day) for c in contracts):
        return VendorStatus.prospective
    if any(ended(c, day) and deletion_pending(c) for c in contracts):
        return VendorStatus.offboarding
    return VendorStatus.former


# The same rules as SQL, for filtering lists: each function is the twin of the predicate of its name
# and returns its SQL (``{}`` placeholders, for WhereRaw) with the arguments, over the contract table
# aliased ``alias``. tests/test_rules.py runs both forms over the same edge dates on both engines.
SQL = tuple[str, list[date]]


def _signed_and_started_sql(day: date, alias: str) -> SQL:
    return f"{alias}.signed_on IS NOT NULL AND {alias}.effective_from <= {{}}", [day]


def in_force_sql(day: date, alias: str = "contract") -> SQL:
    started, args = _signed_and_started_sql(day, alias)
    return f"({started} AND ({alias}.ends_on IS NULL OR {alias}.ends_on >= {{}}))", [*args, day]


def ended_sql(day: date, alias: str = "contract") -> SQL:
    started, args = _signed_and_started_sql(day, alias)
    return f"({started} AND {alias}.ends_on < {{}})", [*args, day]


def in_deletion_window_sql(day: date, alias: str = "contract") -> SQL:
    sql, args = ended_sql(day, alias)
    return f"({sql} AND {alias}.deletion_due_on >= {{}})", [*args, day]


def deletion_pending_sql(alias: str = "contract") -> SQL:
    """The SQL twin of :func:`deletion_pending`."""
    return (
        f"(EXISTS (SELECT 1 FROM disclosure d WHERE d.contract = {alias}.id) AND NOT EXISTS "
        "(SELECT 1 FROM deletion_obligation o JOIN attestation a ON a.obligation = o.id "
        f"WHERE o.contract = {alias}.id AND a.revoked_at IS NULL))",
        [],
    )


def contract_status_sql(status: ContractStatus, day: date, alias: str = "contract") -> SQL:
    """The SQL twin of :func:`contract_status`."""
    if status is ContractStatus.draft:
        return (
            f"({alias}.signed_on IS NULL OR {alias}.effective_from IS NULL OR {alias}.effective_from > {{}})",
            [day],
        )
    if status is ContractStatus.active:
        return in_force_sql(day, alias)
    sql, args = ended_sql(day, alias)
    if status is ContractStatus.terminated:
        return f"({sql} AND {alias}.terminated_on = {alias}.ends_on)", args
    return f"({sql} AND ({alias}.terminated_on IS NULL OR {alias}.terminated_on <> {alias}.ends_on))", args


def vendor_has_contract_sql(rule: SQL, vendor: str = "vendor.id", condition: str = "TRUE") -> SQL:
    """Some contract (aliased ``c``) of ``vendor`` meets ``rule`` (a ``*_sql(day, "c")``) and ``condition``."""
    sql, args = rule
    return f"EXISTS (SELECT 1 FROM contract c WHERE c.vendor = {vendor} AND {sql} AND {condition})", args


def vendor_status_sql(status: VendorStatus, day: date) -> SQL:
    """The SQL twin of :func:`vendor_status`, over the vendor table."""
    active, a = vendor_has_contract_sql(in_force_sql(day, "c"))
    ended_, e = vendor_has_contract_sql(ended_sql(day, "c"))
    ended_sql_, ended_args = ended_sql(day, "c")
    pending, p = vendor_has_contract_sql((f"{ended_sql_} AND {deletion_pending_sql('c')[0]}", ended_args))
    if status is VendorStatus.active:
        return active, a
    if status is VendorStatus.prospective:
        return f"NOT {active} AND NOT {ended_}", [*a, *e]
    if status is VendorStatus.offboarding:
        return f"NOT {active} AND {pending}", [*a, *p]
    return f"NOT {active} AND {ended_} AND NOT {pending}", [*a, *e, *p]


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
