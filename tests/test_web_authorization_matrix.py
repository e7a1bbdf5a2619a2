"""Every page and form of the web interface × every caller (nobody signed in, a person of each role).

Built from the app's own route table, as tests/test_authorization_matrix.py is for the API: a /ui route
added without an entry below fails this test.
"""

import re

import pytest

from registry.enums import Role
from registry.people.service import session, start_session
from registry.tables import Person
from registry.ui.controller import COOKIE
from tests.conftest import ended_contract
from tests.test_authorization_matrix import app_routes

pytestmark = pytest.mark.anyio

PUBLIC = "public"  # anyone, signed in or not
SIGN_IN = "sign-in"  # the sign-in form: refused (403) to everyone without the sign-in cookie's token
# (method, path as Litestar lists it) → the weakest role allowed, or PUBLIC / SIGN_IN.
PAGES = {
    ("GET", "/ui/login"): PUBLIC,
    ("POST", "/ui/login"): SIGN_IN,
    ("GET", "/ui/verify"): PUBLIC,
    ("POST", "/ui/verify"): PUBLIC,
    ("GET", "/ui/static/{file_path:path}"): PUBLIC,
    ("POST", "/ui/logout"): Role.lookup,
    ("GET", "/ui"): Role.lookup,
    ("GET", "/ui/lookup"): Role.lookup,
    ("GET", "/ui/lookup/export/{fmt:str}"): Role.lookup,
    ("GET", "/ui/vendors"): Role.viewer,
    ("GET", "/ui/vendors/{vendor_id:int}"): Role.viewer,
    ("GET", "/ui/attestations/{serial:str}/pdf"): Role.viewer,
    ("GET", "/ui/contracts/{contract_id:int}/document"): Role.viewer,
    ("GET", "/ui/data"): Role.viewer,
    ("GET", "/ui/objections"): Role.viewer,
    ("GET", "/ui/data/{name:str}"): Role.viewer,
    ("GET", "/ui/vendors/new"): Role.editor,
    ("POST", "/ui/vendors/new"): Role.editor,
    ("GET", "/ui/vendors/{vendor_id:int}/edit"): Role.editor,
    ("POST", "/ui/vendors/{vendor_id:int}/edit"): Role.editor,
    ("POST", "/ui/vendors/{vendor_id:int}/journal"): Role.editor,
    ("GET", "/ui/vendors/{vendor_id:int}/contracts/new"): Role.editor,
    ("POST", "/ui/vendors/{vendor_id:int}/contracts/new"): Role.editor,
    ("GET", "/ui/vendors/{vendor_id:int}/disclosures/new"): Role.editor,
    ("POST", "/ui/vendors/{vendor_id:int}/disclosures/new"): Role.editor,
    ("GET", "/ui/contracts/{contract_id:int}/edit"): Role.editor,
    ("POST", "/ui/contracts/{contract_id:int}/edit"): Role.editor,
    ("GET", "/ui/contracts/{contract_id:int}/terminate"): Role.editor,
    ("POST", "/ui/contracts/{contract_id:int}/terminate"): Role.editor,
    ("GET", "/ui/disclosures/{disclosure_id:int}/edit"): Role.editor,
    ("POST", "/ui/disclosures/{disclosure_id:int}/edit"): Role.editor,
    ("GET", "/ui/disclosures/{disclosure_id:int}/transfer"): Role.editor,
    ("POST", "/ui/disclosures/{disclosure_id:int}/transfer"): Role.editor,
    ("GET", "/ui/deletions/{obligation_id:int}/confirm"): Role.editor,
    ("POST", "/ui/deletions/{obligation_id:int}/confirm"): Role.editor,
    ("POST", "/ui/deletions/{obligation_id:int}/attestation"): Role.editor,
    ("GET", "/ui/vendors/{vendor_id:int}/subprocessors/new"): Role.editor,
    ("POST", "/ui/vendors/{vendor_id:int}/subprocessors/new"): Role.editor,
    ("GET", "/ui/subprocessor-engagements/{engagement_id:int}/objection"): Role.editor,
    ("POST", "/ui/subprocessor-engagements/{engagement_id:int}/objection"): Role.editor,
    ("POST", "/ui/data/import"): Role.editor,
    ("GET", "/ui/deletions/{obligation_id:int}"): Role.viewer,
    ("POST", "/ui/deletions/{obligation_id:int}/request/{action:str}"): Role.editor,
    ("POST", "/ui/deletions/{obligation_id:int}/submissions/{submission_id:int}/{verdict:str}"): Role.editor,
}
# Path parameters: the records ended_contract() makes are number 1; the rest name real things.
PARAMS = {
    "file_path": "app.css",
    "serial": "PRA-2000-000001",
    "name": "recipients.csv",
    "fmt": "csv",
    "action": "resend",
    "verdict": "accept",
}


def ui_routes(app) -> set[tuple[str, str]]:
    return {(method, path) for method, path in app_routes(app) if path == "/ui" or path.startswith("/ui/")}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: "1" if m.group(2) == "int" else PARAMS[m.group(1)], path)


async def sessions() -> dict[Role, tuple[str, str]]:
    """A signed-in person of each role → (session cookie token, its CSRF token)."""
    found = {}
    for role in Role:
        # Inserted directly: what is under test is the pages' role checks, not signing in (test_web.py).
        [person] = await Person.insert(
            Person(name=f"{role.value}-person", role=role.value, password_hash="-", created_by="test-setup")
        ).returning(Person.id)
        token = await start_session(person["id"])
        _, csrf = await session(token)
        found[role] = (token, csrf)
    return found


async def test_every_page_is_in_the_table(app):
    routes = ui_routes(app)
    assert routes - PAGES.keys() == set(), "add these web routes to PAGES"
    assert PAGES.keys() - routes == set(), "these PAGES entries match no route"


@pytest.mark.parametrize(("method", "path"), sorted(PAGES, key=lambda route: (route[1], route[0])))
async def test_each_person_gets_what_their_role_allows(client, auth, method, path):
    await ended_contract(client, auth)  # vendor 1, contract 1 (ended), disclosure 1, deletion 1
    people = await sessions()
    needed, url = PAGES[(method, path)], concrete(path)
    for caller in [None, *Role]:
        client.cookies.clear()
        token, csrf = people[caller] if caller else ("", "")
        headers = {"Cookie": f"{COOKIE}={token}"} if caller else {}
        data = {"csrf": csrf} if method == "POST" else None
        response = await client.request(method, url, headers=headers, data=data)
        status, seen = response.status_code, (method, url, caller, response.status_code)
        assert status < 500, (*seen, response.text)
        if needed == PUBLIC:
            assert status not in (401, 403), seen
        elif needed == SIGN_IN:
            assert status == 403 and "The sign-in form has expired" in response.text, seen
        elif caller is None:
            assert status == 303, seen
            assert response.headers["location"].startswith("/ui/login?next="), seen
        elif caller.rank < needed.rank:
            assert status == 403, seen
            assert f"This page needs the {needed.value} role" in response.text, seen
        else:
            assert status not in (401, 403), (*seen, response.text)
            assert status < 300 or status in (303, 400, 404, 409, 422), (*seen, response.text)
