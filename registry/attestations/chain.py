"""Chains of attestations for one obligation: revoking keeps the old one, issuing again makes a successor
that names it. Serials are deterministic, so concurrent issuers agree and the database settles the race."""

from typing import Any

from registry.tables import Attestation


def successor_serial(first: str, issued_before: int) -> str:
    """``PRA-2026-000012`` is followed by ``PRA-2026-000012-2``, ``-3``...: the n-th for an obligation."""
    return first if issued_before == 0 else f"{first}-{issued_before + 1}"


async def predecessors(obligation_id: int) -> list[dict[str, Any]]:
    """Every attestation issued for the obligation (all revoked when a new one may be issued), oldest first."""
    return (
        await Attestation.select(Attestation.serial, Attestation.revoked_at, Attestation.revocation_reason)
        .where(Attestation.obligation == obligation_id)
        .order_by(Attestation.id)
    )


async def link(facts: dict[str, Any], obligation_id: int, verification_url) -> None:
    """Give a re-issue its successor serial and name the attestation it supersedes, in its facts."""
    earlier = await predecessors(obligation_id)
    facts["supersedes"] = None
    if not earlier:
        return
    last = earlier[-1]
    facts["serial"] = successor_serial(earlier[0]["serial"], len(earlier))
    facts["verification_url"] = verification_url(facts["serial"])
    facts["supersedes"] = {
        "serial": last["serial"],
        "revoked_on": last["revoked_at"].date().isoformat() if last["revoked_at"] else None,
        "reason": last["revocation_reason"],
    }


async def successors(serials: list[str]) -> dict[str, str]:
    """serial -> the serial of the attestation that supersedes it, for those superseded."""
    if not serials:
        return {}
    rows = await Attestation.select(Attestation.serial, Attestation.supersedes).where(
        Attestation.supersedes.is_in(serials)
    )
    return {r["supersedes"]: r["serial"] for r in rows}
