"""Fides in and out: the registry's reads and the spreadsheet import around the fideslang mapping
of fides.py (export_manifest, import_manifest; used by the routes and the CLI)."""

from collections import defaultdict
from datetime import date
from typing import Any

from fideslang.models import PrivacyDeclaration

from registry import clock
from registry.auth import WriteContext
from registry.disclosures.schemas import DisclosureRead
from registry.disclosures.service import read_many, select_disclosures, valid_on
from registry.enums import LegalBasis
from registry.imports import service as imports
from registry.imports.service import ImportResult
from registry.interop import fides
from registry.interop.fides import Entry, Sheets
from registry.interop.schemas import DeclarationMeta
from registry.subprocessors.reads import edges_and_names
from registry.subprocessors.rules import chain
from registry.tables import Disclosure, Vendor
from registry.transfers.service import decision_data


async def export_manifest(as_of: date | None) -> str:
    """Every vendor as a System, with its disclosures (those valid on ``as_of``, or all)."""
    vendors = await Vendor.select().output(load_json=True)
    query = select_disclosures()
    if as_of:
        query = query.where(*valid_on(as_of))
    by_vendor: dict[int, list[DisclosureRead]] = defaultdict(list)
    for d in await read_many(await query):
        by_vendor[d.vendor_id].append(d)
    ids = [d.id for found in by_vendor.values() for d in found]
    mechanisms = {i: t["mechanism"] for i, t in (await decision_data(ids)).items()}
    edges, names = await edges_and_names()
    chains = {
        d.id: [link["vendor_name"] for link in chain(d.engagement_id, edges, names)]
        for ds in by_vendor.values()
        for d in ds
        if d.engagement_id
    }
    return fides.manifest(vendors, by_vendor, mechanisms, chains)


async def _first_day(vendor: str, basis: LegalBasis, d: PrivacyDeclaration, contract: str | None):
    """The first day of the registry's matching disclosure: a declaration without dates imports
    onto it again instead of starting a new one each day."""
    query = select_disclosures().where(
        Disclosure.vendor.name == vendor,
        Disclosure.basis == basis.value,
        Disclosure.purpose == d.data_use,
        Disclosure.contract.is_null() if contract is None else Disclosure.contract.reference == contract,
    )
    wanted = (set(d.data_categories), set(d.data_subjects))
    for found in await read_many(await query.order_by(Disclosure.valid_from, ascending=False)):
        if (set(found.categories), set(found.data_subjects)) == wanted:
            return found.valid_from
    return None


async def _disclosure_row(e: Entry, d: PrivacyDeclaration, basis: LegalBasis) -> list[Any]:
    facts = e.meta.declarations.get(d.name or "") or DeclarationMeta()
    valid_from = facts.valid_from or await _first_day(e.system.name, basis, d, facts.contract)
    values = {
        **facts.model_dump(exclude={"processor_chain"}),
        "vendor": e.system.name,
        "basis": basis.value,
        "purpose": d.data_use,
        "categories": ",".join(d.data_categories) or None,
        "data_subjects": ",".join(d.data_subjects) or None,
        "valid_from": valid_from or clock.today(),
        "role": facts.role or fides.role_of(e.system),
    }
    return [values[column] for column in fides.DISCLOSURE_COLUMNS]


async def _sheets(entries: list[Entry]) -> Sheets:
    known = {row["name"] for row in await Vendor.select(Vendor.name)}
    sheets = Sheets()
    for e in fides.parents_first(entries):
        where = f"system[{e.index}]"
        if e.system.name in known or e.meta.country:
            sheets.vendors.append(fides.vendor_row(e, e.system.name in known))
            sheets.vendor_places.append(e.index)
        else:
            sheets.errors.append(
                fides.row_error(f"{where}.meta.registry.country", "required", fides.NO_COUNTRY)
            )
        for j, d in enumerate(e.declarations):
            legal = d.legal_basis_for_processing
            basis = fides.FROM_FIDES.get(legal.value if legal else None)
            if basis is None:
                path = f"{where}.privacy_declarations[{j}].legal_basis_for_processing"
                sheets.errors.append(
                    fides.row_error(
                        path, "one_of", f"{fides.NO_BASIS}, not {legal.value if legal else 'none'}"
                    )
                )
                continue
            sheets.disclosures.append(await _disclosure_row(e, d, basis))
            sheets.disclosure_places.append((e.index, j, d.name))
    return sheets


async def import_manifest(ctx: WriteContext, content: bytes, dry_run: bool) -> ImportResult:
    """Import a Fides manifest's systems, all or nothing; errors name paths in the YAML."""
    try:
        entries = fides.entries(fides.load(content))
    except fides.Invalid as exc:
        return ImportResult(dry_run=dry_run, errors=exc.errors)
    sheets = await _sheets(entries)
    # Problems found up front still let the import run (dry) to report everything at once.
    tables = {"vendors": sheets.vendors, "disclosures": sheets.disclosures}
    result = await imports.import_sheets(ctx, tables, dry_run or bool(sheets.errors))
    failed = {e.index for e in entries} - set(sheets.vendor_places)
    failed |= {sheets.system_of(e) for e in result.errors if e.sheet == "vendors"}
    # A vendor that could not be imported is reported once, not again by each of its declarations.
    located = [
        fides.located(e, sheets)
        for e in result.errors
        if not (e.sheet == "disclosures" and e.column == "vendor" and sheets.system_of(e) in failed)
    ]
    result.dry_run, result.errors = dry_run, sheets.errors + located
    return result
