"""People who sign in to the web interface, and their browser sessions.

Passwords are kept as Argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended profile);
a session cookie carries a random token whose SHA-256 is all the database holds, with the token the
session's forms must echo (CSRF, synchronizer-token pattern). People act in the change log as
``person:<name>``.
"""

import hashlib
import re
import secrets
from datetime import timedelta
from functools import cache
from typing import Any

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry import clock, db
from registry.auth import Actor, WriteContext
from registry.changes.service import record_change
from registry.enums import ChangeAction, Role
from registry.errors import conflict, invalid
from registry.tables import Person, WebSession

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MIN_PASSWORD, MAX_PASSWORD = 12, 1024
SESSION_HOURS = 12


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _decoy() -> str:
    """Checked against when the name is unknown, so that a wrong name takes as long as a wrong password."""
    return _hasher().hash(secrets.token_urlsafe(16))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise invalid("password", "length", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")


async def create_person(ctx: WriteContext, name: str, role: Role, password: str) -> dict[str, Any]:
    if not NAME.match(name):
        raise invalid("name", "pattern", "lower-case letters, digits, '.', '_' or '-', at most 100")
    check_password(password)
    hashed = await anyio.to_thread.run_sync(_hasher().hash, password)
    async with db.write_transaction():
        if await Person.exists().where(Person.name == name):
            raise conflict(f"A person named {name!r} exists already.")
        await Person.insert(Person(name=name, role=role.value, password_hash=hashed, created_by=ctx.actor))
        public = {"name": name, "role": role.value}
        await record_change(ctx, "person", name, ChangeAction.create, None, public)
    return public


async def authenticate(name: str, password: str) -> dict[str, Any] | None:
    """The person, when the name and password match an active person; None otherwise."""
    row = (
        await Person.select(Person.id, Person.name, Person.role, Person.password_hash)
        .where(Person.name == name, Person.disabled_at.is_null())
        .first()
    )
    stored = row["password_hash"] if row else _decoy()
    try:
        await anyio.to_thread.run_sync(_hasher().verify, stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    return row


async def start_session(person_id: int) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    await WebSession.delete().where(WebSession.expires_at <= now)  # expired sessions go at each sign-in
    await WebSession.insert(
        WebSession(
            token_hash=_digest(token),
            person=person_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    return token


async def session(token: str | None) -> tuple[Actor, str] | None:
    """(the signed-in person, the session's CSRF token) for a cookie token, or None."""
    if not token or len(token) > 100:
        return None
    row = (
        await WebSession.select(
            WebSession.csrf_token,
            WebSession.expires_at,
            WebSession.person.name.as_alias("name"),
            WebSession.person.role.as_alias("role"),
            WebSession.person.disabled_at.as_alias("disabled_at"),
        )
        .where(WebSession.token_hash == _digest(token))
        .first()
    )
    if row is None or row["disabled_at"] is not None or row["expires_at"] <= clock.now():
        return None
    return Actor(name=f"person:{row['name']}", role=Role(row["role"])), row["csrf_token"]


async def end_session(token: str) -> None:
    await WebSession.delete().where(WebSession.token_hash == _digest(token))
