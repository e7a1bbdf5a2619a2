"""The supervision report's sub-processor items: an engagement in force today whose flow-down contract
does not impose the processor's obligations (GDPR Art. 28(4)), or that names no flow-down contract or
no processor contract to compare it with (registry.subprocessors.conformance decides, as its route)."""

from datetime import date

from registry.subprocessors.conformance import flow_down_conformance
from registry.supervision.schemas import ItemKind, ReportItem, Severity
from registry.tables import SubprocessorEngagement

E = SubprocessorEngagement


async def flow_down_items(today: date) -> list[ReportItem]:
    rows = await E.select(
        E.id,
        E.engaged_by.name.as_alias("processor_name"),
        E.subprocessor,
        E.subprocessor.name.as_alias("subprocessor_name"),
    ).where(E.valid_from <= today, (E.valid_to.is_null()) | (E.valid_to >= today), E.objected_on.is_null())
    items = []
    for row in rows:
        verdict = await flow_down_conformance(row["id"])
        if verdict.conforms:
            continue
        items.append(
            ReportItem(
                kind=ItemKind.flow_down_gap,
                severity=Severity.gap,
                vendor_id=row["subprocessor"],
                vendor_name=row["subprocessor_name"],
                object_type="subprocessor_engagement",
                object_id=row["id"],
                summary=f"Sub-processor of {row['processor_name']} (GDPR Art. 28(4)): {verdict.detail}.",
                date=None,
                days=None,
                href=f"/subprocessor-engagements/{row['id']}/conformance",
                page=f"/ui/vendors/{row['subprocessor']}",
            )
        )
    return items
