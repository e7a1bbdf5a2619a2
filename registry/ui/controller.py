"""The web interface: server-rendered pages for the legal team, signed in with a name and password.

Every page works without JavaScript. Pages are not part of the OpenAPI (they are not an API); they call
the same service functions as the API, so the same rules and the same change log apply.
"""

import re
import secrets
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.response import Redirect, Template
from pydantic import ValidationError

from registry import clock, db, words
from registry.attestations import service as attestations
from registry.attestations.serials import serials_in
from registry.auth import Actor
from registry.changes.service import timeline
from registry.contracts.conformance import CLAUSES
from registry.contracts.service import ContractFilter, list_contracts, vendor_conformance
from registry.deletions.service import DeletionFilter, list_deletions, open_expired
from registry.disclosures.service import DisclosureFilter, list_disclosures
from registry.enums import DeletionStatus, JournalKind, Role, TaxonomyKind, VendorKind, VendorStatus
from registry.errors import RegistryError, invalid
from registry.exports.lookup import answer_of, question_of
from registry.http import read_form
from registry.journal.schemas import JournalCreate
from registry.journal.service import JournalFilter, add_entry, list_entries, vendor_of
from registry.mail.service import outbox_health
from registry.notices.objections import count_objections
from registry.people import service as people
from registry.ratelimit import RateLimiter
from registry.subprocessors.reads import engaged_as_subprocessor
from registry.subprocessors.reads import tree as subprocessor_tree
from registry.supervision.schemas import ItemKind, Severity
from registry.supervision.service import supervision_report
from registry.taxonomy.service import tree
from registry.transfers.service import transfer_states
from registry.ui.actions import action_for
from registry.ui.pages import (
    COOKIE,
    FORM_LIMIT,
    PAGE_ERRORS,
    UPLOAD_CAP,
    SignInRequired,
    bounded_id,
    check_csrf,
    notice_redirect,
    refuse_large_body,
    render_page,
    same_secret,
    signed_in,
    write_context,
)
from registry.vendors.service import VendorFilter, get_vendor, list_vendors

DASHBOARD_ITEMS = 50
LOOKUP_ROWS = 1000  # disclosures the lookup page shows; its exports hold more
ITEM_LABELS = {
    ItemKind.deletion_overdue: "Deletion overdue",
    ItemKind.backup_follow_up_missing: "Backups not followed up",
    ItemKind.no_equivalent_confidentiality: "No equivalent confidentiality (§6.1)",
    ItemKind.consent_without_reference: "Consent not referenced",
    ItemKind.contract_clauses_missing: "Contract lacks clauses",
    ItemKind.review_overdue: "Review due",
    ItemKind.deletion_due: "Deletion due",
    ItemKind.contract_expiring: "Contract ending",
    ItemKind.vendor_not_answering: "Vendor has not answered",
    ItemKind.vendor_cannot_be_asked: "Vendor cannot be asked",
    ItemKind.transfer_without_mechanism: "Transfer without a mechanism",
    ItemKind.transfer_assessment_missing: "Transfer impact assessment missing",
    ItemKind.transfer_assessment_overdue: "Transfer impact assessment overdue",
    ItemKind.transfer_consent_missing: "Transfer without separate consent (PIPL Art. 39)",
    ItemKind.transfer_filing_missing: "Standard contract not filed",
    ItemKind.flow_down_gap: "Sub-processor contract falls short (Art. 28(4))",
}
LOGIN_COOKIE = "registry_sign_in"


async def _form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _login_page(request: Request, status: int, target: str, name: str, error: str | None) -> Template:
    """The sign-in form with a token that must come back both in the form and in a cookie (another
    site can make a browser post the form, but cannot read or set the cookie)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}", token):
        token = secrets.token_urlsafe(32)
    page = render_page(request, "login.html.j2", status, next=target, name=name, error=error, csrf=token)
    page.set_cookie(
        key=LOGIN_COOKIE, value=token, path="/ui/login", httponly=True, samesite="strict", max_age=3600
    )
    return page


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no host, no '//' trick)."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/ui/"
    return target


def _errors(error: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "form"
        found.setdefault(field, item["msg"].removeprefix("Value error, "))
    return found


class WebController(Controller):
    path = "/ui"
    include_in_schema = False
    exception_handlers = PAGE_ERRORS  # noqa: RUF012 - Litestar reads it from the class

    # --- signing in -------------------------------------------------------------------------------

    @get("/login")
    async def login_page(
        self, request: Request, next_: Annotated[str | None, Parameter(query="next")] = None
    ) -> Template:
        return _login_page(request, 200, _safe_next(next_), "", None)

    @post("/login", request_max_body_size=FORM_LIMIT)
    async def login(self, request: Request) -> Response:
        form = await _form(request)
        name, target = form.get("name", "")[:100], _safe_next(form.get("next"))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not same_secret(form.get("csrf"), expected):  # login CSRF: double-submit token
            error = "The sign-in form has expired: please sign in again."
            return _login_page(request, 403, target, name, error)
        limiter: RateLimiter = request.app.state["login_limiter"]
        client = request.client.host if request.client else "unknown"
        try:
            limiter.check(f"address:{client}")
            limiter.check(f"name:{name}")
        except RegistryError as throttled:
            return _login_page(request, 429, target, name, throttled.detail)
        person = await people.authenticate(name, form.get("password", ""))
        if person is None:
            error = "The name or password is wrong."
            return _login_page(request, 401, target, name, error)
        token = await people.start_session(person["id"])
        # Behind a TLS-terminating proxy the request arrives over HTTP: the public address decides too.
        public = request.app.state["settings"].document_base_url
        secure = request.url.scheme == "https" or public.startswith("https://")
        cookie = Cookie(
            key=COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
            max_age=people.SESSION_HOURS * 3600,
        )
        response = Redirect(target, status_code=303, cookies=[cookie])
        response.delete_cookie(LOGIN_COOKIE, path="/ui/login")
        return response

    @post("/logout", request_max_body_size=FORM_LIMIT)
    async def logout(self, request: Request) -> Response:
        _, csrf = await signed_in(request, Role.lookup)
        check_csrf(await _form(request), csrf)
        await people.end_session(request.cookies[COOKIE])
        response = Redirect("/ui/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # --- pages -------------------------------------------------------------------------------------

    @get("/")
    async def dashboard(self, request: Request) -> Response:
        actor, csrf = await signed_in(request, Role.lookup)
        if not actor.has(Role.viewer):
            return Redirect("/ui/lookup", status_code=303)
        # As GET /deletions does: expired contracts open their obligations, recorded as the system's.
        await open_expired(write_context(request, actor).request_id)
        report = await supervision_report(
            first_review_days=request.app.state["settings"].first_review_grace_days
        )
        confirmed, _ = await list_deletions(DeletionFilter(status=DeletionStatus.confirmed))
        mail = await outbox_health(request.app.state["settings"])
        # Each group shows its most urgent items; the API has them all.
        groups = []
        for severity in Severity:
            found = [item for item in report.items if item.severity is severity]
            groups.append((severity, found[:DASHBOARD_ITEMS], len(found)))
        return render_page(
            request,
            "dashboard.html.j2",
            actor=actor,
            csrf=csrf,
            report=report,
            groups=groups,
            labels=ITEM_LABELS,
            action_for=action_for,
            confirmed=confirmed,
            words=await words.load(),
            mail=mail,
            objections=await count_objections(),
        )

    @get("/vendors")
    async def vendors(
        self,
        request: Request,
        q: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        conformance: str | None = None,
        page: int = 1,
    ) -> Template:
        actor, csrf = await signed_in(request, Role.viewer)
        kind_ = kind if kind in {k.value for k in VendorKind} else None
        status_ = status if status in {s.value for s in VendorStatus} else None
        conformance_ = conformance if conformance in ("gaps", "complete") else None
        page = min(max(page, 1), 10_000)
        found, total = await list_vendors(
            VendorFilter(
                q=(q or "").strip()[:200] or None,
                kind=VendorKind(kind_) if kind_ else None,
                status=VendorStatus(status_) if status_ else None,
                conformance=conformance_,
                limit=50,
                offset=(page - 1) * 50,
            )
        )
        return render_page(
            request,
            "vendors.html.j2",
            actor=actor,
            csrf=csrf,
            vendors=found,
            words=words.Words({}),  # vendor kinds only: fixed names, no taxonomy needed
            total=total,
            page=page,
            q=q or "",
            kind=kind_ or "",
            status=status_ or "",
            conformance=conformance_ or "",
            kinds=[k.value for k in VendorKind],
            statuses=[s.value for s in VendorStatus],
        )

    @get("/vendors/{vendor_id:int}")
    async def vendor(self, request: Request, vendor_id: int, note: str | None = None) -> Template:
        actor, csrf = await signed_in(request, Role.viewer)
        # ?note=review: the dashboard's "Record a review" opens the journal form with that kind chosen.
        kind = note if note in {k.value for k in JournalKind} else "info"
        return await vendor_page(request, actor, csrf, bounded_id(vendor_id), note_kind=kind)

    @post("/vendors/{vendor_id:int}/journal", request_max_body_size=FORM_LIMIT)
    async def add_note(self, request: Request, vendor_id: int) -> Response:
        actor, csrf = await signed_in(request, Role.editor)
        vendor_id = bounded_id(vendor_id)
        form = await _form(request)
        check_csrf(form, csrf)
        values = {k: form.get(k, "") for k in ("about", "kind", "text")}
        object_type, _, object_id = values["about"].partition(":")
        body = {
            "object_type": object_type,
            "object_id": object_id,
            "kind": values["kind"],
            "text": values["text"],
        }
        errors: dict[str, str] = {}
        try:
            data = JournalCreate.model_validate(body)
            if await vendor_of(data.object_type, data.object_id) != vendor_id:
                raise invalid("object_id", "of_vendor", "choose one of this vendor's records")
            await add_entry(write_context(request, actor), data)
        except ValidationError as error:
            errors = _errors(error)
        except RegistryError as error:
            errors = {(error.errors[0].field if error.errors else "text"): error.detail}
        if errors:
            # object_type/object_id are both chosen by the one "about" control.
            for name in ("object_type", "object_id"):
                if name in errors:
                    errors["about"] = errors.pop(name)
            return await vendor_page(request, actor, csrf, vendor_id, 400, note=values, note_errors=errors)
        return notice_redirect(f"/ui/vendors/{vendor_id}#journal", "note")

    @get("/attestations/{serial:str}/pdf")
    async def attestation_pdf(self, request: Request, serial: str) -> Response:
        await signed_in(request, Role.viewer)
        document = await attestations.get_pdf(serial[:40])
        return Response(
            content=document,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{quote(serial[:40])}.pdf"'},
        )

    @get("/lookup")
    async def lookup_page(
        self,
        request: Request,
        category: str | None = None,
        as_of: str | None = None,
        from_: Annotated[str | None, Parameter(query="from")] = None,
        to: str | None = None,
    ) -> Template:
        actor, csrf = await signed_in(request, Role.lookup)
        categories = await tree(TaxonomyKind.data_category)
        result, error, question = None, None, None
        if category or from_ or to or as_of:
            try:
                question = question_of(category, as_of, from_, to)
                result = await answer_of(question, LOOKUP_ROWS)
            except RegistryError as failed:
                error = failed.errors[0].message if failed.errors else failed.detail
        asked = {"category": category or "", "as_of": as_of or "", "from": from_ or "", "to": to or ""}
        if not (from_ or to) and not as_of:
            asked["as_of"] = clock.today().isoformat()
        return render_page(
            request,
            "lookup.html.j2",
            actor=actor,
            csrf=csrf,
            categories=categories,
            category=category or "",
            asked=asked,
            as_of=asked["as_of"],
            question=question if result else None,
            export_query=urlencode({k: v for k, v in asked.items() if v}),
            result=result,
            error=error,
            words=await words.load() if result else None,
        )

    # --- public ------------------------------------------------------------------------------------

    @get("/verify")
    async def verify_page(self, request: Request) -> Template:
        return render_page(request, "verify.html.j2", verdict=None, error=None)

    @post("/verify", request_max_body_size=UPLOAD_CAP)
    async def verify_upload(self, request: Request) -> Template:
        settings = request.app.state["settings"]
        client = request.client.host if request.client else "unknown"
        try:
            request.app.state["verify_limiter"].check(client)
        except RegistryError as throttled:
            return render_page(request, "verify.html.j2", 429, verdict=None, error=throttled.detail)
        limit = settings.max_upload_bytes // (1024 * 1024)
        try:
            refuse_large_body(request, settings.max_upload_bytes + FORM_LIMIT)
        except RegistryError:
            return render_page(
                request, "verify.html.j2", 413, verdict=None, error=f"The file is over {limit} MiB."
            )
        form = await read_form(request)
        upload = form.get("document")
        document = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        if len(document) > settings.max_upload_bytes:
            return render_page(
                request, "verify.html.j2", 413, verdict=None, error=f"The file is over {limit} MiB."
            )
        if not document.startswith(b"%PDF-"):
            return render_page(
                request, "verify.html.j2", 400, verdict=None, error="Choose the attestation's PDF file."
            )
        verdict = await attestations.verify_pdf(
            document, request.app.state["pdf_pool"].check_signature, serials_in
        )
        return render_page(request, "verify.html.j2", verdict=verdict, error=None)


async def vendor_page(
    request: Request,
    actor: Actor,
    csrf: str,
    vendor_id: int,
    http_status: int = 200,
    note: dict[str, str] | None = None,
    note_errors: dict[str, str] | None = None,
    note_kind: str = "info",
) -> Template:
    async with db.read_session():
        vendor = await get_vendor(vendor_id)
        contracts, _ = await list_contracts(ContractFilter(vendor_id=vendor_id, limit=500))
        disclosures, _ = await list_disclosures(DisclosureFilter(vendor_id=vendor_id, limit=500))
        deletions, _ = await list_deletions(DeletionFilter(vendor_id=vendor_id, limit=500))
        issued, _ = await attestations.list_attestations(request.app.state["settings"], vendor_id, 500, 0)
        notes, notes_total = await list_entries(JournalFilter(vendor_id=vendor_id, limit=200))
        names_of = await words.load()
        transfers = await transfer_states(disclosures, clock.today())
        # The vendor's history with that of its contracts, disclosures, deletions and attestations.
        objects = {
            "vendor": [str(vendor_id)],
            "contract": [str(c.id) for c in contracts],
            "disclosure": [str(d.id) for d in disclosures],
            "deletion_obligation": [str(d.id) for d in deletions],
            "attestation": [a.serial for a in issued],
            "journal_entry": [str(n.id) for n in notes],
        }
        chain_tree = await subprocessor_tree(vendor_id)
        engaged_as = await engaged_as_subprocessor(vendor_id)
        engagements = engaged_as + [c.engagement for c in chain_tree.subprocessors]
        objects["subprocessor_engagement"] = [str(e.id) for e in engagements]
        history = await timeline(objects)
    conformance = await vendor_conformance(vendor_id)
    names = words.record_names(names_of, vendor, contracts, disclosures, deletions, issued, notes)
    names |= {
        (
            "subprocessor_engagement",
            str(e.id),
        ): f"the engagement of “{e.subprocessor_name}” by “{e.engaged_by_name}”"
        for e in engagements
    }
    # What a note can be about: the vendor and each of its records.
    about = [(f"vendor:{vendor.id}", f"The vendor, {vendor.name}")]
    about += [(f"contract:{c.id}", f"Contract: {c.title}") for c in contracts]
    about += [(f"deletion:{d.id}", "T" + names[("deletion", str(d.id))][1:]) for d in deletions]
    about += [(f"attestation:{a.id}", f"Attestation {a.serial}") for a in issued]
    return render_page(
        request,
        "vendor.html.j2",
        http_status,
        actor=actor,
        csrf=csrf,
        vendor=vendor,
        contracts=contracts,
        disclosures=disclosures,
        transfers=transfers,
        deletions=deletions,
        attestations=issued,
        words=names_of,
        names=names,
        contract_titles={c.id: c.title for c in contracts},
        timeline=history,
        conformance=conformance,
        clauses={c.id: c for c in CLAUSES},
        notes=notes,
        notes_total=notes_total,
        about=about,
        note_kinds=[k.value for k in JournalKind],
        note=note or {"about": f"vendor:{vendor.id}", "kind": note_kind, "text": ""},
        note_errors=note_errors or {},
        chain_tree=chain_tree,
        engaged_as=engaged_as,
    )


def sign_in_redirect(request: Request, _: SignInRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"/ui/login?next={quote(target)}", status_code=303)
