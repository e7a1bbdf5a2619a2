"""The supervision report's transfer items: each disclosure not yet ended that crosses a border without
a fitting mechanism, with an assessment missing or past its review date, or (data leaving China)
without its filing or the separate consent (registry.transfers.rules decides, as for the check)."""

from datetime import date

from piccolo.columns.combination import WhereRaw

from registry.supervision.schemas import ItemKind, ReportItem, Severity
from registry.tables import Disclosure
from registry.transfers import rules
from registry.transfers.service import decision_data


def _severity(code: str) -> Severity:
    return Severity.overdue if code == rules.ASSESSMENT_OVERDUE else Severity.gap


async def transfer_items(today: date) -> list[ReportItem]:
    """Two queries: the open disclosures that leave their origin's country, and their records."""
    rows = await Disclosure.select(
        Disclosure.id,
        Disclosure.vendor,
        Disclosure.vendor.name.as_alias("vendor_name"),
        Disclosure.origin,
        Disclosure.country,
        Disclosure.purpose,
    ).where(
        WhereRaw("disclosure.origin <> disclosure.country"),
        WhereRaw("(disclosure.valid_to IS NULL OR disclosure.valid_to >= {})", today),
    )
    records = await decision_data([r["id"] for r in rows])
    items = []
    for r in rows:
        record = records.get(r["id"])
        for problem in rules.problems(r["origin"], r["country"], record, today):
            due = record.get("tia_review_by") if problem.code == rules.ASSESSMENT_OVERDUE else None
            items.append(
                ReportItem(
                    kind=ItemKind(problem.code),
                    severity=_severity(problem.code),
                    vendor_id=r["vendor"],
                    vendor_name=r["vendor_name"],
                    object_type="disclosure",
                    object_id=r["id"],
                    summary=f"Disclosure for {r['purpose']}: {problem.why}.",
                    date=due,
                    days=(due - today).days if due else None,
                    href=f"/disclosures/{r['id']}/transfer",
                    page=f"/ui/vendors/{r['vendor']}",
                )
            )
    return items
