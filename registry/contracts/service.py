"""Contract rules and writes: dates in order, terminate once, the signed file kept with its hash."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.columns.combination import WhereRaw

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.contracts import conformance, roles, rules
from registry.contracts.conformance import Framework
from registry.contracts.schemas import (
    ClauseCheck,
    ContractConformance,
    ContractCreate,
    ContractRead,
    ContractTermination,
    ContractUpdate,
    DeletionTerm,
    DocumentRead,
    VendorConformance,
)
from registry.deletions import service as deletions
from registry.disclosures import service as disclosures
from registry.enums import ChangeAction, ContractKind, ContractStatus, RecipientRole
from registry.errors import FieldError, conflict, invalid, not_found
from registry.files import check_upload, store_file
from registry.tables import Contract, Disclosure, StoredFile, Vendor

SORTS = {
    "id": Contract.id,
    "title": Contract.title,
    "effective_from": Contract.effective_from,
    "ends_on": Contract.ends_on,
    "created_at": Contract.created_at,
}
_NOT_NULL = (
    "kind",
    "title",
    "confidentiality_equivalent",
    "end_of_contract",
    "deletion_deadline_days",
    "backups_covered",
    "evidence_required",
    "subprocessing_requires_consent",
    "audit_right",
    "documented_instructions",
    "personnel_confidentiality",
    "assists_data_subject_rights",
    "assists_compliance",
)
_DOCUMENT = (
    StoredFile.filename,
    StoredFile.content_type,
    StoredFile.size,
    StoredFile.sha256,
    StoredFile.created_at,
    StoredFile.created_by,
)


@dataclass
class ContractFilter:
    vendor_id: int | None = None
    kind: ContractKind | None = None
    status: ContractStatus | None = None
    sort: str = "id"
    limit: int = 50
    offset: int = 0


async def list_contracts(f: ContractFilter) -> tuple[list[ContractRead], int]:
    day = clock.today()
    where: list = []
    if f.vendor_id is not None:
        where.append(Contract.vendor == f.vendor_id)
    if f.kind:
        where.append(Contract.kind == f.kind.value)
    if f.status:
        sql, args = rules.contract_status_sql(f.status, day)
        where.append(WhereRaw(sql, *args))
    column = SORTS[f.sort.removeprefix("-")]
    query = Contract.select().order_by(column, ascending=not f.sort.startswith("-"))
    count = Contract.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    rows = await query.order_by(Contract.id).limit(f.limit).offset(f.offset)
    return await _read_many(rows, day), await count


async def _read_many(rows: list[dict[str, Any]], day: date) -> list[ContractRead]:
    file_ids = [r["document"] for r in rows if r["document"]]
    files = {}
    if file_ids:
        found = await StoredFile.select(StoredFile.id, *_DOCUMENT).where(StoredFile.id.is_in(file_ids))
        files = {f["id"]: _document(f) for f in found}
    return [_to_read(row, files.get(row["document"]), day) for row in rows]


def _document(row: dict[str, Any]) -> DocumentRead:
    return DocumentRead(
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        uploaded_at=row["created_at"],
        uploaded_by=row["created_by"],
    )


def _to_read(row: dict[str, Any], document: DocumentRead | None, day: date) -> ContractRead:
    data = {k: v for k, v in row.items() if k not in ("vendor", "document")}
    return ContractRead.model_validate(
        {**data, "vendor_id": row["vendor"], "document": document, "status": rules.contract_status(row, day)}
    )


async def _row(contract_id: int) -> dict[str, Any]:
    row = await Contract.select().where(Contract.id == contract_id).first()
    if row is None:
        raise not_found("contract", contract_id)
    return row


async def get_contract(contract_id: int) -> ContractRead:
    return (await _read_many([await _row(contract_id)], clock.today()))[0]


def _derive(values: dict[str, Any]) -> dict[str, Any]:
    """Keep the stored end and deletion due date in step with the dates they come from."""
    rules.check_dates(values)
    end = rules.ends_on(values.get("expires_on"), values.get("terminated_on"))
    return {
        **values,
        "ends_on": end,
        "deletion_due_on": rules.deletion_due_on(end, values["deletion_deadline_days"]),
    }


async def _check_reference_free(reference: str | None, contract_id: int | None = None) -> None:
    if reference is None:
        return
    other = await Contract.select(Contract.id, Contract.title).where(Contract.reference == reference).first()
    if other and other["id"] != contract_id:
        # Named as a field error too: the form marks the reference field, a client knows which field.
        taken = FieldError(
            "reference", "unique", f"the contract '{other['title']}' already has this reference"
        )
        raise conflict(
            f"Contract {other['id']} already has the reference {reference!r}.",
            [taken],
            conflicts=[{"type": "contract", "id": other["id"]}],
        )


async def create_contract(
    ctx: WriteContext, data: ContractCreate, document: tuple[bytes, str, str | None] | None = None
) -> ContractRead:
    """A new contract; with ``document`` (content, content type, file name) its signed file too, in the
    same transaction: there is never a contract whose file failed to attach."""
    values = data.model_dump()
    values["vendor"] = values.pop("vendor_id")
    values = _derive(values)
    media = check_upload(document[0], document[1]) if document else None
    async with db.write_transaction():
        if not await Vendor.exists().where(Vendor.id == data.vendor_id):
            raise invalid("vendor_id", "exists", f"vendor {data.vendor_id} does not exist")
        await _check_reference_free(data.reference)
        inserted = await Contract.insert(Contract(**values)).returning(Contract.id)
        row = await _row(inserted[0]["id"])
        await record_change(ctx, "contract", row["id"], ChangeAction.create, None, row)
        if document:
            await _attach(ctx, row["id"], document[0], media, document[2])
    return await get_contract(row["id"])


async def update_contract(
    ctx: WriteContext, contract_id: int, data: ContractUpdate, if_match: int | None
) -> ContractRead:
    sent = data.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in sent and sent[name] is None:
            raise invalid(name, "not_null", "cannot be cleared")
    async with db.write_transaction():
        before = await _locked_row(contract_id, if_match)
        await _check_reference_free(sent.get("reference"), contract_id)
        values = _derive({**before, **sent})
        for name in ("signed_on", "effective_from"):
            if values["terminated_on"] and values[name] is None:
                raise invalid(name, "not_null", "a terminated contract keeps the date it took effect")
        values.update(version=before["version"] + 1, updated_at=clock.now())
        await disclosures.check_contract_change(values)
        changed = {k: v for k, v in values.items() if k != "id"}
        await Contract.update(changed, use_auto_update=False).where(Contract.id == contract_id)
        after = await _row(contract_id)
        await record_change(ctx, "contract", contract_id, ChangeAction.update, before, after)
    return await get_contract(contract_id)


async def _locked_row(contract_id: int, if_match: int | None) -> dict[str, Any]:
    return await db.locked_row(
        Contract.select().where(Contract.id == contract_id), "contract", contract_id, if_match
    )


async def terminate_contract(
    ctx: WriteContext, contract_id: int, data: ContractTermination, if_match: int | None = None
) -> ContractRead:
    async with db.write_transaction():
        before = await _locked_row(contract_id, if_match)
        if before["terminated_on"] is not None:
            raise conflict(
                f"Contract {contract_id} was already terminated on "
                f"{before['terminated_on']} ({before['termination_reason']})."
            )
        if not before["signed_on"] or not before["effective_from"]:
            raise conflict(
                f"Contract {contract_id} is a draft (not signed, or no effective date): "
                "it never took effect, so it cannot be terminated."
            )
        if data.terminated_on < before["effective_from"]:
            raise invalid(
                "terminated_on",
                "date_order",
                f"must not be before the contract took effect ({before['effective_from']})",
            )
        if before["expires_on"] and data.terminated_on > before["expires_on"]:
            raise invalid(
                "terminated_on",
                "date_order",
                f"the contract expires on {before['expires_on']}; it cannot be terminated later",
            )
        values = _derive({**before, "terminated_on": data.terminated_on, "termination_reason": data.reason})
        values.update(version=before["version"] + 1, updated_at=clock.now())
        await Contract.update({k: v for k, v in values.items() if k != "id"}, use_auto_update=False).where(
            Contract.id == contract_id
        )
        after = await _row(contract_id)
        await record_change(ctx, "contract", contract_id, ChangeAction.terminate, before, after)
        await disclosures.end_for_contract(ctx, after)
        await deletions.open_obligation(ctx, after)
    return await get_contract(contract_id)


async def upload_document(
    ctx: WriteContext, contract_id: int, content: bytes, content_type: str, filename: str | None
) -> ContractRead:
    media = check_upload(content, content_type)
    async with db.write_transaction():
        await _attach(ctx, contract_id, content, media, filename)
    return await get_contract(contract_id)


async def _attach(
    ctx: WriteContext, contract_id: int, content: bytes, media: str, filename: str | None
) -> None:
    """Store the file and point the contract at it (inside the caller's write transaction)."""
    before = await _locked_row(contract_id, None)
    stored = await store_file(ctx, content, media, filename, f"contract-{contract_id}")
    # The previous file stays stored: the change row keeps pointing at it.
    await Contract.update(
        {
            Contract.document: stored.id,
            Contract.version: before["version"] + 1,
            Contract.updated_at: clock.now(),
        },
        use_auto_update=False,
    ).where(Contract.id == contract_id)
    after = await _row(contract_id)
    await record_change(
        ctx,
        "contract",
        contract_id,
        ChangeAction.upload,
        before,
        {**after, "document_sha256": stored.sha256, "document_filename": stored.filename},
    )


async def get_document(contract_id: int) -> dict[str, Any]:
    row = await _row(contract_id)
    if not row["document"]:
        raise not_found("document of contract", contract_id)
    return await StoredFile.select().where(StoredFile.id == row["document"]).first()


async def contract_facts(contracts: list[dict[str, Any]]) -> dict[int, conformance.Facts]:
    """What the clauses of these contracts depend on besides their fields: their disclosures (roles,
    categories, PIPL Art. 23 bases) and their vendors (name and contact). Two queries."""
    ids = [c["id"] for c in contracts]
    disclosed: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        for row in await Disclosure.select(
            Disclosure.contract,
            Disclosure.role,
            Disclosure.basis,
            Disclosure.consent_reference,
            Disclosure.legal_reference,
        ).where(Disclosure.contract.is_in(ids), _HAS_CATEGORIES):
            disclosed[row["contract"]].append(row)
    vendor_ids = sorted({c["vendor"] for c in contracts})
    vendors = (
        {v["id"]: v for v in await Vendor.select().where(Vendor.id.is_in(vendor_ids))} if vendor_ids else {}
    )
    return {c["id"]: _facts(disclosed[c["id"]], vendors[c["vendor"]]) for c in contracts}


_HAS_CATEGORIES = WhereRaw(
    "EXISTS (SELECT 1 FROM disclosure_category dc WHERE dc.disclosure = disclosure.id)"
)


def _facts(disclosed: list[dict[str, Any]], vendor: dict[str, Any]) -> conformance.Facts:
    independent = [d for d in disclosed if d["role"] == RecipientRole.independent_controller.value]
    return conformance.Facts(
        has_categories=bool(disclosed),
        roles=frozenset(RecipientRole(d["role"]) for d in disclosed),
        provision_basis=all(roles.provision_basis_ok(d) for d in independent),
        recipient_identified=roles.recipient_identified(vendor),
    )


def _conformance(
    row: dict[str, Any], facts: conformance.Facts, day: date, frameworks: set[Framework] | None
) -> ContractConformance:
    checks = conformance.evaluate(row, facts, frameworks)
    present = sum(1 for _, ok in checks if ok)
    return ContractConformance(
        contract_id=row["id"],
        vendor_id=row["vendor"],
        title=row["title"],
        status=rules.contract_status(row, day),
        conforms=present == len(checks),
        present=present,
        missing=len(checks) - present,
        clauses=[
            ClauseCheck(
                id=c.id,
                framework=c.framework.value,
                article=c.article,
                requirement=c.requirement,
                present=ok,
                fields=list(c.fields),
            )
            for c, ok in checks
        ],
        deletion_terms=[
            DeletionTerm(id=id_, requirement=text, present=bool(row[name]), fields=[name])
            for id_, text, name in conformance.DELETION_TERMS
        ],
    )


async def contract_conformance(
    contract_id: int, frameworks: set[Framework] | None = None
) -> ContractConformance:
    async with db.read_session():
        row = await _row(contract_id)
        facts = await contract_facts([row])
    return _conformance(row, facts[contract_id], clock.today(), frameworks)


async def vendor_conformance(vendor_id: int, frameworks: set[Framework] | None = None) -> VendorConformance:
    day = clock.today()
    async with db.read_session():
        vendor = await Vendor.select(Vendor.id, Vendor.name).where(Vendor.id == vendor_id).first()
        if vendor is None:
            raise not_found("vendor", vendor_id)
        rows = await Contract.select().where(Contract.vendor == vendor_id).order_by(Contract.id)
        facts = await contract_facts(rows)
    contracts = [_conformance(r, facts[r["id"]], day, frameworks) for r in rows]
    in_force = [c for c in contracts if c.status is ContractStatus.active]
    # A clause counts when any contract in force has it: together they bind the vendor.
    present = {check.id for c in in_force for check in c.clauses if check.present}
    needed = {check.id for c in in_force for check in c.clauses}
    # Without a contract in force, what a contract with no disclosures yet would need (a processor's).
    unbound = conformance.Facts(False, frozenset(), True, True)
    clause_ids = [c.id for c in conformance.clauses_of(frameworks)]
    required = (
        [cid for cid in clause_ids if cid in needed]
        if in_force
        else [c.id for c in conformance.clauses_of(frameworks) if conformance.applies(c.scope, unbound)]
    )
    missing = [cid for cid in required if cid not in present]
    return VendorConformance(
        vendor_id=vendor["id"],
        vendor_name=vendor["name"],
        in_force_contracts=len(in_force),
        conforms=bool(in_force) and not missing,
        required_clauses=required,
        missing_clauses=missing,
        contracts=contracts,
    )


async def contracts_with_categories(contract_ids: list[int]) -> set[int]:
    """Which of these contracts have a disclosure (each lists its categories): the categories clause,
    as ``contract_facts`` judges it."""
    if not contract_ids:
        return set()
    rows = await Disclosure.select(Disclosure.contract).where(Disclosure.contract.is_in(contract_ids))
    return {row["contract"] for row in rows}
