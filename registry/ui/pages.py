"""What every page of the web interface shares: who is signed in, the CSRF check, the page response
with its headers, error pages, and the bounds on what a form may send."""

import hmac
import re
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from registry import clock, words
from registry.auth import Actor, WriteContext
from registry.enums import Role
from registry.errors import RegistryError, forbidden, missing, too_large
from registry.people import service as people

COOKIE = "registry_session"
FORM_LIMIT = 64 * 1024
# Pages that take a file read at most this much, whatever the Content-Length says (chunked bodies too);
# the configured REGISTRY_MAX_UPLOAD_BYTES is then checked on the file itself.
UPLOAD_CAP = 64 * 1024 * 1024


def refuse_large_body(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise too_large(f"The upload is over {limit} bytes.")


class SignInRequired(Exception):
    """Raised by pages when nobody (or someone without the role) is signed in."""


async def signed_in(request: Request, role: Role) -> tuple[Actor, str]:
    # As the API's authentication does: what the worker keeps (the taxonomy) is checked against it.
    await request.app.state["change_head"].read()
    found = await people.session(request.cookies.get(COOKIE))
    if found is None:
        raise SignInRequired
    actor, csrf = found
    if not actor.has(role):
        raise forbidden(
            f"This page needs the {role.value} role; you have {actor.role.value}.",
        )
    return actor, csrf


# Words every page may use; a page showing taxonomy keys passes ``words`` loaded with their names.
WORDS = {
    "day": words.day,
    "moment": words.moment,
    "country": words.country,
    "actor_words": words.actor,
    "history_line": words.history_line,
    "prose": words.prose,
    "words": words.Words({}),
}
# What a "saved" notice may say, by the key its cookie holds (never text from a request).
NOTICES = {
    "vendor": "The vendor was saved.",
    "contract": "The contract was saved.",
    "terminated": "The contract was terminated: its disclosures end and a deletion is now tracked.",
    "disclosure": "The disclosure was saved.",
    "transfer": "The transfer record was saved.",
    "confirmation": "The vendor's deletion report was recorded.",
    "attestation": "The attestation was issued.",
    "note": "The note was added to the journal.",
    "engagement": "The sub-processor engagement was recorded.",
    "objection": "Our objection to the sub-processor was recorded.",
}
NOTICE_COOKIE = "registry_notice"


def notice_redirect(target: str, notice: str) -> Redirect:
    """Go on to ``target`` (303), which then says what was saved (once: the page clears the cookie)."""
    cookie = Cookie(key=NOTICE_COOKIE, value=notice, path="/ui", httponly=True, samesite="lax", max_age=120)
    return Redirect(target, status_code=303, cookies=[cookie])


def render_page(request: Request, template: str, http_status: int = 200, **context: Any) -> Template:
    notice = NOTICES.get(request.cookies.get(NOTICE_COOKIE, ""))
    page = Template(
        template_name=template,
        context={
            "request": request,
            "today": clock.today(),
            "Role": Role,
            "actor": None,
            "notice": notice,
            **WORDS,
            **context,
        },
        status_code=http_status,
        headers={
            "Cache-Control": "no-store",
            # Pages are never framed (no clickjacking of the one-button forms).
            "Content-Security-Policy": "frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
        },
    )
    if NOTICE_COOKIE in request.cookies:
        page.delete_cookie(NOTICE_COOKIE, path="/ui")
    return page


def same_secret(sent: Any, expected: str) -> bool:
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


def check_csrf(form: dict[str, Any], csrf: str) -> None:
    if not same_secret(form.get("csrf"), csrf):
        raise forbidden("The form has expired: reload the page.")


def bounded_id(value: int) -> int:
    """A record id from a page's path, within the database's integer range (else 404, not a 500)."""
    if not 1 <= value <= 2**31 - 1:
        raise missing(f"No record {value}.")
    return value


def error_page(request: Request, error: Exception) -> Template:
    """Errors on pages are pages too (the API answers problem+json)."""
    if isinstance(error, RegistryError):
        status, title, detail = error.status, error.title, error.detail
    elif isinstance(error, HTTPException):
        status, title, detail = error.status_code, "Request refused", str(error.detail)
    else:
        raise error
    return render_page(request, "error.html.j2", status, title=title, detail=detail)


PAGE_ERRORS = {RegistryError: error_page, HTTPException: error_page}


def write_context(request: Request, actor: Actor) -> WriteContext:
    return WriteContext(actor=actor.name, request_id=request.scope.get("state", {}).get("request_id"))


def attachment(filename: str, fallback: str) -> str:
    """A Content-Disposition that survives any name: an ASCII name, and the real one RFC 5987-encoded."""
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or fallback
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
