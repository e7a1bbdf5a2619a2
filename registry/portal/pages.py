"""The vendor portal: pages for someone with no account, opened by the link in an e-mail.

A token opens one request; a wrong, expired or revoked one gets the same plain page (404), which says
nothing about the registry. Every page counts against a per-address limit (guessing is throttled),
sends no Referer (the path holds the token), cannot be framed, and each form carries a CSRF token
(double-submit: a cookie scoped to /portal and the same value in the form).
"""

import secrets
from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from registry import clock
from registry.deletions.service import get_deletion
from registry.errors import RegistryError, forbidden, missing
from registry.http import read_form
from registry.portal import forms, requests, submissions
from registry.portal.requests import AWAITING
from registry.portal.submissions import Client
from registry.portal.tokens import resolve
from registry.ui.forms import validate, values_of
from registry.ui.pages import FORM_LIMIT, UPLOAD_CAP, refuse_large_body, same_secret

CSRF_COOKIE = "portal_csrf"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


def _page(template: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Template:
    return Template(
        template_name=template, context=context, status_code=status, headers=HEADERS, cookies=cookies or []
    )


def portal_error(request: Request, error: Exception) -> Template:
    """Every refusal on the portal is the same plain page: no registry data, no sign-in links."""
    if isinstance(error, RegistryError):
        status, detail = error.status, error.detail
        headers = {**HEADERS, **(error.headers or {})}
    elif isinstance(error, HTTPException):
        status, detail, headers = error.status_code, "The request was refused.", HEADERS
    else:
        raise error
    if status == 404:
        detail = "This link does not open anything. It may be mistyped, expired or withdrawn: ask the sender for a new one."
    return Template(
        template_name="portal_error.html.j2", context={"detail": detail}, status_code=status, headers=headers
    )


def _throttle(request: Request) -> None:
    limiter = request.app.state["portal_limiter"]
    try:
        limiter.check(request.client.host if request.client else "unknown")
    except RegistryError as exc:
        wait = exc.headers.get("Retry-After", "60")
        raise replace(exc, detail=f"Too many requests from your address: try again in {wait} s.") from None


async def _opened(request: Request, token: str) -> dict[str, Any]:
    _throttle(request)
    found = await resolve(token)
    if found is None:
        raise missing("No such link.")
    return found


def _client(request: Request) -> Client:
    return Client(request.client.host if request.client else None, request.headers.get("user-agent"))


class PortalController(Controller):
    """Pages a vendor reaches through the link it was e-mailed."""

    path = "/portal"
    include_in_schema = False
    exception_handlers = {RegistryError: portal_error, HTTPException: portal_error}  # noqa: RUF012

    @get("/{token:str}")
    async def portal_page(self, request: Request, token: str, done: str | None = None) -> Template:
        found = await _opened(request, token)
        await requests.mark_opened(found)
        return await _render(request, token, found, notice=done)

    @post("/{token:str}/confirmation", request_max_body_size=UPLOAD_CAP)
    async def submit_confirmation(self, request: Request, token: str) -> Response:
        found = await _opened(request, token)
        limit = request.app.state["settings"].max_upload_bytes
        refuse_large_body(request, limit * forms.MAX_FILES + FORM_LIMIT)
        form = await _checked_form(request)
        deletion = await get_deletion(found["obligation"])
        data, declaration, values, errors = forms.parse_confirmation(form, deletion, clock.today())
        files = await forms.evidence_files(form, limit, errors)
        if errors:
            if files or "evidence" not in errors:
                errors.setdefault(
                    "evidence", "Choose the files again: files are not kept when a form is returned."
                )
            return await _render(request, token, found, confirmation=(values, errors), status=400)
        rid = request.scope.get("state", {}).get("request_id")
        await submissions.submit_confirmation(found, data, declaration, files, _client(request), rid)
        return Redirect(f"/portal/{token}?done=confirmation", status_code=303, headers=HEADERS)

    @post("/{token:str}/{kind:str}", request_max_body_size=FORM_LIMIT)
    async def submit_note(self, request: Request, token: str, kind: str) -> Response:
        found = await _opened(request, token)
        if kind not in forms.NOTE_SCHEMAS:
            raise missing("No such form.")
        form = await _checked_form(request)
        schema, fields = forms.NOTE_SCHEMAS[kind]
        values = values_of(fields, form)
        ask, errors = validate(schema, fields, values)
        if errors:
            return await _render(request, token, found, **{kind: (values, errors)}, status=400)
        page = f"{request.app.state['settings'].document_base_url}/ui/deletions/{found['obligation']}"
        rid = request.scope.get("state", {}).get("request_id")
        await submissions.submit_note(found, ask, _client(request), page, rid)
        return Redirect(f"/portal/{token}?done={kind}", status_code=303, headers=HEADERS)


async def _checked_form(request: Request):
    form = await read_form(request)
    if not same_secret(form.get("csrf"), request.cookies.get(CSRF_COOKIE, "")):
        raise forbidden("The form has expired: reload the page and send it again.")
    return form


async def _render(
    request: Request, token: str, found: dict[str, Any], status: int = 200, notice=None, **forms_
):
    read = await requests.read(found["id"])
    asked = await requests.asked(found)
    answers = forms.subprocessor_fields(await get_deletion(found["obligation"]))
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    secure = request.app.state["settings"].document_base_url.startswith("https://")
    cookie = Cookie(
        key=CSRF_COOKIE, value=csrf, path="/portal", httponly=True, samesite="strict", secure=secure
    )
    empty = ({}, {})
    return _page(
        "portal.html.j2",
        status,
        cookies=[cookie],
        base=f"/portal/{token}",
        csrf=csrf,
        asked=asked,
        vr=read,
        awaiting=found["state"] in AWAITING,
        notice=notice if notice in ("confirmation", "extension", "question") else None,
        forms=forms,
        subprocessor_fields=answers,
        confirmation=forms_.get("confirmation", empty),
        extension=forms_.get("extension", empty),
        question=forms_.get("question", empty),
    )
