"""Every route of the app × every caller (no key, each role) → the status the roles promise.

Built from the app's own route table: a route added without an entry below fails this test.
"""

import re

import pytest
from litestar import Litestar, get
from litestar.exceptions import ImproperlyConfiguredException

from registry.auth import check_roles, needs
from registry.enums import Role

pytestmark = pytest.mark.anyio

PUBLIC = "public"
# Web pages take a person's session, never an API key: every API caller is sent to the sign-in page.
# Which role each page needs is tested with sessions in tests/test_web_authorization_matrix.py.
SESSION = "session"
SIGN_IN = "sign-in"  # the sign-in form: no form token and no credentials, so 403 whatever the API key
# (method, path as Litestar lists it) → the weakest role allowed, or PUBLIC.
MATRIX = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/swagger"): PUBLIC,
    ("GET", "/schema/oauth2-redirect.html"): PUBLIC,
    ("GET", "/schema/{path:str}"): PUBLIC,
    ("POST", "/attestations/verify"): PUBLIC,
    ("GET", "/attestations/{serial:str}/verify"): PUBLIC,
    ("GET", "/public/subprocessors"): PUBLIC,
    ("GET", "/public/subprocessors.html"): PUBLIC,
    ("GET", "/public/subprocessors/feed.json"): PUBLIC,
    ("GET", "/public/subprocessors/feed.atom"): PUBLIC,
    ("GET", "/taxonomy/{kind:str}"): Role.lookup,
    ("GET", "/taxonomy/{kind:str}/tree"): Role.lookup,
    ("GET", "/lookup/recipients"): Role.lookup,
    ("GET", "/lookup/history"): Role.lookup,
    ("GET", "/lookup/vendors/{vendor_id:int}"): Role.lookup,
    ("POST", "/lookup/check"): Role.lookup,
    ("GET", "/vendors"): Role.viewer,
    ("GET", "/vendors/{vendor_id:int}"): Role.viewer,
    ("GET", "/contracts"): Role.viewer,
    ("GET", "/contracts/{contract_id:int}"): Role.viewer,
    ("GET", "/contracts/{contract_id:int}/document"): Role.viewer,
    ("GET", "/disclosures"): Role.viewer,
    ("GET", "/disclosures/{disclosure_id:int}"): Role.viewer,
    ("GET", "/disclosures/{disclosure_id:int}/transfer"): Role.viewer,
    ("GET", "/disclosures/{disclosure_id:int}/transfer/document"): Role.viewer,
    ("GET", "/deletions"): Role.viewer,
    ("GET", "/deletions/{obligation_id:int}"): Role.viewer,
    ("GET", "/attestations"): Role.viewer,
    ("GET", "/attestations/{serial:str}"): Role.viewer,
    ("GET", "/attestations/{serial:str}/pdf"): Role.viewer,
    ("GET", "/exports/recipients.csv"): Role.viewer,
    ("GET", "/exports/recipients.json"): Role.viewer,
    ("GET", "/exports/fides.yaml"): Role.viewer,
    ("GET", "/exports/recipients.pdf"): Role.viewer,
    ("GET", "/exports/register.json"): Role.viewer,
    ("GET", "/exports/register.xlsx"): Role.viewer,
    ("GET", "/exports/register.zip"): Role.viewer,
    ("GET", "/changes"): Role.viewer,
    ("GET", "/changes/verify"): Role.viewer,
    ("GET", "/changes/checkpoints"): PUBLIC,
    ("GET", "/contracts/{contract_id:int}/conformance"): Role.viewer,
    ("GET", "/vendors/{vendor_id:int}/conformance"): Role.viewer,
    ("GET", "/reports/supervision"): Role.viewer,
    ("GET", "/journal"): Role.viewer,
    ("GET", "/journal/{entry_id:int}"): Role.viewer,
    ("POST", "/journal"): Role.editor,
    ("POST", "/imports"): Role.editor,
    ("POST", "/imports/fides"): Role.editor,
    ("GET", "/imports/templates/{sheet:str}"): Role.viewer,
    ("GET", "/imports/templates.xlsx"): Role.viewer,
    ("POST", "/vendors"): Role.editor,
    ("PATCH", "/vendors/{vendor_id:int}"): Role.editor,
    ("DELETE", "/vendors/{vendor_id:int}"): Role.editor,
    ("GET", "/vendors/{vendor_id:int}/subprocessors"): Role.viewer,
    ("GET", "/vendors/{vendor_id:int}/subprocessors/tree"): Role.viewer,
    ("POST", "/vendors/{vendor_id:int}/subprocessors"): Role.editor,
    ("GET", "/subprocessor-engagements/{engagement_id:int}"): Role.viewer,
    ("GET", "/subprocessor-engagements/{engagement_id:int}/conformance"): Role.viewer,
    ("PATCH", "/subprocessor-engagements/{engagement_id:int}"): Role.editor,
    ("DELETE", "/subprocessor-engagements/{engagement_id:int}"): Role.editor,
    ("POST", "/subprocessor-engagements/{engagement_id:int}/end"): Role.editor,
    ("POST", "/subprocessor-engagements/{engagement_id:int}/objection"): Role.editor,
    ("POST", "/contracts"): Role.editor,
    ("PATCH", "/contracts/{contract_id:int}"): Role.editor,
    ("POST", "/contracts/{contract_id:int}/terminate"): Role.editor,
    ("PUT", "/contracts/{contract_id:int}/document"): Role.editor,
    ("POST", "/taxonomy/{kind:str}"): Role.editor,
    ("PATCH", "/taxonomy/{kind:str}/{key:str}"): Role.editor,
    ("DELETE", "/taxonomy/{kind:str}/{key:str}"): Role.editor,
    ("POST", "/disclosures"): Role.editor,
    ("PATCH", "/disclosures/{disclosure_id:int}"): Role.editor,
    ("POST", "/disclosures/{disclosure_id:int}/end"): Role.editor,
    ("PUT", "/disclosures/{disclosure_id:int}/transfer"): Role.editor,
    ("PUT", "/disclosures/{disclosure_id:int}/transfer/document"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/confirmations"): Role.editor,
    ("PUT", "/deletions/{obligation_id:int}/confirmations/{confirmation_id:int}/evidence"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/attestation"): Role.editor,
    ("GET", "/deletions/{obligation_id:int}/requests"): Role.viewer,
    ("POST", "/deletions/{obligation_id:int}/request"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/request/resend"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/request/cancel"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/submissions/{submission_id:int}/accept"): Role.editor,
    ("POST", "/deletions/{obligation_id:int}/submissions/{submission_id:int}/return"): Role.editor,
    # The vendor portal: no account; the token in the path opens one request (tests/test_portal.py).
    ("GET", "/portal/{token:str}"): PUBLIC,
    ("POST", "/portal/{token:str}/confirmation"): PUBLIC,
    ("POST", "/portal/{token:str}/{kind:str}"): PUBLIC,
    # Change notices (tests/test_subscribers.py): anyone subscribes; a token in the path opens the rest.
    ("POST", "/public/subscriptions"): PUBLIC,
    ("GET", "/public/subscribe"): PUBLIC,
    ("POST", "/public/subscribe"): PUBLIC,
    ("GET", "/public/confirm/{token:str}"): PUBLIC,
    ("POST", "/public/confirm/{token:str}"): PUBLIC,
    ("GET", "/public/unsubscribe/{token:str}"): PUBLIC,
    ("POST", "/public/unsubscribe/{token:str}"): PUBLIC,
    ("GET", "/public/object/{token:str}"): PUBLIC,
    ("POST", "/public/object/{token:str}"): PUBLIC,
    ("GET", "/objections"): Role.viewer,
    ("GET", "/ui/objections"): SESSION,
    ("GET", "/keys"): Role.admin,
    ("POST", "/keys"): Role.admin,
    ("POST", "/keys/{name:str}/revoke"): Role.admin,
    ("GET", "/webhooks"): Role.admin,
    ("POST", "/webhooks"): Role.admin,
    ("GET", "/webhooks/{webhook_id:int}"): Role.admin,
    ("PATCH", "/webhooks/{webhook_id:int}"): Role.admin,
    ("DELETE", "/webhooks/{webhook_id:int}"): Role.admin,
    ("POST", "/webhooks/{webhook_id:int}/rotate-secret"): Role.admin,
    ("POST", "/webhooks/{webhook_id:int}/test"): Role.admin,
    ("GET", "/webhooks/{webhook_id:int}/deliveries"): Role.admin,
    ("GET", "/mail/messages"): Role.editor,
    ("GET", "/mail/messages/{message_id:int}"): Role.editor,
    ("POST", "/mail/messages/{message_id:int}/retry"): Role.editor,
    ("POST", "/mail/test"): Role.admin,
    ("POST", "/attestations/{serial:str}/revoke"): Role.admin,
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): SIGN_IN,
    ("GET", "/ui/verify"): PUBLIC,
    ("POST", "/ui/verify"): PUBLIC,
    ("GET", "/ui/static/{file_path:path}"): PUBLIC,
    ("POST", "/ui/logout"): SESSION,
    ("GET", "/ui"): SESSION,
    ("GET", "/ui/vendors"): SESSION,
    ("GET", "/ui/contracts/{contract_id:int}/document"): SESSION,
    ("GET", "/ui/lookup/export/{fmt:str}"): SESSION,
    ("GET", "/ui/vendors/new"): SESSION,
    ("POST", "/ui/vendors/new"): SESSION,
    ("GET", "/ui/vendors/{vendor_id:int}"): SESSION,
    ("GET", "/ui/attestations/{serial:str}/pdf"): SESSION,
    ("GET", "/ui/lookup"): SESSION,
    ("GET", "/ui/vendors/{vendor_id:int}/contracts/new"): SESSION,
    ("POST", "/ui/vendors/{vendor_id:int}/contracts/new"): SESSION,
    ("GET", "/ui/vendors/{vendor_id:int}/disclosures/new"): SESSION,
    ("POST", "/ui/vendors/{vendor_id:int}/disclosures/new"): SESSION,
    ("GET", "/ui/contracts/{contract_id:int}/terminate"): SESSION,
    ("POST", "/ui/contracts/{contract_id:int}/terminate"): SESSION,
    ("GET", "/ui/deletions/{obligation_id:int}/confirm"): SESSION,
    ("POST", "/ui/deletions/{obligation_id:int}/confirm"): SESSION,
    ("POST", "/ui/deletions/{obligation_id:int}/attestation"): SESSION,
    ("GET", "/ui/vendors/{vendor_id:int}/subprocessors/new"): SESSION,
    ("POST", "/ui/vendors/{vendor_id:int}/subprocessors/new"): SESSION,
    ("GET", "/ui/subprocessor-engagements/{engagement_id:int}/objection"): SESSION,
    ("POST", "/ui/subprocessor-engagements/{engagement_id:int}/objection"): SESSION,
    ("GET", "/ui/vendors/{vendor_id:int}/edit"): SESSION,
    ("POST", "/ui/vendors/{vendor_id:int}/edit"): SESSION,
    ("GET", "/ui/contracts/{contract_id:int}/edit"): SESSION,
    ("POST", "/ui/contracts/{contract_id:int}/edit"): SESSION,
    ("GET", "/ui/disclosures/{disclosure_id:int}/edit"): SESSION,
    ("POST", "/ui/disclosures/{disclosure_id:int}/edit"): SESSION,
    ("GET", "/ui/disclosures/{disclosure_id:int}/transfer"): SESSION,
    ("POST", "/ui/disclosures/{disclosure_id:int}/transfer"): SESSION,
    ("POST", "/ui/vendors/{vendor_id:int}/journal"): SESSION,
    ("GET", "/ui/data"): SESSION,
    ("GET", "/ui/data/{name:str}"): SESSION,
    ("POST", "/ui/data/import"): SESSION,
    ("GET", "/ui/deletions/{obligation_id:int}"): SESSION,
    ("POST", "/ui/deletions/{obligation_id:int}/request/{action:str}"): SESSION,
    ("POST", "/ui/deletions/{obligation_id:int}/submissions/{submission_id:int}/{verdict:str}"): SESSION,
}
PARAMS = {
    "kind": "data-categories",
    "key": "user",
    "serial": "PRA-2000-000001",
    "name": "nobody",
    "path": "x",
    "file_path": "app.css",
    "sheet": "vendors",
    "fmt": "csv",
    "action": "resend",
    "verdict": "accept",
    "token": "not-a-token-of-any-request-at-all-xxxxxxxxx",
}


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS")
    }


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: "1" if m.group(2) == "int" else PARAMS[m.group(1)], path)


async def test_every_route_is_in_the_matrix(app):
    routes = app_routes(app)
    assert routes - MATRIX.keys() == set(), "add these routes to MATRIX"
    assert MATRIX.keys() - routes == set(), "these MATRIX entries match no route"


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX))
async def test_each_caller_gets_what_its_role_allows(client, auth, method, path):
    needed = MATRIX[(method, path)]
    url = concrete(path)
    callers: list[Role | None] = [None, *Role]
    for caller in callers:
        headers = auth(caller) if caller else {}
        response = await client.request(method, url, headers=headers, json={} if method != "GET" else None)
        status = response.status_code
        assert status < 500, (method, url, caller, response.text)
        if needed == PUBLIC:
            assert status not in (401, 403), (method, url, caller, status)
        elif needed == SESSION:
            assert status == 303, (method, url, caller, status)
            assert response.headers["location"].startswith("/ui/login?next="), (method, url, caller)
        elif needed == SIGN_IN:
            assert status == 403, (method, url, caller, status)
        elif caller is None:
            assert status == 401, (method, url, status)
        elif caller.rank < needed.rank:
            assert status == 403, (method, url, caller, status)
        else:
            assert status not in (401, 403), (method, url, caller, status, response.text)


def test_an_app_with_a_guarded_route_that_names_no_role_does_not_start():
    @get("/reports/unlisted")
    async def unlisted() -> None: ...

    @get("/reports/listed", opt=needs(Role.viewer))
    async def listed() -> None: ...

    @get("/public/anything")  # the middleware lets public paths through: no role needed
    async def public() -> None: ...

    check_roles(Litestar([listed, public]))
    with pytest.raises(ImproperlyConfiguredException, match=r"\['GET /reports/unlisted'\]"):
        check_roles(Litestar([listed, public, unlisted]))


async def test_a_route_that_names_no_role_is_refused_to_every_key(app, client, auth):
    """check_roles stops such an app from starting; were one ever registered later, it stays closed."""

    @get("/reports/unlisted")
    async def unlisted() -> dict:
        return {"reached": True}

    app.register(unlisted)
    for role in Role:
        response = await client.get("/reports/unlisted", headers=auth(role))
        assert response.status_code == 403, (role, response.text)
        assert response.json()["detail"] == "This route names no role: nobody may call it."
