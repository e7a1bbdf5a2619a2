"""Portal links: a random token per e-mail, opening one request; only its SHA-256 is stored.

The e-mail's body carries the marker ``[[portal_url]]``; the mail worker calls the minter registered
here just before it sends, so the token exists only in the message on its way and in the vendor's inbox,
never in the outbox or any other table.
"""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from registry import clock, db
from registry.mail.outbox import register_minter, register_retry_guard, supersede
from registry.settings import Settings, get_settings
from registry.tables import PortalToken, VendorRequest

MINTER = "portal"
CLOSED = ("cancelled", "accepted", "cannot_be_asked")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_url(settings: Settings, token: str) -> str:
    return f"{settings.document_base_url}/portal/{token}"


async def mint(request_id: int, days: int) -> str | None:
    """A fresh token for the open request, or None when it is closed: its state is read under lock in
    the transaction that inserts the token, so an accept or cancel cannot slip in between."""
    token = secrets.token_urlsafe(32)
    async with db.write_transaction():
        query = VendorRequest.select(VendorRequest.state).where(VendorRequest.id == request_id)
        request = await db.for_update(query).first()
        if request is None or request["state"] in CLOSED:
            return None
        await PortalToken.insert(
            PortalToken(
                request=request_id,
                token_hash=token_hash(token),
                expires_at=clock.now() + timedelta(days=days),
            )
        )
    return token


async def revoke_all(request_id: int) -> None:
    """Every link to the request stops working (call inside the writer's transaction)."""
    await PortalToken.update({PortalToken.revoked_at: clock.now()}).where(
        PortalToken.request == request_id, PortalToken.revoked_at.is_null()
    )


async def stop_links(request_id: int) -> None:
    """Every link to the request stops working, and no message still waiting (or failed, to be
    retried) mints a new one: the request was re-sent, cancelled or accepted (in the writer's transaction)."""
    await revoke_all(request_id)
    await supersede("vendor_request", request_id, MINTER)


async def resolve(token: str) -> dict[str, Any] | None:
    """The open request a token opens, or None: unknown, expired, revoked or closed look the same."""
    if not 20 <= len(token) <= 100:
        return None
    row = (
        await PortalToken.select(PortalToken.request, PortalToken.expires_at, PortalToken.revoked_at)
        .where(PortalToken.token_hash == token_hash(token))
        .first()
    )
    if row is None or row["revoked_at"] is not None or _aware(row["expires_at"]) <= clock.now():
        return None
    request = await VendorRequest.select().where(VendorRequest.id == row["request"]).first()
    if request is None or request["state"] in CLOSED:
        return None
    return request


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Configured:
    """The settings of the app (or CLI) running in this process: the minter needs the public URL and
    the token lifetime, and is registered once per process. Set by the lifespan and the CLI."""

    settings: Settings | None = None


def configure(settings: Settings) -> None:
    Configured.settings = settings


def current_settings() -> Settings:
    return Configured.settings or get_settings()


async def mint_link(request_id: int) -> dict[str, str]:
    """What the mail worker calls with a request's id just before sending a message about it."""
    settings = current_settings()
    token = await mint(request_id, settings.portal_token_days)
    if token is None:
        # A message queued before the request closed: no link that would open nothing useful.
        return {"portal_url": "(this request is closed; no link)"}
    return {"portal_url": portal_url(settings, token)}


async def retry_refusal(request_id: int) -> str | None:
    """Why a failed link-carrying message about the request must not be retried, or None."""
    request = await VendorRequest.select(VendorRequest.state).where(VendorRequest.id == request_id).first()
    if request is None or request["state"] in CLOSED:
        return f"vendor request {request_id} is {request['state'] if request else 'gone'}"
    return None


register_minter(MINTER, mint_link)
register_retry_guard(MINTER, retry_refusal)
