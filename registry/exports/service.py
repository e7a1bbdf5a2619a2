"""The register of recipients (GDPR Art. 30(1)(d)): one row per vendor and disclosure."""

import csv
import io
from datetime import date, datetime

from registry.disclosures.service import read_many, select_disclosures, valid_on
from registry.errors import invalid
from registry.exports.schemas import RecipientRow
from registry.subprocessors.reads import edges_and_names
from registry.subprocessors.rules import chain
from registry.tables import Contract, Disclosure, Vendor
from registry.transfers.rules import is_transfer
from registry.transfers.service import decision_data
from registry.words import MECHANISMS, ROLES, Words


async def recipient_rows(as_of: date | None) -> list[RecipientRow]:
    query = select_disclosures()
    if as_of:
        query = query.where(*valid_on(as_of))
    disclosures = await read_many(await query.order_by(Disclosure.id))
    vendor_ids = sorted({d.vendor_id for d in disclosures}) or [0]
    contract_ids = sorted({d.contract_id for d in disclosures if d.contract_id}) or [0]
    vendors = {
        v["id"]: v
        for v in await Vendor.select(Vendor.id, Vendor.legal_name, Vendor.kind, Vendor.country).where(
            Vendor.id.is_in(vendor_ids)
        )
    }
    titles = {
        c["id"]: c["title"]
        for c in await Contract.select(Contract.id, Contract.title).where(Contract.id.is_in(contract_ids))
    }
    mechanisms = {i: t["mechanism"] for i, t in (await decision_data([d.id for d in disclosures])).items()}
    edges, names = await edges_and_names()
    rows = [
        RecipientRow(
            vendor_id=d.vendor_id,
            vendor_name=d.vendor_name,
            vendor_legal_name=vendors[d.vendor_id]["legal_name"],
            vendor_kind=vendors[d.vendor_id]["kind"],
            vendor_country=vendors[d.vendor_id]["country"],
            disclosure_id=d.id,
            categories=d.categories,
            data_subjects=d.data_subjects,
            purpose=d.purpose,
            basis=d.basis,
            role=d.role,
            contract_id=d.contract_id,
            contract_reference=d.contract_reference,
            contract_title=titles.get(d.contract_id),
            consent_reference=d.consent_reference,
            legal_reference=d.legal_reference,
            valid_from=d.valid_from,
            valid_to=d.valid_to,
            destination_country=d.country,
            origin_country=d.origin,
            transfer_mechanism=mechanisms.get(d.id),
            engagement_id=d.engagement_id,
            processor_chain=[link["vendor_name"] for link in chain(d.engagement_id, edges, names)]
            if d.engagement_id
            else [],
        )
        for d in disclosures
    ]
    return sorted(rows, key=lambda r: (r.vendor_name.lower(), r.disclosure_id))


# A spreadsheet treats a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else (";".join(value) if isinstance(value, list) else str(value))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_csv(rows: list[RecipientRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    fields = list(RecipientRow.model_fields)
    writer.writerow(fields)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow([safe_cell(data[f]) for f in fields])
    return out.getvalue()


def report_context(
    controller: str, generated_at: datetime, as_of: date | None, rows: list[RecipientRow], words: Words
) -> dict:
    """What the PDF report template needs: plain data, picklable for the worker process."""
    vendors: dict[int, dict] = {}
    for row in rows:
        vendor = vendors.setdefault(
            row.vendor_id,
            {
                "name": row.vendor_name,
                "legal_name": row.vendor_legal_name,
                "kind": row.vendor_kind,
                "country": row.vendor_country,
                "rows": [],
            },
        )
        shown = row.model_dump(mode="json")
        shown["role_words"] = ROLES.get(shown["role"], shown["role"])
        shown["transfer_words"] = None
        if row.processor_chain:
            shown["role_words"] += " of " + " → ".join(row.processor_chain)
        if is_transfer(row.origin_country, row.destination_country):
            how = MECHANISMS.get(shown["transfer_mechanism"] or "", "no transfer mechanism recorded")
            shown["transfer_words"] = f"from {row.origin_country}: {how}"
        vendor["rows"].append(shown)
    return {
        "controller": controller,
        "generated_at": generated_at.isoformat(),
        "as_of": as_of.isoformat() if as_of else None,
        "total": len(rows),
        "vendors": list(vendors.values()),
        "words": words.subset(
            {
                "vendor_kind": {r.vendor_kind for r in rows},
                "data_category": {k for r in rows for k in r.categories},
                "data_subject": {k for r in rows for k in r.data_subjects},
            }
        ),
    }


# A report of 1,000 rows renders in ~7 s in a PDF worker shared with attestations; more, use CSV/XLSX.
MAX_PDF_ROWS = 1000


async def recipient_rows_for_pdf(day: date, limit: int = MAX_PDF_ROWS) -> list[RecipientRow]:
    """The recipients of ``day`` for the PDF report; 422 when they are more than one PDF holds."""
    rows = await recipient_rows(day)
    if len(rows) > limit:
        raise invalid(
            "as_of",
            "too_many_rows",
            f"{len(rows)} disclosures are too many for a PDF (at most {limit}): "
            "use recipients.csv or register.xlsx",
        )
    return rows
