"""A form's rules beyond its schema, checked before saving so that a form with several mistakes is
answered with all of them at once. Pydantic stops at the schema (a model's other rules never run when
a field is wrong) and a service stops at its first refusal; these read what was typed, whatever else
is wrong. The services still check every rule when saving: these only say more, sooner."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from registry.tables import Contract, Vendor
from registry.words import day

Checks = Callable[[dict[str, Any]], Awaitable[dict[str, str]]]


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


async def contract(values: dict[str, Any], contract_id: int | None = None) -> dict[str, str]:
    """Dates in order and a reference no other contract has."""
    found = {}
    start, expiry = _day(values.get("effective_from")), _day(values.get("expires_on"))
    if start and expiry and expiry < start:
        found["expires_on"] = "Last day in force: must not be before the day it is in force from."
    reference = (values.get("reference") or "").strip()
    if reference:
        other = (
            await Contract.select(Contract.id, Contract.title).where(Contract.reference == reference).first()
        )
        if other and other["id"] != contract_id:
            found["reference"] = f"Reference: the contract “{other['title']}” already has this reference."
    return found


async def disclosure(values: dict[str, Any]) -> dict[str, str]:
    """What each legal basis needs, and the period's days in order."""
    found = {}
    basis = values.get("basis")
    if basis == "contract" and not values.get("contract_id"):
        found["contract_id"] = "Contract: required when the legal basis is a contract."
    if basis == "consent" and not (values.get("consent_reference") or "").strip():
        found["consent_reference"] = "Consent reference: required when the legal basis is consent."
    start, end = _day(values.get("valid_from")), _day(values.get("valid_to"))
    if start and end and end < start:
        found["valid_to"] = "End date must not be before the start date."
    return found


async def vendor(values: dict[str, Any], vendor_id: int | None = None) -> dict[str, str]:
    """A name no other vendor has."""
    name = (values.get("name") or "").strip()
    other = await Vendor.select(Vendor.id).where(Vendor.name == name).first() if name else None
    if other and other["id"] != vendor_id:
        return {"name": f"Name: another vendor is already called “{name}”."}
    return {}


def confirmation(deletion) -> Checks:
    """What the obligation asks of its deletion report (deletions/rules.py says it again on saving)."""

    async def check(values: dict[str, Any]) -> dict[str, str]:
        found = {}
        if deletion.backups_in_scope:
            if not (values.get("backups_handling") or "").strip():
                found["backups_handling"] = (
                    "How backups were handled: required, as the contract covers backups."
                )
            if not values.get("last_backup_expires_on"):
                found["last_backup_expires_on"] = (
                    "Last backup copy expires on: required, as the contract covers backups."
                )
        if deletion.end_of_contract.value == "return_then_delete" and not values.get("returned.returned_on"):
            found["returned.returned_on"] = "Returned on: required, as the contract says return, then delete."
        completed = _day(values.get("completed_on"))
        if completed and completed < deletion.ended_on:
            found["completed_on"] = (
                f"Completed on: must not be before the contract ended ({day(deletion.ended_on)})."
            )
        return found

    return check
