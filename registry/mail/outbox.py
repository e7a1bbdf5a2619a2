"""The mail outbox: messages written in the transaction of the change that causes them, sent later.

``enqueue`` runs inside the writer's transaction (``db.write_transaction()``), so a message exists if and
only if its change was committed: nothing is sent for a rolled-back write, and nothing committed is lost
when the process dies before sending. The worker (registry/mail/worker.py) sends it with retries.

Links that carry a secret (a vendor portal token) are never stored: a body holds markers such as
``[[portal_url]]``, and a message names a *minter* registered with ``register_minter``. Just before each
attempt the worker calls ``await minter(about_id)``, which makes a fresh token (storing only its hash)
and returns ``{"portal_url": "https://…"}``; the markers are replaced in the text, the HTML and the
header values sent (List-Unsubscribe), and the stored message keeps its markers. Each attempt mints anew, so a retried message carries a new link.
"""

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from registry import db
from registry.errors import invalid
from registry.tables import MailMessage

MAX_RECIPIENTS = 50
MAX_SUBJECT = 998  # RFC 5322's line limit
MAX_BODY = 1_000_000
MARKER = re.compile(r"\[\[([a-z][a-z0-9_]{0,59})\]\]")
HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
# Made by the worker from the message's fields and the settings.
RESERVED_HEADERS = frozenset(
    ("from", "to", "cc", "bcc", "subject", "date", "message-id", "sender", "mime-version")
    + ("content-type", "content-transfer-encoding", "content-disposition")
)
STATES = ("waiting", "sending", "sent", "failed", "superseded")

Minter = Callable[[int], Awaitable[dict[str, str]]]
_MINTERS: dict[str, Minter] = {}
# A message whose recipient asked to be forgotten: its addresses, and what servers answered, erased.
ERASED = "(erased)"
ERASED_ANSWER = "(the server's answer, erased with the address)"
RetryGuard = Callable[[int], Awaitable[str | None]]
_RETRY_GUARDS: dict[str, RetryGuard] = {}


@dataclass(frozen=True)
class Mail:
    """One message to enqueue; the body is plain text, with an optional HTML alternative."""

    kind: str  # "deletion_request", "reminder", "test", ... (shown on pages)
    to: tuple[str, ...]
    subject: str
    text: str  # plain text body
    html: str | None = None  # HTML alternative (already escaped by the caller's template)
    cc: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # e.g. List-Unsubscribe (RFC 8058)
    about_type: str | None = None  # what the message is about, e.g. "vendor_request"
    about_id: int | None = None
    minter: str | None = None  # name of a registered link minter (see the module's docstring)


def register_minter(name: str, minter: Minter) -> None:
    """Name a coroutine that returns the marker values for a message about ``about_id``."""
    if not MARKER.fullmatch(f"[[{name}]]"):
        raise ValueError(f"minter name {name!r}: lower-case letters, digits and _ only")
    _MINTERS[name] = minter


def minter_named(name: str) -> Minter | None:
    return _MINTERS.get(name)


async def supersede(about_type: str, about_id: int, minter: str) -> None:
    """Messages about one thing that would still mint a link (waiting or failed) are never sent: the
    thing was re-sent, cancelled or closed (inside the writer's transaction)."""
    await MailMessage.update({MailMessage.status: "superseded", MailMessage.lease_until_ms: 0}).where(
        (MailMessage.about_type == about_type)
        & (MailMessage.about_id == about_id)
        & (MailMessage.minter == minter)
        & MailMessage.status.is_in(["waiting", "failed"])
    )


def register_retry_guard(minter: str, guard: RetryGuard) -> None:
    """Name a coroutine that says why a failed message with this minter must not be retried (or None)."""
    _RETRY_GUARDS[minter] = guard


async def retry_refusal(minter: str | None, about_id: int | None) -> str | None:
    guard = _RETRY_GUARDS.get(minter or "")
    return None if guard is None or about_id is None else await guard(about_id)


def check_address(field: str, address: str) -> str:
    """The address normalised (domain lower-cased, IDNA where the local part is ASCII), or a 422."""
    if not isinstance(address, str) or not address.strip():
        raise invalid(field, "required", "must be an e-mail address")
    try:
        # As the vendors' EmailStr fields allow: a non-ASCII local part is sent with SMTPUTF8.
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise invalid(field, "email", f"is not a valid e-mail address: {exc}") from None
    # ASCII where it can be (IDNA domains), so that only a non-ASCII local part needs SMTPUTF8.
    return checked.ascii_email or checked.normalized


def _check_header_text(field: str, value: str, limit: int) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise invalid(field, "single_line", "must not contain line breaks")
    if len(value) > limit:
        raise invalid(field, "max_length", f"must be at most {limit} characters")
    return value


def _check_header_name(index: int, name: str) -> str:
    if not HEADER_NAME.fullmatch(name):
        raise invalid(f"headers[{index}]", "header_name", "a header name is letters, digits and -")
    if name.lower() in RESERVED_HEADERS:
        raise invalid(f"headers[{index}]", "reserved", f"{name} is set by the sender, not by the caller")
    return name


def _checked(mail: Mail) -> dict[str, Any]:
    if not mail.to:
        raise invalid("to", "min_items", "name at least one recipient")
    if len(mail.to) + len(mail.cc) > MAX_RECIPIENTS:
        raise invalid("to", "max_items", f"at most {MAX_RECIPIENTS} recipients, cc included")
    to = [check_address(f"to[{i}]", a) for i, a in enumerate(mail.to)]
    cc = [check_address(f"cc[{i}]", a) for i, a in enumerate(mail.cc)]
    if not mail.kind.strip():
        raise invalid("kind", "required", "must not be empty")
    if mail.about_type is not None:
        _check_header_text("about_type", mail.about_type, 40)
    if not mail.subject.strip():
        raise invalid("subject", "required", "must not be empty")
    for name, body in (("text", mail.text), ("html", mail.html or "")):
        if len(body) > MAX_BODY:
            raise invalid(name, "max_length", f"must be at most {MAX_BODY} characters")
    if mail.minter is not None and mail.minter not in _MINTERS:
        raise invalid("minter", "registered", f"no link minter is registered as {mail.minter!r}")
    if mail.minter is not None and mail.about_id is None:
        raise invalid("about_id", "required", "a message with a minter must say what it is about")
    headers = [
        [_check_header_name(i, k), _check_header_text(f"headers[{i}]", v, 2000)]
        for i, (k, v) in enumerate(mail.headers)
    ]
    return {
        "kind": _check_header_text("kind", mail.kind, 40),
        "recipients": to,
        "cc": cc,
        "subject": _check_header_text("subject", mail.subject, MAX_SUBJECT),
        "headers": headers,
    }


async def enqueue(mail: Mail) -> int:
    """Write ``mail`` to the outbox inside the caller's write transaction; returns its id.
    A bad address, header or minter is a 422 naming the field, and nothing is written."""
    if not db.current_engine().transaction_exists():
        raise RuntimeError("mail.enqueue must run inside db.write_transaction()")
    checked = _checked(mail)
    inserted = await MailMessage.insert(
        MailMessage(
            **checked,
            text=mail.text,
            html=mail.html,
            about_type=mail.about_type,
            about_id=mail.about_id,
            minter=mail.minter,
            message_id=secrets.token_hex(16),
            next_attempt_ms=int(time.time() * 1000),
        )
    ).returning(MailMessage.id)
    return inserted[0]["id"]


_LISTED = (
    MailMessage.id,
    MailMessage.kind,
    MailMessage.recipients,
    MailMessage.cc,
    MailMessage.subject,
    MailMessage.status,
    MailMessage.attempts,
    MailMessage.created_at,
    MailMessage.sent_at,
    MailMessage.last_answer,
    MailMessage.next_attempt_ms,
    MailMessage.lease_until_ms,
    MailMessage.about_type,
    MailMessage.about_id,
)


def shown(row: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """A message row as pages and the API show it (never its body)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    state = row["status"]
    if state == "waiting" and row["lease_until_ms"] > now_ms:
        state = "sending"
    waiting = state in ("waiting", "sending")
    return {
        "id": row["id"],
        "kind": row["kind"],
        "to": list(row["recipients"]),
        "cc": list(row["cc"]),
        "subject": row["subject"],
        "state": state,
        "attempts": row["attempts"],
        "created_at": row["created_at"],
        "sent_at": row["sent_at"],
        "last_answer": row["last_answer"],
        "next_attempt_at": _from_ms(row["next_attempt_ms"]) if waiting else None,
        "about_type": row["about_type"],
        "about_id": row["about_id"],
    }


def listed_query():
    return MailMessage.select(*_LISTED).output(load_json=True)


async def messages_about(about_type: str, about_id: int) -> list[dict[str, Any]]:
    """Every message about one thing, oldest first, for its page and the API."""
    rows = (
        await listed_query()
        .where((MailMessage.about_type == about_type) & (MailMessage.about_id == about_id))
        .order_by(MailMessage.id)
    )
    return [shown(row) for row in rows]


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
