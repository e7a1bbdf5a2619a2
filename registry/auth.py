"""Who is calling: API keys (Bearer), the role each route needs, and the context every write carries."""

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ImproperlyConfiguredException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.edge import refuse_nul
from registry.enums import Role
from registry.errors import bad_request, invalid
from registry.head import observed_answers_head, observed_head, observed_keys_head
from registry.tables import ApiKey

KEY_PREFIX = "prk_"
# Regexes of the routes anyone may call: health, the API docs, attestation verification, the public
# sub-processor list, the change log's signed checkpoints (that one path only: /changes stays guarded).
PUBLIC_PATHS = (
    "^/changes/checkpoints$",
    "^/health$",
    "^/health/live$",
    "^/public/",
    "^/schema",
    "^/attestations/verify$",
    "^/attestations/[^/]+/verify$",
    "^/ui(/|$)",
    "^/portal/",
)
# The web interface (/ui) signs people in with sessions of its own (registry/ui); API keys do not apply.
# The vendor portal (/portal/<token>) is opened by the token in its path (registry/portal/pages.py).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: a key (later, a person) and its role."""

    name: str
    role: Role

    def has(self, role: Role) -> bool:
        return self.role.rank >= role.rank


@dataclass(frozen=True)
class WriteContext:
    """What every change row records about the request that caused it."""

    actor: str
    request_id: str | None = None
    message: str | None = None


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # API secrets are 256 random bits, so a fast hash is as safe as a slow one and keeps auth cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


# The key of a route's ``opt`` that names the weakest role allowed to call it (see ``needs``).
ROLE_OPT = "role"
# What guarded routes declare in the OpenAPI document (public ones declare nothing).
API_KEY = [{"apiKey": []}]


class KeyCache:
    """Verified keys, per worker, valid while the newest change to a key is the one they were verified
    at (``registry.head``): creating or revoking a key moves it, so a revocation takes effect on every
    worker at once, and no other write makes the next request verify its key again. The
    lookup API is called on every data transfer, and a key lookup per call costs more than the answer."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, tuple], Actor] = {}

    def get(self, digest: str, head: tuple) -> Actor | None:
        return self.entries.get((digest, head))

    def put(self, digest: str, head: tuple, actor: Actor) -> None:
        if len(self.entries) > 10_000:
            self.entries.clear()
        self.entries[(digest, head)] = actor


key_cache = KeyCache()


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    """Turns ``Authorization: Bearer <key>`` into an :class:`Actor`; public paths pass untouched."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        digest = bearer_digest(connection.headers.get("authorization", ""))
        if digest is None:
            raise _unauthorized("An API key is required: send 'Authorization: Bearer <key>'.")
        actor = await verified_actor(connection.app.state, digest)
        if actor is None:
            head = observed_keys_head.get()  # moved by creating or revoking a key, and by nothing else
            row = (
                await ApiKey.select(ApiKey.name, ApiKey.role)
                .where(ApiKey.secret_hash == digest, ApiKey.revoked_at.is_null())
                .first()
            )
            if row is None:
                raise _unauthorized("The API key is unknown or revoked.")
            actor = Actor(name=row["name"], role=Role(row["role"]))
            key_cache.put(digest, head, actor)
        # Roles are checked here rather than by route guards: Litestar copies the route handler for each
        # guard call, a tenth of a cached lookup's time (bench: profile of POST /lookup/check).
        needed = connection.scope["route_handler"].opt.get(ROLE_OPT)
        if not isinstance(needed, Role):  # check_roles makes this unreachable; closed if not
            raise PermissionDeniedException(detail="This route names no role: nobody may call it.")
        if not actor.has(needed):
            raise PermissionDeniedException(
                detail=f"This needs the {needed.value} role; the key has {actor.role.value}."
            )
        return AuthenticationResult(user=actor, auth=None)


def bearer_digest(header: str) -> str | None:
    """The hash of the key in an ``Authorization: Bearer <key>`` header; None without one."""
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return hash_secret(secret.strip())


async def verified_actor(app_state: Any, digest: str) -> Actor | None:
    """The caller whose key hashes to ``digest`` if it is verified at the current keys head (reading
    the head), None if it has still to be verified (``ApiKeyAuthentication`` does it)."""
    await app_state["change_head"].read()
    return key_cache.get(digest, observed_keys_head.get())


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": "Bearer"})


def needs(role: Role) -> dict[str, Role]:
    """The ``opt`` of a controller or route: the weakest role that may call it (a route's own ``opt``
    overrides its controller's). :class:`ApiKeyAuthentication` checks it on every request that is not
    public; :func:`check_roles` refuses to start an app with a route that names none."""
    return {ROLE_OPT: role}


def check_roles(app: Litestar) -> None:
    """Every route the API key middleware guards names its role: a new route without one is an error
    at startup (and, were it ever reached, refused), never open to any key."""
    public = re.compile("|".join(PUBLIC_PATHS))
    missing = sorted(
        f"{method} {route.path}"
        for route in app.routes
        if isinstance(route, HTTPRoute) and not public.match(route.path)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method not in ("HEAD", "OPTIONS") and not isinstance(handler.opt.get(ROLE_OPT), Role)
    )
    if missing:
        raise ImproperlyConfiguredException(f"routes without a role (opt=needs(Role...)): {missing}")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives every request an id (the client's X-Request-ID when well-formed) and echoes it back."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # 32 hex digits, as uuid4().hex gave, all of them random: 0.5 µs against 3.4.
        request_id = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        refuse_nul(scope)
        observed_head.set(None)  # each request reads the head afresh (one task may serve several)
        observed_answers_head.set(None)
        observed_keys_head.set(None)

        echoed = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":  # a new list: the response's own may be shared
                kept = [
                    header for header in message.get("headers", ()) if header[0].lower() != b"x-request-id"
                ]
                message["headers"] = [*kept, echoed]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware


def provide_write_context(request: Request) -> WriteContext:
    message = _change_message(request.headers.get("x-change-message"))
    if message is not None and not 1 <= len(message) <= 1000:
        raise invalid("X-Change-Message", "length", "must be 1 to 1000 characters")
    return WriteContext(
        actor=request.user.name,
        request_id=request.scope.get("state", {}).get("request_id"),
        message=message,
    )


def _change_message(raw: str | None) -> str | None:
    """The header as its sender wrote it: HTTP carries bytes, which Litestar hands over as Latin-1."""
    if raw is None:
        return None
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("X-Change-Message", "utf8", "must be text encoded as UTF-8") from None
