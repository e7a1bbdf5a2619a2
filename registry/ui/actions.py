"""What a dashboard item asks a person to do, as a link to the page (or form) that does it."""

from dataclasses import dataclass

from registry.auth import Actor
from registry.enums import Role
from registry.supervision.schemas import ItemKind, ReportItem


@dataclass(frozen=True)
class Action:
    """A link that does what the item asks: its words and where it goes."""

    label: str
    href: str


def action_for(item: ReportItem, actor: Actor) -> Action | None:
    """The page that settles ``item``; None when the person's role cannot act on it (they get the
    vendor's page, which the item always links)."""
    vendor, number = item.vendor_id, item.object_id
    if item.kind in (ItemKind.deletion_overdue, ItemKind.deletion_due, ItemKind.backup_follow_up_missing):
        found = Action("Record a confirmation", f"/ui/deletions/{number}/confirm")
    elif item.kind is ItemKind.review_overdue:
        found = Action("Record a review", f"/ui/vendors/{vendor}?note=review#journal")
    elif item.kind is ItemKind.contract_expiring:
        found = Action("Renew or end the contract", f"/ui/contracts/{number}/edit")
    elif item.kind is ItemKind.consent_without_reference:
        found = Action("Add the consent reference", f"/ui/disclosures/{number}/edit")
    elif item.kind.value.startswith("transfer_"):
        found = Action("Record the transfer", f"/ui/disclosures/{number}/transfer")
    elif item.kind is ItemKind.contract_clauses_missing:
        return Action("See the missing clauses", f"/ui/vendors/{vendor}#clauses")
    elif item.kind is ItemKind.no_equivalent_confidentiality:
        return Action("See its contracts", f"/ui/vendors/{vendor}#contracts")
    else:
        return None
    return found if actor.has(Role.editor) else None
