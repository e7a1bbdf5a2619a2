"""What vendors submit through the portal, and the legal team's review: only an accepted confirmation
becomes a deletion confirmation (through the deletions service, under the same rules)."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from registry import clock, db
from registry.auth import WriteContext
from registry.changes.service import record_change
from registry.deletions import service as deletions
from registry.deletions.schemas import ConfirmationCreate
from registry.enums import ChangeAction, SubmissionKind
from registry.errors import conflict, not_found
from registry.files import store_file
from registry.mail.outbox import enqueue
from registry.portal import mails, tokens
from registry.portal.requests import ACTIVE, AWAITING, asked, read
from registry.portal.schemas import Declaration, ExtensionAsk, Question, RequestRead
from registry.tables import PortalSubmission, VendorRequest

PS, VR = PortalSubmission, VendorRequest


@dataclass(frozen=True)
class Client:
    """Where a submission came from, as recorded with it."""

    address: str | None
    user_agent: str | None


def _vendor_ctx(email: str, request_id: str | None, what: str) -> WriteContext:
    return WriteContext(f"vendor:{email}"[:120], request_id, what)


async def _insert(request: dict[str, Any], kind: SubmissionKind, data, email, client: Client, **more) -> int:
    inserted = await PS.insert(
        PS(
            request=request["id"],
            kind=kind.value,
            data=data,
            email=email,
            client_address=(client.address or "")[:100] or None,
            user_agent=(client.user_agent or "")[:500] or None,
            **more,
        )
    ).returning(PS.id)
    return inserted[0]["id"]


async def _move(ctx: WriteContext, request: dict[str, Any], values: dict) -> None:
    """Update the request and log it: its state is part of the record, like any other."""
    await VR.update({**values, VR.updated_at: clock.now()}).where(VR.id == request["id"])
    after = await VR.select().where(VR.id == request["id"]).first()
    await record_change(ctx, "vendor_request", request["id"], ChangeAction.update, request, after)


async def _record(ctx: WriteContext, submission_id: int, action: ChangeAction, before=None) -> None:
    after = await PS.select().where(PS.id == submission_id).output(load_json=True).first()
    await record_change(ctx, "portal_submission", submission_id, action, before, after)


async def submit_confirmation(
    request: dict[str, Any],
    data: ConfirmationCreate,
    declaration: Declaration,
    files: list[tuple[bytes, str, str]],
    client: Client,
    request_id: str | None = None,
) -> None:
    """Record the vendor's confirmation as submitted (nothing is confirmed until it is accepted)."""
    ctx = _vendor_ctx(declaration.email, request_id, "confirmation submitted through the vendor portal")
    async with db.write_transaction():
        # Locked: two submissions at once cannot both find the request waiting.
        fresh = await db.for_update(VR.select().where(VR.id == request["id"])).first()
        if fresh["state"] not in AWAITING:
            raise conflict("This request is not waiting for a confirmation (one was already submitted).")
        stored = [await store_file(ctx, c, media, name, "evidence") for c, media, name in files]
        submission_id = await _insert(
            fresh,
            SubmissionKind.confirmation,
            data.model_dump(mode="json", exclude_none=True),
            declaration.email,
            client,
            declaration=declaration.model_dump(mode="json"),
            files=[s.id for s in stored],
        )
        await _move(ctx, fresh, {VR.state: "submitted", VR.submitted_at: clock.now()})
        await _record(ctx, submission_id, ChangeAction.submit)


async def submit_note(
    request: dict[str, Any],
    ask: ExtensionAsk | Question,
    client: Client,
    page: str,
    request_id: str | None = None,
) -> None:
    """A request for more time, or a question: it reaches the legal team (and the internal owner)."""
    kind = SubmissionKind.extension if isinstance(ask, ExtensionAsk) else SubmissionKind.question
    ctx = _vendor_ctx(ask.email, request_id, f"{kind.value} sent through the vendor portal")
    async with db.write_transaction():
        submission_id = await _insert(
            request, kind, ask.model_dump(mode="json", exclude={"email"}), ask.email, client
        )
        await _record(ctx, submission_id, ChangeAction.submit)
        owner = tokens.current_settings().portal_legal_team_email
        if owner:
            what, body = (
                ("asks for more time", f"Until {ask.until}: {ask.reason}")
                if isinstance(ask, ExtensionAsk)
                else ("asks a question", ask.text)
            )
            await enqueue(
                mails.owner_notice(await asked(request), owner, what, f"{body}\n\n({ask.email})", page)
            )


async def _pending(obligation_id: int, submission_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    found = await PS.select(PS.request).where(PS.id == submission_id).first()
    # The request is locked first: two reviews at once (two accepts) are one after the other.
    request = (
        None if found is None else await db.for_update(VR.select().where(VR.id == found["request"])).first()
    )
    if request is None or request["obligation"] != obligation_id:
        raise not_found(f"portal submission of deletion {obligation_id}", submission_id)
    row = await PS.select().where(PS.id == submission_id).output(load_json=True).first()
    if row["state"] != "submitted":
        raise conflict(f"Submission {submission_id} was already reviewed ({row['state']}).")
    # Every kind: an extension pending on a cancelled request must not move the due date.
    if request["state"] not in ACTIVE:
        raise conflict(f"Request {request['id']} is {request['state']}: its submissions cannot be reviewed.")
    return row, request


async def accept(ctx: WriteContext, obligation_id: int, submission_id: int) -> RequestRead:
    """Accept a submission: a confirmation becomes the deletion's confirmation (422 for what the rules
    refuse, and nothing changes), an extension moves the due date, a question is marked answered."""
    async with db.write_transaction():
        row, request = await _pending(obligation_id, submission_id)
        now = clock.now()
        if row["kind"] == SubmissionKind.confirmation.value:
            await _accept_confirmation(ctx, row, request, now)
        elif row["kind"] == SubmissionKind.extension.value:
            until = date.fromisoformat(row["data"]["until"])
            after = await deletions.extend_due(ctx, obligation_id, until, row["data"]["reason"])
            await _move(ctx, request, {VR.due_on: after.due_on})
        await PS.update({PS.state: "accepted", PS.reviewed_at: now, PS.reviewed_by: ctx.actor}).where(
            PS.id == submission_id
        )
        await _record(ctx, submission_id, ChangeAction.accept, row)
    return await read(request["id"])


async def _accept_confirmation(ctx: WriteContext, row, request, now) -> None:
    deletion = await deletions.get_deletion(request["obligation"])
    d = row["declaration"]
    declared = {
        "name": d["name"],
        "title": d["title"],
        "organisation": deletion.vendor_name,
        "email": d["email"],
        "declared_at": str(row["created_at"]),
        "accepted_by": ctx.actor,
        "accepted_at": now.isoformat(),
    }
    data = ConfirmationCreate.model_validate(row["data"])
    await deletions.add_confirmation(ctx, request["obligation"], data, declared, row["files"])
    await _move(ctx, request, {VR.state: "accepted", VR.closed_at: now})
    await tokens.stop_links(request["id"])
    # To the contact on record, not to the address typed into the form (anyone holding a link types one).
    await enqueue(mails.accepted_mail(await asked(request), request["recipient"]))


async def send_back(ctx: WriteContext, obligation_id: int, submission_id: int, reasons: str) -> RequestRead:
    """Return a submission with reasons: the vendor is e-mailed a fresh link and may submit again."""
    async with db.write_transaction():
        row, request = await _pending(obligation_id, submission_id)
        now = clock.now()
        await PS.update(
            {PS.state: "returned", PS.reviewed_at: now, PS.reviewed_by: ctx.actor, PS.review_reasons: reasons}
        ).where(PS.id == submission_id)
        if row["kind"] == SubmissionKind.confirmation.value:
            await _move(ctx, request, {VR.state: "returned", VR.return_reasons: reasons})
        await _record(ctx, submission_id, ChangeAction.return_, row)
        # The fresh link goes to the contact on record only, never to the address typed into the form.
        await enqueue(mails.returned_mail(await asked(request), request["recipient"], reasons, row["kind"]))
    return await read(request["id"])
