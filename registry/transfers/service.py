"""Transfer record writes and reads. One record per disclosure; the change rows name the disclosure
(object_type ``transfer``, object_id the disclosure's id), which is how the lookup index reads it again."""

from datetime import date
from typing import Any

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction
from registry.errors import invalid, not_found
from registry.files import check_upload, store_file
from registry.tables import Disclosure, StoredFile, Transfer
from registry.transfers import rules
from registry.transfers.schemas import TransferDocument, TransferRead, TransferWrite

# What the lookup check and the reports need of a transfer, by disclosure id.
DECISION_FIELDS = (
    "disclosure",
    "mechanism",
    "mechanism_reference",
    "scc_module",
    "derogation",
    "dpf_certified",
    "filing_date",
    "filing_number",
    "separate_consent_reference",
    "tia_date",
    "tia_review_by",
)


async def _disclosure(disclosure_id: int) -> dict[str, Any]:
    row = (
        await Disclosure.select(Disclosure.id, Disclosure.origin, Disclosure.country)
        .where(Disclosure.id == disclosure_id)
        .first()
    )
    if row is None:
        raise not_found("disclosure", disclosure_id)
    return row


async def _read(disclosure: dict[str, Any], row: dict[str, Any], day: date) -> TransferRead:
    document = None
    if row["document"]:
        stored = (
            await StoredFile.select(StoredFile.filename, StoredFile.sha256)
            .where(StoredFile.id == row["document"])
            .first()
        )
        document = TransferDocument(**stored)
    found = rules.problems(disclosure["origin"], disclosure["country"], row, day)
    fields = TransferRead.model_fields
    return TransferRead.model_validate(
        {
            **{k: v for k, v in row.items() if k in fields},
            "disclosure_id": row["disclosure"],
            "origin": disclosure["origin"],
            "country": disclosure["country"],
            "document": document,
            "problems": [p.why for p in found],
        }
    )


async def get_transfer(disclosure_id: int) -> TransferRead:
    disclosure = await _disclosure(disclosure_id)
    row = await Transfer.select().where(Transfer.disclosure == disclosure_id).first()
    if row is None:
        raise not_found("transfer record of disclosure", disclosure_id)
    return await _read(disclosure, row, clock.today())


def _snapshot(read: TransferRead) -> dict[str, Any]:
    return read.model_dump(mode="json", exclude={"problems"})


async def put_transfer(
    ctx: WriteContext, disclosure_id: int, data: TransferWrite, if_match: int | None
) -> tuple[TransferRead, bool]:
    """Record or replace the disclosure's transfer record; (the record, whether it is new)."""
    values = data.model_dump(mode="python")
    async with db.write_transaction():
        disclosure = await db.locked_row(
            Disclosure.select(Disclosure.id, Disclosure.origin, Disclosure.country, Disclosure.version).where(
                Disclosure.id == disclosure_id
            ),
            "disclosure",
            disclosure_id,
        )
        problem = rules.fit_problem(values, disclosure["origin"], disclosure["country"])
        if problem:
            raise invalid(*problem)
        query = Transfer.select().where(Transfer.disclosure == disclosure_id)
        existing = await db.for_update(query).first()
        columns = {**values, "mechanism": values["mechanism"].value, "updated_by": ctx.actor}
        columns["derogation"] = values["derogation"].value if values["derogation"] else None
        if existing is None:
            await Transfer.insert(Transfer(disclosure=disclosure_id, **columns))
            before = None
        else:
            db.check_version("transfer record of disclosure", disclosure_id, existing["version"], if_match)
            before = _snapshot(await _read(disclosure, existing, clock.today()))
            columns.update(version=existing["version"] + 1, updated_at=clock.now())
            await Transfer.update(columns, use_auto_update=False).where(Transfer.id == existing["id"])
        after = await _read(disclosure, await query.first(), clock.today())
        action = ChangeAction.create if existing is None else ChangeAction.update
        await record_change(ctx, "transfer", disclosure_id, action, before, _snapshot(after))
    return after, existing is None


async def upload_document(
    ctx: WriteContext, disclosure_id: int, content: bytes, content_type: str, filename: str | None
) -> TransferRead:
    media = check_upload(content, content_type)
    async with db.write_transaction():
        disclosure = await _disclosure(disclosure_id)
        query = Transfer.select().where(Transfer.disclosure == disclosure_id)
        existing = await db.for_update(query).first()
        if existing is None:
            raise not_found("transfer record of disclosure", disclosure_id)
        before = _snapshot(await _read(disclosure, existing, clock.today()))
        stored = await store_file(ctx, content, media, filename, f"transfer-{disclosure_id}")
        # The previous file stays stored: the change row keeps pointing at it.
        await Transfer.update(
            {
                Transfer.document: stored.id,
                Transfer.version: existing["version"] + 1,
                Transfer.updated_by: ctx.actor,
                Transfer.updated_at: clock.now(),
            },
            use_auto_update=False,
        ).where(Transfer.id == existing["id"])
        after = await _read(disclosure, await query.first(), clock.today())
        await record_change(ctx, "transfer", disclosure_id, ChangeAction.upload, before, _snapshot(after))
    return after


async def get_document(disclosure_id: int) -> dict[str, Any]:
    row = await Transfer.select(Transfer.document).where(Transfer.disclosure == disclosure_id).first()
    if row is None or not row["document"]:
        raise not_found("document of the transfer record of disclosure", disclosure_id)
    return await StoredFile.select().where(StoredFile.id == row["document"]).first()


async def decision_data(disclosure_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The transfer records of these disclosures, as the lookup check and the reports read them."""
    if not disclosure_ids:
        return {}
    columns = [getattr(Transfer, name) for name in DECISION_FIELDS]
    rows = await Transfer.select(*columns).where(Transfer.disclosure.is_in(sorted(set(disclosure_ids))))
    return {row["disclosure"]: row for row in rows}


async def transfer_states(disclosures: list[Any], day: date) -> dict[int, tuple[str | None, list[str]]]:
    """For each of these disclosures that is a transfer: its mechanism (None without a record) and
    what is wrong with it on ``day`` (what the vendor page shows)."""
    crossing = [d for d in disclosures if rules.is_transfer(d.origin, d.country)]
    records = await decision_data([d.id for d in crossing])
    return {
        d.id: (
            records[d.id]["mechanism"] if d.id in records else None,
            [p.why for p in rules.problems(d.origin, d.country, records.get(d.id), day)],
        )
        for d in crossing
    }


async def list_transfers(limit: int, offset: int) -> tuple[list[TransferRead], int]:
    """Every transfer record, by disclosure (the whole register's export)."""
    rows = await Transfer.select().order_by(Transfer.disclosure).limit(limit).offset(offset)
    ids = [r["disclosure"] for r in rows] or [0]
    disclosures = {
        d["id"]: d
        for d in await Disclosure.select(Disclosure.id, Disclosure.origin, Disclosure.country).where(
            Disclosure.id.is_in(ids)
        )
    }
    today = clock.today()
    return [await _read(disclosures[r["disclosure"]], r, today) for r in rows], await Transfer.count()
