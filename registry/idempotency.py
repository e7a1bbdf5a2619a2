"""Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"): a retried POST is answered
with the first attempt's response and never writes twice.

The claim on a key is inserted by ``record_change`` in the writer's own transaction (``claim``), so
the write and the claim commit or roll back together: a crash after the commit leaves a claim that
stops every retry, and a request that wrote nothing leaves none. The response is stored on the claim
after the handler returns; a claim without one (the crash window) is answered 409, never re-run."""

import hashlib
import json
import logging
import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry import clock
from registry.auth import Actor
from registry.errors import bad_request, invalid, too_large
from registry.tables import Change, IdempotencyClaim

log = logging.getLogger("registry.idempotency")

HEADER = b"idempotency-key"
REPLAYED = (b"idempotent-replayed", b"true")
# The response headers a replay repeats (the rest are the server's own: dates, request ids).
KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag", b"content-location"})
# POSTs that never write: a key there changes nothing.
READ_ONLY = frozenset({"lookup_check"})
# Their answers carry a secret shown once: the claim is kept (no second key), the answer is not.
SECRET_ANSWERS = frozenset({"create_key", "create_webhook", "rotate_webhook_secret"})
MAX_STORED_BODY = 1_048_576
RETRY_AFTER = "1"
_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


@dataclass
class Attempt:
    """One request made under a key: what identifies it, and whether a write has claimed the key."""

    scope: str
    actor: str
    key: str
    fingerprint: str
    method: str
    path: str
    request_id: str | None
    expires_at: datetime
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    claimed: bool = False


current: ContextVar[Attempt | None] = ContextVar("idempotency_attempt", default=None)


class KeyInUse(HTTPException):
    """Another request holds the key (not a RegistryError: an import must not file it as a row error)."""

    status_code = 409


def _in_use(detail: str) -> KeyInUse:
    return KeyInUse(detail=detail, headers={"Retry-After": RETRY_AFTER})


async def claim(change_id: int) -> None:
    """Record the request's key in the current (writer's) transaction; called by ``record_change``."""
    attempt = current.get()
    if attempt is None:
        return
    if not attempt.claimed:  # expired claims go lazily, under the write lock the writer holds anyway
        await IdempotencyClaim.delete().where(IdempotencyClaim.expires_at < clock.now())
    row = IdempotencyClaim(
        scope=attempt.scope,
        actor=attempt.actor,
        idempotency_key=attempt.key,
        fingerprint=attempt.fingerprint,
        method=attempt.method,
        path=attempt.path,
        token=attempt.token,
        request_id=attempt.request_id,
        first_change_id=change_id,
        created_at=clock.now(),
        expires_at=attempt.expires_at,
    )
    # Every call inserts (a no-op after the first): a savepoint rolled back may have taken the first.
    inserted = (
        await IdempotencyClaim.insert(row)
        .on_conflict(target=IdempotencyClaim.scope, action="DO NOTHING")
        .returning(IdempotencyClaim.id)
    )
    if not inserted:
        holder = await IdempotencyClaim.select(IdempotencyClaim.token).where(
            IdempotencyClaim.scope == attempt.scope
        )
        if not holder or holder[0]["token"] != attempt.token:
            raise _in_use("Another request with this Idempotency-Key was applied first; nothing was written.")
    attempt.claimed = True


def parse_key(raw: bytes) -> str:
    """The key as sent (an sf-string may come quoted); 400 unless 1-255 printable ASCII characters."""
    text = raw.decode("latin-1")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    if not _KEY.match(text):
        raise bad_request("Idempotency-Key", "format", "must be 1 to 255 printable ASCII characters")
    return text


def fingerprint(scope: Scope, body: bytes) -> str:
    """SHA-256 of what makes two requests the same: method, path, query, content type, body."""
    headers = dict(scope["headers"])
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(headers.get(b"content-type", b"") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def scope_of(actor: str, key: str) -> str:
    return hashlib.sha256(f"{actor}\0{key}".encode()).hexdigest()


def _honoured(scope: Scope) -> bool:
    handler = scope.get("route_handler")
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and isinstance(scope.get("user"), Actor)
        and getattr(handler, "operation_id", None) not in READ_ONLY
    )


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """Every body message (None if the client left first); 413 past ``limit`` bytes."""
    messages, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        messages.append(message)
        size += len(message.get("body", b""))
        if size > limit:
            raise too_large(f"The body is larger than {limit} bytes.")
        if not message.get("more_body", False):
            return messages


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Runs a keyed POST once per actor and key; see the module docstring."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        raw = dict(scope["headers"]).get(HEADER) if scope["type"] == "http" else None
        if raw is None or not _honoured(scope):
            await app(scope, receive, send)
            return
        key = parse_key(raw)
        settings = scope["app"].state["settings"]
        # The route's own limit; a route without one (imports) bounds its upload itself.
        limit = scope["route_handler"].resolve_request_max_body_size() or settings.max_upload_bytes
        messages = await _read_body(receive, limit)
        if messages is None:
            return
        actor = scope["user"].name
        attempt = Attempt(
            scope=scope_of(actor, key),
            actor=actor,
            key=key,
            fingerprint=fingerprint(scope, b"".join(m.get("body", b"") for m in messages)),
            method=scope["method"],
            path=scope["path"][:2000],  # the column's bound; the fingerprint has all of it
            request_id=scope.get("state", {}).get("request_id"),
            expires_at=clock.now() + timedelta(hours=settings.idempotency_ttl_hours),
        )
        if await _answer_from_earlier(attempt, scope, send):
            return
        running = scope["app"].state.setdefault("idempotency_running", set())
        if attempt.scope in running:
            raise _in_use("A request with this Idempotency-Key is still running; retry later.")
        running.add(attempt.scope)
        token = current.set(attempt)
        try:
            await _run(app, scope, replaying(messages, receive), send, attempt)
        finally:
            current.reset(token)
            running.discard(attempt.scope)

    return middleware


def replaying(messages: list[Message], receive: Receive) -> Receive:
    """The body already read, then the client's own channel (so a disconnect is still seen)."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _run(app: ASGIApp, scope: Scope, receive: Receive, send: Send, attempt: Attempt) -> None:
    """Run the handler, keeping what it answers; store it on the claim if a write made one."""
    answer: dict[str, Any] = {"body": b""}

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = [
                [name.decode("latin-1"), value.decode("latin-1")]
                for name, value in message.get("headers", ())
                if name.lower() in KEPT_HEADERS
            ]
        elif message["type"] == "http.response.body" and answer.get("status") is not None:
            answer["body"] += message.get("body", b"")
        await send(message)

    await app(scope, receive, keep)
    status = answer.get("status")
    operation = getattr(scope.get("route_handler"), "operation_id", None)
    if not attempt.claimed or status is None or status >= 500 or operation in SECRET_ANSWERS:
        return  # a 5xx or a secret is not replayed: a retry learns the write was applied (409)
    if len(answer["body"]) > MAX_STORED_BODY:
        return
    try:
        await IdempotencyClaim.update(
            {
                IdempotencyClaim.status: status,
                IdempotencyClaim.headers: json.dumps(answer["headers"]),
                IdempotencyClaim.body: answer["body"],
            }
        ).where(IdempotencyClaim.scope == attempt.scope, IdempotencyClaim.token == attempt.token)
    except Exception:  # the client has its answer already; a retry will get 409 "already applied"
        log.exception("could not store the answer to an idempotent request")


async def _answer_from_earlier(attempt: Attempt, scope: Scope, send: Send) -> bool:
    """Replay the stored answer (True), refuse a reuse or a claim without one, or let the request run."""
    earlier = (
        await IdempotencyClaim.select()
        .where(IdempotencyClaim.scope == attempt.scope, IdempotencyClaim.expires_at >= clock.now())
        .first()
    )
    if earlier is None:
        return False
    if earlier["fingerprint"] != attempt.fingerprint:
        message = (
            f"was first used for another request ({earlier['method']} {earlier['path']} with another "
            "body, query or Content-Type); use a new key for a new request"
        )
        raise invalid("Idempotency-Key", "idempotency_key_reused", message)
    if earlier["status"] is None:
        raise await _applied_without_answer(earlier)
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in json.loads(earlier["headers"])
    ]
    body = bytes(earlier["body"] or b"")
    length = (b"content-length", str(len(body)).encode())
    await send(
        {"type": "http.response.start", "status": earlier["status"], "headers": [*headers, length, REPLAYED]}
    )
    await send({"type": "http.response.body", "body": body})
    return True


async def _applied_without_answer(earlier: dict[str, Any]) -> KeyInUse:
    """409 for a claim with no stored answer: still running, or applied and the answer not kept."""
    changes = (
        await Change.select(Change.id)
        .where(Change.id >= earlier["first_change_id"], Change.request_id == earlier["request_id"])
        .order_by(Change.id)
        .limit(100)
    )
    ids = ", ".join(str(row["id"]) for row in changes)
    return _in_use(
        f"The request with this Idempotency-Key was already applied (request {earlier['request_id']}, "
        f"changes {ids or 'not found'}); its answer was not kept (a secret, a server error, or it is "
        "still being stored). It is not run again."
    )
