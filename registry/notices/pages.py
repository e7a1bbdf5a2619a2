"""Public pages of the subscriptions, for people with no account: subscribe, confirm (a button: a mail
scanner following the link confirms nothing), one-click unsubscribe (RFC 8058: a POST of
``List-Unsubscribe=One-Click``, no cookie needed; a GET only shows the button), and objecting to a
notified change. Tokens travel in the path: the pages send no Referer and are never stored by a cache,
each form but the one-click carries a CSRF token (double-submit, as the portal's), and every page counts
against the per-address limit of the public routes.
"""

import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from registry.errors import RegistryError, bad_request, missing
from registry.http import read_form
from registry.notices import objections, subscriptions
from registry.notices.subscriptions import SENT
from registry.notices.tokens import resolve
from registry.ratelimit import rate_limited_public
from registry.ui.pages import FORM_LIMIT, same_secret

CSRF_COOKIE = "subscriber_csrf"
PAGE = "notices_page.html.j2"
# As the portal's pages: the path holds a token.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
MAX_REASON = 4000


def notices_error(request: Request, error: Exception) -> Template:
    """Every refusal is the same plain page: no registry data, no sign-in links."""
    if isinstance(error, RegistryError):
        status, detail, headers = error.status, error.detail, {**HEADERS, **(error.headers or {})}
    elif isinstance(error, HTTPException):
        status, detail, headers = error.status_code, "The request was refused.", HEADERS
    else:
        raise error
    if status == 404:
        detail = "This link does not open anything. It may be mistyped, expired, used or withdrawn."
    return Template(
        template_name=PAGE,
        context={
            "heading": "Not available",
            "paragraphs": [detail],
            "status_role": "alert",
            "form": None,
            "error": None,
        },
        status_code=status,
        headers=headers,
    )


def _csrf(request: Request) -> tuple[str, Cookie]:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    secure = request.app.state["settings"].document_base_url.startswith("https://")
    return csrf, Cookie(
        key=CSRF_COOKIE, value=csrf, path="/public", httponly=True, samesite="strict", secure=secure
    )


def _page(request: Request, heading: str, paragraphs: list[str], form: dict | None = None, status=200, **kw):
    cookies = []
    if form is not None:
        form = {"csrf": True, "one_click": False, "email": None, "reason": None, **form}
        if form["csrf"]:
            form["csrf"], cookie = _csrf(request)
            cookies.append(cookie)
    context = {"heading": heading, "paragraphs": paragraphs, "form": form, "status_role": None, "error": None}
    context.update(kw)
    return Template(template_name=PAGE, context=context, status_code=status, headers=HEADERS, cookies=cookies)


async def _checked_form(request: Request):
    form = await read_form(request)
    if not same_secret(form.get("csrf"), request.cookies.get(CSRF_COOKIE, "")):
        # 400, not 403: a stale form, not a caller without a right (nobody here has an account).
        raise bad_request("csrf", "expired", "The form has expired: reload the page and send it again.")
    return form


async def _opened(token: str, purpose: str) -> dict[str, Any]:
    found = await resolve(token, purpose)
    if found is None:
        raise missing("No such link.")
    return found


def _subscribe_form(email: str = "") -> dict:
    return {"action": "/public/subscribe", "button": "Subscribe", "email": email, "reason": None}


class SubscriberPagesController(Controller):
    """Pages a customer reaches from the public list or through a link it was e-mailed."""

    path = "/public"
    include_in_schema = False
    guards = [rate_limited_public]
    exception_handlers = {RegistryError: notices_error, HTTPException: notices_error}  # noqa: RUF012
    request_max_body_size = FORM_LIMIT

    @get("/subscribe")
    async def subscribe_page(self, request: Request) -> Template:
        org = request.app.state["settings"].organisation_name
        intro = (
            f"Be told by e-mail when {org} adds, changes or removes a sub-processor, before it takes effect."
        )
        return _page(request, "Subscribe to sub-processor changes", [intro], _subscribe_form())

    @post("/subscribe")
    async def subscribe(self, request: Request) -> Template:
        form = await _checked_form(request)
        email = str(form.get("email") or "")[:400]
        try:
            await subscriptions.subscribe(request.app.state["settings"], email)
        except RegistryError as error:
            detail = error.errors[0].message if error.errors else error.detail
            heading = "Subscribe to sub-processor changes"
            return _page(request, heading, [], _subscribe_form(email), 400, error=f"E-mail address {detail}.")
        return _page(request, "Check your inbox", [SENT], status_role="status")

    @get("/confirm/{token:str}")
    async def confirm_page(self, request: Request, token: str) -> Template:
        await _opened(token, "confirm")
        form = {
            "action": f"/public/confirm/{token}",
            "button": "Confirm my subscription",
            "email": None,
            "reason": None,
        }
        return _page(request, "Confirm your subscription", ["Press the button to start the notices."], form)

    @post("/confirm/{token:str}")
    async def confirm(self, request: Request, token: str) -> Template:
        found = await _opened(token, "confirm")
        await _checked_form(request)
        await subscriptions.confirm(found["subscriber"])
        said = [
            "You will be e-mailed each change to the sub-processors before it takes effect.",
            "Every notice carries a link to unsubscribe.",
        ]
        return _page(request, "Subscription confirmed", said, status_role="status")

    @get("/unsubscribe/{token:str}")
    async def unsubscribe_page(self, request: Request, token: str) -> Template:
        await _opened(token, "unsubscribe")
        form = {
            "action": f"/public/unsubscribe/{token}",
            "button": "Unsubscribe",
            "csrf": False,
            "one_click": True,
        }
        return _page(
            request, "Unsubscribe", ["Press the button to stop the notices and erase your address."], form
        )

    @post("/unsubscribe/{token:str}")
    async def unsubscribe(self, request: Request, token: str) -> Template:
        found = await _opened(token, "unsubscribe")
        form = await read_form(request)
        if form.get("List-Unsubscribe") != "One-Click":
            raise bad_request("List-Unsubscribe", "one_click", "The body must be List-Unsubscribe=One-Click.")
        await subscriptions.unsubscribe(found["subscriber"])
        return _page(
            request,
            "Unsubscribed",
            ["Your address was erased. No more notices are sent to it."],
            status_role="status",
        )

    @get("/object/{token:str}")
    async def objection_page(self, request: Request, token: str) -> Template:
        found = await _opened(token, "object")
        return await _objection(request, token, found)

    @post("/object/{token:str}")
    async def object_to_change(self, request: Request, token: str) -> Response:
        found = await _opened(token, "object")
        form = await _checked_form(request)
        reason = str(form.get("reason") or "").strip()
        if len(reason) > MAX_REASON or "\x00" in reason:
            return await _objection(
                request, token, found, reason[:MAX_REASON], f"At most {MAX_REASON} characters, no NUL."
            )
        notice = await objections.notice_of(found["notice"])
        page = f"{request.app.state['settings'].document_base_url}/ui/objections"
        await objections.record(request.app.state["settings"], notice, reason, page)
        return Redirect(f"/public/object/{token}", status_code=303, headers=HEADERS)


async def _objection(request: Request, token: str, found: dict, reason: str = "", error: str | None = None):
    notice = await objections.notice_of(found["notice"])
    recorded = await objections.objection_to(notice["id"])
    heading = f"Object to a change of the sub-processors: {notice['vendor_name']}"
    said = [notice["summary"], f"Takes effect on {notice['effective_on'].isoformat()}."]
    if recorded is not None:
        when = f"{recorded['created_at']:%Y-%m-%d %H:%M} UTC"
        return _page(
            request,
            heading,
            [f"Your objection was recorded on {when}. The legal team will answer it.", *said],
            status_role="status",
        )
    form = {
        "action": f"/public/object/{token}",
        "button": "Send my objection",
        "email": None,
        "reason": reason,
    }
    return _page(request, heading, said, form, 400 if error else 200, error=error)
