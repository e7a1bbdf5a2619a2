"""Requests to vendors: opened with a deletion obligation (same transaction, same e-mail), sent again,
cancelled, and read with their submissions and messages."""

from typing import Any

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.deletions.service import get_deletion
from registry.enums import ChangeAction, RequestState
from registry.errors import conflict, not_found
from registry.mail.outbox import enqueue, messages_about
from registry.portal import mails, tokens
from registry.portal.schemas import MessageRead, RequestRead, SubmissionRead
from registry.tables import Contract, PortalSubmission, RequestReminder, Vendor, VendorRequest

VR = VendorRequest
ACTIVE = ("sent", "opened", "submitted", "returned")
AWAITING = ("sent", "opened", "returned")  # the vendor's move: reminders go out


async def contacts(vendor_id: int) -> tuple[str | None, str | None]:
    """(whom to ask, the other contact): the privacy contact first, else the general contact."""
    vendor = (
        await Vendor.select(Vendor.privacy_contact_email, Vendor.contact_email)
        .where(Vendor.id == vendor_id)
        .first()
    )
    found = [e for e in (vendor["privacy_contact_email"], vendor["contact_email"]) if e]
    first = found[0] if found else None
    other = next((e for e in found[1:] if e.lower() != (first or "").lower()), None)
    return first, other


async def asked(request: dict[str, Any]) -> mails.Asked:
    deletion = await get_deletion(request["obligation"])
    contract = await Contract.select().where(Contract.id == deletion.contract_id).first()
    organisation = tokens.current_settings().organisation_name
    return await mails.asked(deletion, contract, organisation, request["id"])


async def _row(request_id: int) -> dict[str, Any]:
    row = await VR.select().where(VR.id == request_id).first()
    if row is None:
        raise not_found("vendor request", request_id)
    return row


async def open_request(ctx: WriteContext, obligation_id: int) -> dict[str, Any]:
    """Ask the vendor to delete (inside the caller's transaction): the request and its e-mail, or a
    request that cannot be asked when the vendor has no e-mail address."""
    deletion = await get_deletion(obligation_id)
    recipient, _ = await contacts(deletion.vendor_id)
    state = RequestState.sent if recipient else RequestState.cannot_be_asked
    inserted = await VR.insert(
        VR(
            obligation=obligation_id,
            vendor=deletion.vendor_id,
            state=state.value,
            recipient=recipient,
            due_on=deletion.due_on,
            created_by=ctx.actor,
        )
    ).returning(VR.id)
    row = await _row(inserted[0]["id"])
    await record_change(ctx, "vendor_request", row["id"], ChangeAction.send, None, row)
    if recipient:
        await enqueue(mails.request_mail(await asked(row), recipient))
    return row


async def current(obligation_id: int, lock: bool = False) -> dict[str, Any] | None:
    """The obligation's newest request (locked until the write transaction ends, with ``lock``)."""
    query = VR.select().where(VR.obligation == obligation_id).order_by(VR.id, ascending=False)
    return await (db.for_update(query) if lock else query).first()


async def send(ctx: WriteContext, obligation_id: int) -> RequestRead:
    async with db.write_transaction():
        deletion = await get_deletion(obligation_id)
        latest = await current(obligation_id, lock=True)
        if latest and latest["state"] in ACTIVE:
            raise conflict(
                f"Deletion {obligation_id} already has request {latest['id']}: re-send or cancel it."
            )
        if deletion.confirmed_on:
            raise conflict(f"Deletion {obligation_id} is confirmed: there is nothing to ask.")
        if not (await contacts(deletion.vendor_id))[0]:
            raise conflict(
                f"{deletion.vendor_name} has no privacy contact or contact e-mail: add one to the vendor first."
            )
        row = await open_request(ctx, obligation_id)
    return await read(row["id"])


async def resend(ctx: WriteContext, obligation_id: int) -> RequestRead:
    """The request e-mailed again with a new link; every earlier link stops working."""
    async with db.write_transaction():
        before = await current(obligation_id, lock=True)
        if before is None or before["state"] not in ACTIVE:
            raise conflict(f"Deletion {obligation_id} has no open request to re-send: send one.")
        recipient, _ = await contacts(before["vendor"])
        if not recipient:
            raise conflict("The vendor has no privacy contact or contact e-mail any more.")
        await tokens.stop_links(before["id"])
        await VR.update({VR.recipient: recipient, VR.updated_at: clock.now()}).where(VR.id == before["id"])
        after = await _row(before["id"])
        await record_change(ctx, "vendor_request", before["id"], ChangeAction.send, before, after)
        await enqueue(mails.request_mail(await asked(after), recipient))
    return await read(before["id"])


async def cancel(ctx: WriteContext, obligation_id: int) -> RequestRead:
    async with db.write_transaction():
        before = await current(obligation_id, lock=True)
        if before is None or before["state"] not in (*ACTIVE, "cannot_be_asked"):
            raise conflict(f"Deletion {obligation_id} has no open request to cancel.")
        await tokens.stop_links(before["id"])
        now = clock.now()
        await VR.update({VR.state: "cancelled", VR.closed_at: now, VR.updated_at: now}).where(
            VR.id == before["id"]
        )
        await record_change(
            ctx, "vendor_request", before["id"], ChangeAction.cancel, before, await _row(before["id"])
        )
    return await read(before["id"])


async def mark_opened(request: dict[str, Any]) -> None:
    """The first view of the portal page: the request is opened."""
    if request["state"] != "sent":
        return
    async with db.write_transaction():
        now = clock.now()
        await VR.update({VR.state: "opened", VR.opened_at: now, VR.updated_at: now}).where(
            VR.id == request["id"], VR.state == "sent"
        )
        ctx = WriteContext("vendor:portal", None, "portal page first opened")
        await record_change(
            ctx, "vendor_request", request["id"], ChangeAction.update, request, await _row(request["id"])
        )


def state_of(row: dict[str, Any]) -> RequestState:
    if row["state"] in AWAITING and row["due_on"] < clock.today():
        return RequestState.overdue
    return RequestState(row["state"])


async def read(request_id: int) -> RequestRead:
    return (await read_many([await _row(request_id)]))[0]


async def read_many(rows: list[dict[str, Any]]) -> list[RequestRead]:
    ids = [r["id"] for r in rows] or [0]
    submissions: dict[int, list[SubmissionRead]] = {}
    for s in (
        await PortalSubmission.select()
        .where(PortalSubmission.request.is_in(ids))
        .order_by(PortalSubmission.id)
        .output(load_json=True)
    ):
        request_id = s.pop("request")
        submissions.setdefault(request_id, []).append(SubmissionRead(**s))
    reminders: dict[int, list[str]] = {}
    for r in (
        await RequestReminder.select(RequestReminder.request, RequestReminder.step)
        .where(RequestReminder.request.is_in(ids))
        .order_by(RequestReminder.id)
    ):
        reminders.setdefault(r["request"], []).append(r["step"])
    result = []
    for row in rows:
        messages = [
            MessageRead(**{k: m[k] for k in MessageRead.model_fields})
            for m in await messages_about(mails.ABOUT, row["id"])
        ]
        result.append(
            RequestRead(
                **{k: row[k] for k in RequestRead.model_fields if k in row and k not in ("state", "vendor")},
                obligation_id=row["obligation"],
                vendor_id=row["vendor"],
                state=state_of(row),
                reminders=reminders.get(row["id"], []),
                submissions=submissions.get(row["id"], []),
                messages=messages,
            )
        )
    return result


async def list_for_deletion(obligation_id: int) -> list[RequestRead]:
    await get_deletion(obligation_id)  # 404 for an unknown deletion
    return await read_many(await VR.select().where(VR.obligation == obligation_id).order_by(VR.id))
