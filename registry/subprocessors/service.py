"""Sub-processor engagements: the rules (a processor engages, no cycles, objections in time) and the
writes, each in one transaction with its change row."""

from datetime import date
from typing import Any

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.disclosures import service as disclosures
from registry.enums import Authorisation, ChangeAction
from registry.errors import FieldError, conflict, invalid, not_found
from registry.subprocessors import rules
from registry.subprocessors.reads import SE, get_engagement
from registry.subprocessors.schemas import (
    EngagementCreate,
    EngagementEnd,
    EngagementRead,
    EngagementUpdate,
    Objection,
)
from registry.tables import Contract, DeletionObligation, Disclosure, Vendor

# A vendor is a processor while one of its disclosures in the processor roles is in force.
_PROCESSOR = (
    "SELECT id FROM disclosure WHERE vendor = {} AND role IN ('processor', 'sub_processor')"
    " AND valid_from <= {} AND (valid_to IS NULL OR valid_to >= {}) LIMIT 1"
)


async def _vendor_name(vendor_id: int, field: str | None) -> str:
    row = await Vendor.select(Vendor.name).where(Vendor.id == vendor_id).first()
    if row is None:
        if field is None:
            raise not_found("vendor", vendor_id)
        raise invalid(field, "exists", f"vendor {vendor_id} does not exist")
    return row["name"]


async def _check_contract(field: str, contract_id: int | None, vendor_id: int, whose: str) -> None:
    if contract_id is None:
        return
    row = await Contract.select(Contract.vendor).where(Contract.id == contract_id).first()
    if row is None:
        raise invalid(field, "exists", f"contract {contract_id} does not exist")
    if row["vendor"] != vendor_id:
        raise invalid(field, f"with_{whose}", f"contract {contract_id} is not a contract with the {whose}")


def _check_dates(v: dict[str, Any]) -> None:
    if v["authorisation"] == Authorisation.general and v.get("notified_on") is None:
        raise invalid("notified_on", "required", "a general authorisation records when we were notified")
    if v.get("valid_to") is not None and v["valid_to"] < v["valid_from"]:
        raise invalid("valid_to", "date_order", "must not be before valid_from")
    if v.get("objection_deadline") and v.get("notified_on") and v["objection_deadline"] < v["notified_on"]:
        raise invalid("objection_deadline", "date_order", "must not be before notified_on")


async def _check_processor(vendor_id: int, name: str, day: date) -> None:
    """Art. 28(2): only a processor engages a sub-processor, so the engaging vendor must receive data
    from us as processor (or, deeper down the chain, as sub-processor) on the engagement's first day."""
    if not await Disclosure.raw(_PROCESSOR, vendor_id, day, day):
        raise invalid(
            "engaged_by",
            "processor",
            f"{name} has no disclosure as processor or sub-processor in force on {day}: "
            "only a processor engages sub-processors",
        )


async def _check_cycle(engaged_by: int, subprocessor: int, v: dict[str, Any]) -> None:
    rows = await SE.select(SE.engaged_by, SE.subprocessor, SE.valid_from, SE.valid_to)
    edges = [
        (r["engaged_by"], r["subprocessor"])
        for r in rows
        if rules.overlaps(r["valid_from"], r["valid_to"], v["valid_from"], v.get("valid_to"))
    ]
    found = rules.cycle(engaged_by, subprocessor, edges)
    if found:
        names = {
            r["id"]: r["name"]
            for r in await Vendor.select(Vendor.id, Vendor.name).where(Vendor.id.is_in(found))
        }
        path = " engages ".join(names.get(i, str(i)) for i in found)
        raise invalid("subprocessor_id", "no_cycle", f"the chain would be a cycle: {path}")


ENGAGEMENT_LOCK = 724_050_103  # pg_advisory_xact_lock key (changes/ holds 101 and 102)


async def create_engagement(ctx: WriteContext, vendor_id: int, data: EngagementCreate) -> EngagementRead:
    v = data.model_dump()
    sub = v["subprocessor_id"]
    async with db.write_transaction():
        # The cycle and one-engagement checks read other engagements: two writers must not both pass.
        await db.serialise(ENGAGEMENT_LOCK)
        name = await _vendor_name(vendor_id, None)
        await _vendor_name(sub, "subprocessor_id")
        _check_dates(v)
        await _check_contract("flow_down_contract_id", v["flow_down_contract_id"], sub, "subprocessor")
        await _check_contract("processor_contract_id", v["processor_contract_id"], vendor_id, "processor")
        await _check_processor(vendor_id, name, v["valid_from"])
        await _check_cycle(vendor_id, sub, v)
        await _check_not_engaged(vendor_id, sub, v)
        columns = {k.removesuffix("_id"): val for k, val in v.items()}
        columns.update(engaged_by=vendor_id, authorisation=data.authorisation.value)
        inserted = await SE.insert(SE(**columns)).returning(SE.id)
        after = await get_engagement(inserted[0]["id"])
        await record_change(ctx, "subprocessor_engagement", after.id, ChangeAction.create, None, _dump(after))
    return after


async def _check_not_engaged(engaged_by: int, subprocessor: int, v: dict[str, Any]) -> None:
    """One engagement of a pair at a time: a second one overlapping it is the same fact twice."""
    rows = await SE.select(SE.id, SE.valid_from, SE.valid_to).where(
        SE.engaged_by == engaged_by, SE.subprocessor == subprocessor
    )
    same = [
        r["id"]
        for r in rows
        if rules.overlaps(r["valid_from"], r["valid_to"], v["valid_from"], v.get("valid_to"))
    ]
    if same:
        raise conflict(
            f"Engagement {same[0]} already engages this sub-processor for this processor in that period.",
            [
                FieldError(
                    "subprocessor_id", "one_engagement", "already engaged by this processor in that period"
                )
            ],
            conflicts=[{"type": "subprocessor_engagement", "id": i} for i in same],
        )


def _dump(read: EngagementRead) -> dict[str, Any]:
    return read.model_dump(mode="json")


async def _locked(engagement_id: int, if_match: int | None) -> EngagementRead:
    query = SE.select(SE.id, SE.version).where(SE.id == engagement_id)
    await db.locked_row(query, "sub-processor engagement", engagement_id, if_match)
    return await get_engagement(engagement_id)


async def _save(ctx, before: EngagementRead, columns: dict[str, Any], action: ChangeAction) -> EngagementRead:
    columns.update(version=before.version + 1, updated_at=clock.now())
    await SE.update(columns, use_auto_update=False).where(SE.id == before.id)
    after = await get_engagement(before.id)
    await record_change(ctx, "subprocessor_engagement", before.id, action, _dump(before), _dump(after))
    return after


async def update_engagement(
    ctx: WriteContext, engagement_id: int, data: EngagementUpdate, if_match: int | None
) -> EngagementRead:
    sent = data.model_dump(exclude_unset=True)
    async with db.write_transaction():
        before = await _locked(engagement_id, if_match)
        v = {**before.model_dump(), **sent}
        _check_dates(v)
        await _check_contract(
            "flow_down_contract_id", v["flow_down_contract_id"], before.subprocessor_id, "subprocessor"
        )
        await _check_contract(
            "processor_contract_id", v["processor_contract_id"], before.engaged_by_id, "processor"
        )
        columns = {k.removesuffix("_id"): val for k, val in sent.items()}
        return await _save(ctx, before, columns, ChangeAction.update)


async def end_engagement(
    ctx: WriteContext, engagement_id: int, data: EngagementEnd, if_match: int | None = None
) -> EngagementRead:
    async with db.write_transaction():
        before = await _locked(engagement_id, if_match)
        if before.ended_reason is not None:
            raise conflict(
                f"Engagement {engagement_id} already ended on {before.valid_to} ({before.ended_reason})."
            )
        if data.ended_on < before.valid_from:
            raise invalid(
                "ended_on", "date_order", f"must not be before the engagement began ({before.valid_from})"
            )
        if before.valid_to is not None and data.ended_on > before.valid_to:
            raise invalid("ended_on", "date_order", f"the engagement already stops on {before.valid_to}")
        columns = {"valid_to": data.ended_on, "ended_reason": data.reason}
        after = await _save(ctx, before, columns, ChangeAction.end)
        # As a terminated contract ends its disclosures: the sub-processor receives nothing after it.
        reason = f"sub-processor engagement {engagement_id} ended: {data.reason}"
        await disclosures.end_for_engagement(ctx, engagement_id, data.ended_on, reason)
        return after


async def object_to(ctx: WriteContext, engagement_id: int, data: Objection, if_match: int | None = None):
    """Record our objection (Art. 28(2)): only to a general authorisation, once, by its deadline."""
    async with db.write_transaction():
        before = await _locked(engagement_id, if_match)
        if before.authorisation is not Authorisation.general:
            raise conflict(
                f"Engagement {engagement_id} is a specific authorisation: we named this sub-processor ourselves.",
                [FieldError("authorisation", "general", "only a general authorisation is objected to")],
            )
        if before.objected_on is not None:
            raise conflict(f"We already objected on {before.objected_on} ({before.objection_reason}).")
        if before.notified_on and data.objected_on < before.notified_on:
            raise invalid(
                "objected_on", "date_order", f"must not be before we were notified ({before.notified_on})"
            )
        if data.objected_on > clock.today():
            raise invalid("objected_on", "not_future", "an objection is recorded once it is made")
        deadline = before.objection_deadline
        if deadline is not None and data.objected_on > deadline:
            raise conflict(
                f"The objection deadline was {deadline}: an objection on {data.objected_on} is too late.",
                [FieldError("objected_on", "objection_deadline", f"after the deadline ({deadline})")],
            )
        columns = {"objected_on": data.objected_on, "objection_reason": data.reason, "objected_by": ctx.actor}
        return await _save(ctx, before, columns, ChangeAction.object_)


async def delete_engagement(ctx: WriteContext, engagement_id: int) -> None:
    """Only an engagement recorded in error goes: nothing may rest on it (else end it)."""
    async with db.write_transaction():
        before = await _locked(engagement_id, None)
        used = await Disclosure.select(Disclosure.id).where(Disclosure.engagement == engagement_id)
        listed = [
            o["id"]
            for o in await DeletionObligation.select(DeletionObligation.id, DeletionObligation.subprocessors)
            .where(DeletionObligation.vendor == before.engaged_by_id)
            .output(load_json=True)
            if any(s.get("engagement_id") == engagement_id for s in o["subprocessors"])
        ]
        if used or listed:
            raise conflict(
                f"Engagement {engagement_id} cannot be deleted while records rest on it: end it instead.",
                conflicts=[{"type": "disclosure", "id": d["id"]} for d in used]
                + [{"type": "deletion_obligation", "id": i} for i in listed],
            )
        await SE.delete().where(SE.id == engagement_id)
        await record_change(
            ctx, "subprocessor_engagement", engagement_id, ChangeAction.delete, _dump(before), None
        )
