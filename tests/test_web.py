"""The web interface through HTTP: signing in, sessions, CSRF, forms that keep what was typed, escaping,
throttling and roles. (tests/test_browser.py drives the same pages in Chromium.)"""

import hashlib
import re

import httpx
import pytest

from registry.app import create_app
from registry.auth import WriteContext
from registry.enums import Role
from registry.people.service import create_person
from registry.tables import Change, Person, Vendor, WebSession
from tests.conftest import make_contract, make_disclosure, make_vendor, run_cli

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def people(app):
    ctx = WriteContext(actor="test-setup")
    for role in Role:
        await create_person(ctx, f"{role.value}-person", role, PASSWORD)


async def sign_in(client, name="editor-person", password=PASSWORD, next_="/ui/"):
    form = await client.get("/ui/login")
    body = {"name": name, "password": password, "next": next_, "csrf": csrf_of(form.text)}
    return await client.post("/ui/login", data=body)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def test_pages_need_a_session(client):
    response = await client.get("/ui/vendors?q=acme")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=/ui/vendors%3Fq%3Dacme"
    login = await client.get("/ui/login?next=/ui/vendors")
    assert login.status_code == 200
    assert 'name="next" value="/ui/vendors"' in login.text


async def test_api_keys_do_not_open_pages(client, auth):
    response = await client.get("/ui/vendors", headers=auth("admin"))
    assert response.status_code == 303


async def test_sign_in_sets_a_safe_cookie_and_stores_only_its_hash(client, people):
    response = await sign_in(client, next_="/ui/vendors")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/vendors"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Path=/" in cookie
    token = re.search(r"registry_session=([^;]+)", cookie).group(1)
    stored = await WebSession.select(WebSession.token_hash)
    assert [s["token_hash"] for s in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    page = await client.get("/ui/vendors")
    assert page.status_code == 200
    assert "editor-person" in page.text


async def test_password_is_stored_as_argon2id(people):
    row = await Person.select(Person.password_hash).where(Person.name == "viewer-person").first()
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]


async def test_wrong_password_keeps_the_name_and_says_so(client, people):
    response = await sign_in(client, password="wrong password here")
    assert response.status_code == 401
    assert "The name or password is wrong." in response.text
    assert 'value="editor-person"' in response.text
    assert "registry_session" not in response.headers.get("set-cookie", "")
    unknown = await sign_in(client, name="nobody")
    assert unknown.status_code == 401


async def test_failed_sign_ins_are_throttled(client, people):
    statuses = [(await sign_in(client, password=f"wrong password {n}")).status_code for n in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert "try again in" in (await sign_in(client)).text  # even the right password waits


async def test_next_never_leaves_the_site(client, people):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = await sign_in(client, next_=target)
        assert response.headers["location"] == "/ui/", target
        client.cookies.clear()


async def test_forms_need_the_sessions_csrf_token(client, people):
    await sign_in(client)
    response = await client.post("/ui/vendors/new", data={"name": "Acme", "kind": "agent", "country": "DE"})
    assert response.status_code == 403
    forged = await client.post(
        "/ui/vendors/new", data={"name": "Acme", "kind": "agent", "country": "DE", "csrf": "guess"}
    )
    assert forged.status_code == 403
    assert await Vendor.count() == 0


async def test_create_vendor_names_the_person_in_the_change_log(client, people):
    await sign_in(client)
    form = await client.get("/ui/vendors/new")
    body = {"name": "Acme Hosting", "kind": "service_provider", "country": "de", "csrf": csrf_of(form.text)}
    response = await client.post("/ui/vendors/new", data=body)
    assert response.status_code == 303
    vendor = await Vendor.select(Vendor.id, Vendor.country).where(Vendor.name == "Acme Hosting").first()
    assert response.headers["location"] == f"/ui/vendors/{vendor['id']}"
    assert vendor["country"] == "DE"
    change = await Change.select(Change.actor).where(Change.object_type == "vendor").first()
    assert change["actor"] == "person:editor-person"
    page = await client.get(response.headers["location"])
    # The history says it in words: who did what to which record (issue 21).
    assert (
        "Acme Hosting" in page.text and "editor-person added the vendor “Acme Hosting” — <time" in page.text
    )


async def test_a_rejected_form_keeps_what_was_typed_and_marks_the_field(client, people):
    await sign_in(client)
    csrf = csrf_of((await client.get("/ui/vendors/new")).text)
    body = {"name": "Acme Hosting", "kind": "agent", "country": "XX", "notes": "line one", "csrf": csrf}
    response = await client.post("/ui/vendors/new", data=body)
    assert response.status_code == 400
    assert 'id="country-error"' in response.text
    assert 'aria-invalid="true" aria-describedby="country-error"' in response.text
    assert 'value="Acme Hosting"' in response.text and "line one</textarea>" in response.text
    assert '<option value="agent" selected>' in response.text
    assert await Vendor.count() == 0
    taken = await make_vendor_via_form(client, csrf, "Acme Hosting")
    again = await client.post("/ui/vendors/new", data={**body, "country": "DE"})
    assert taken.status_code == 303 and again.status_code == 409
    assert 'id="name-error"' in again.text


async def make_vendor_via_form(client, csrf, name):
    return await client.post(
        "/ui/vendors/new", data={"name": name, "kind": "agent", "country": "DE", "csrf": csrf}
    )


async def test_user_text_is_shown_as_text(client, auth, people):
    await make_vendor(client, auth, name="<script>alert(1)</script>", notes="<b>bold</b> & more")
    await sign_in(client, name="viewer-person")
    listing = await client.get("/ui/vendors")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text
    assert "<script>alert(1)" not in listing.text


async def test_roles_apply_to_pages(client, people):
    await sign_in(client, name="viewer-person")
    assert (await client.get("/ui/vendors")).status_code == 200
    assert (await client.get("/ui/vendors/new")).status_code == 403
    client.cookies.clear()
    await sign_in(client, name="lookup-person")
    assert (await client.get("/ui/vendors")).status_code == 403
    dashboard = await client.get("/ui/")
    assert dashboard.status_code == 303 and dashboard.headers["location"] == "/ui/lookup"
    assert (await client.get("/ui/lookup")).status_code == 200


async def test_sign_out_ends_the_session(client, people):
    await sign_in(client)
    page = await client.get("/ui/vendors")
    response = await client.post("/ui/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert await WebSession.count() == 0
    assert (await client.get("/ui/vendors")).status_code == 303


async def test_lookup_page_answers_who_held_a_category(client, auth, people):
    acme = await make_vendor(client, auth, name="Acme")
    dpa = await make_contract(client, auth, acme["id"], reference="DPA-1", effective_from="2025-01-01")
    await make_disclosure(client, auth, acme["id"], dpa["id"], valid_from="2025-02-01")
    await sign_in(client, name="lookup-person")
    page = await client.get("/ui/lookup", params={"category": "user.contact", "as_of": "2025-06-01"})
    assert page.status_code == 200
    assert (
        '1 recipient disclosure of Contact Data <small class="key">(user.contact)</small> on 1 Jun 2025'
        in page.text
    )
    assert "Acme" in page.text and "DPA-1" in page.text
    before = await client.get("/ui/lookup", params={"category": "user.contact", "as_of": "2025-01-31"})
    assert "0 recipient disclosures" in before.text
    bad = await client.get("/ui/lookup", params={"category": "user.nothing", "as_of": "2025-06-01"})
    assert bad.status_code == 200 and "not in the data_category taxonomy" in bad.text
    bad_day = await client.get("/ui/lookup", params={"category": "user.contact", "as_of": "2025-13-01"})
    assert "The date must be written YYYY-MM-DD." in bad_day.text


async def test_verify_page_is_public_and_refuses_non_pdfs(client):
    page = await client.get("/ui/verify")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    response = await client.post("/ui/verify", files={"document": ("x.pdf", b"hello", "application/pdf")})
    assert response.status_code == 400
    assert "Choose the attestation" in response.text
    unknown = await client.post(
        "/ui/verify", files={"document": ("x.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")}
    )
    assert unknown.status_code == 200 and "Not issued here" in unknown.text


async def test_a_person_made_by_the_cli_gets_the_production_argon2id_profile(app, database_url):
    """The test process hashes cheaply (tests/harness.py); the CLI, a process of its own, must not."""
    run_cli(
        database_url,
        "people",
        "create",
        "ana",
        "--role",
        "viewer",
        "--password-stdin",
        input_=PASSWORD,
        fresh=True,
    )
    row = await Person.select(Person.password_hash).where(Person.name == "ana").first()
    assert row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in row["password_hash"]


async def test_users_create_from_the_cli(database_url):
    done = run_cli(
        database_url, "users", "create", "ana", "--role", "editor", "--password-stdin", input_=PASSWORD
    )
    assert "person 'ana' (editor) created" in done.stdout
    short = run_cli(
        database_url,
        "users",
        "create",
        "bob",
        "--role",
        "editor",
        "--password-stdin",
        input_="short",
        check=False,
    )
    assert short.returncode == 1
    assert "12 to 1024 characters" in short.stderr
    again = run_cli(
        database_url,
        "users",
        "create",
        "ana",
        "--role",
        "viewer",
        "--password-stdin",
        input_=PASSWORD,
        check=False,
    )
    assert again.returncode == 1 and "exists already" in again.stderr


async def test_the_whole_record_through_forms(client, people, tmp_path):
    """Vendor → contract with its document → disclosure from the category tree → termination →
    confirmation → attestation, each through its page, each change named after the person."""
    await sign_in(client)
    csrf = csrf_of((await client.get("/ui/vendors/new")).text)
    created = await make_vendor_via_form(client, csrf, "Acme Hosting")
    vendor_url = created.headers["location"]
    vendor_id = int(vendor_url.rsplit("/", 1)[1])

    contract_url = f"/ui/vendors/{vendor_id}/contracts/new"
    assert "Signed contract" in (await client.get(contract_url)).text
    fields = {
        "csrf": csrf,
        "kind": "dpa",
        "title": "Data processing agreement",
        "reference": "DPA-3",
        "signed_on": "2025-01-01",
        "effective_from": "2025-01-01",
        "confidentiality_equivalent": "on",
        "backups_covered": "on",
        "deletion_deadline_days": "30",
        "end_of_contract": "delete",
    }
    wrong_file = await client.post(
        contract_url, data=fields, files={"document": ("dpa.pdf", b"MZ not a pdf", "application/pdf")}
    )
    assert wrong_file.status_code == 400 and 'id="document-error"' in wrong_file.text
    assert 'value="DPA-3"' in wrong_file.text  # what was typed is kept
    saved = await client.post(
        contract_url, data=fields, files={"document": ("dpa.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")}
    )
    assert saved.status_code == 303, saved.text
    page = await client.get(vendor_url)
    assert "DPA-3" in page.text and "dpa.pdf" in page.text
    contract_id = int(re.search(r"/ui/contracts/(\d+)/terminate", page.text).group(1))

    disclosure_url = f"/ui/vendors/{vendor_id}/disclosures/new"
    form = (await client.get(disclosure_url)).text
    assert 'value="user.contact.email"' in form and 'value="essential.service"' in form
    body = {
        "csrf": csrf,
        "contract_id": str(contract_id),
        "basis": "contract",
        "purpose": "essential.service",
        "categories": ["user.contact.email", "user.name"],
        "data_subjects": ["customer"],
        "valid_from": "2025-02-01",
    }
    missing = await client.post(disclosure_url, data={**body, "categories": []})
    assert missing.status_code == 400 and 'id="categories-error"' in missing.text
    assert (await client.post(disclosure_url, data=body)).status_code == 303
    page = await client.get(vendor_url)
    assert "user.contact.email, user.name" in page.text

    terminate_url = f"/ui/contracts/{contract_id}/terminate"
    early = await client.post(terminate_url, data={"csrf": csrf, "terminated_on": "", "reason": "x"})
    assert early.status_code == 400 and 'id="terminated_on-error"' in early.text
    ended = await client.post(
        terminate_url, data={"csrf": csrf, "terminated_on": "2025-06-30", "reason": "moved"}
    )
    assert ended.status_code == 303
    page = await client.get(vendor_url)
    deletion_id = int(re.search(r"/ui/deletions/(\d+)/confirm", page.text).group(1))

    confirm_url = f"/ui/deletions/{deletion_id}/confirm"
    confirmation = {
        "csrf": csrf,
        "performed_by.name": "Ana Ruiz",
        "performed_by.title": "Head of IT",
        "performed_by.organisation": "Acme Hosting GmbH",
        "verified_by.name": "Tom Lee",
        "verified_by.title": "DPO",
        "verified_by.organisation": "Acme Hosting GmbH",
        "method_category": "purge",
        "technique": "cryptographic_erase",
        "systems": "Support desk\nMail archive",
        "backups_handling": "Backup keys destroyed",
        "completed_on": "2025-07-10",
        "verification_method": "Sampled 50 ids",
        "verification_result": "No records found",
        "verification_outcome": "passed",
    }
    bad = await client.post(
        confirm_url, data={**confirmation, "verified_by.name": "", "method_category": "x"}
    )
    assert bad.status_code == 400
    assert 'id="verified_by-name-error"' in bad.text and 'id="method_category-error"' in bad.text
    assert "Support desk\nMail archive</textarea>" in bad.text
    no_expiry = await client.post(confirm_url, data=confirmation)  # backups are in scope: say until when
    assert no_expiry.status_code == 400 and 'id="last_backup_expires_on-error"' in no_expiry.text
    confirmation["last_backup_expires_on"] = "2025-09-30"
    recorded = await client.post(confirm_url, data=confirmation)
    assert recorded.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]+)", recorded.text)

    issued = await client.post(f"/ui/deletions/{deletion_id}/attestation", data={"csrf": csrf})
    assert issued.status_code == 303
    page = await client.get(vendor_url)
    serial = re.search(r"(PRA-\d{4}-\d{6})", page.text).group(1)
    # The vendor's history, in words (issue 21).
    assert "editor-person terminated the contract “Data processing agreement”" in page.text
    assert f"editor-person issued the attestation {serial}" in page.text
    document = await client.get(f"/ui/attestations/{serial}/pdf")
    assert document.status_code == 200 and document.content.startswith(b"%PDF-")
    actors = {row["actor"] for row in await Change.select(Change.actor).where(Change.actor.like("person:%"))}
    assert actors == {"person:editor-person"}
    kinds = {
        row["object_type"]
        for row in await Change.select(Change.object_type).where(Change.actor == "person:editor-person")
    }
    assert {"vendor", "contract", "disclosure", "deletion_obligation", "attestation"} <= kinds


async def test_errors_on_pages_are_pages(client, people):
    await sign_in(client, name="viewer-person")
    missing = await client.get("/ui/vendors/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Back to the dashboard" in missing.text
    forbidden = await client.get("/ui/vendors/new")
    assert forbidden.status_code == 403 and "needs the editor role" in forbidden.text
    assert forbidden.headers["content-type"].startswith("text/html")


async def test_cookie_is_secure_when_the_public_address_is_https(settings, people):
    application = create_app(settings.model_copy(update={"public_base_url": "https://registry.example"}))
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            response = await sign_in(http)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


async def test_edit_forms_show_the_record_change_it_and_refuse_a_stale_copy(client, auth, people):
    vendor = await make_vendor(client, auth, name="Acme", notes="old note", tags=["cloud", "eu"])
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
    await sign_in(client)
    form = await client.get(f"/ui/vendors/{vendor['id']}/edit")
    assert form.status_code == 200
    assert (
        'value="Acme"' in form.text
        and "old note</textarea>" in form.text
        and 'value="cloud, eu"' in form.text
    )
    csrf, version = csrf_of(form.text), re.search(r'name="version" value="(\d+)"', form.text).group(1)
    body = {
        "csrf": csrf,
        "version": version,
        "name": "Acme Cloud",
        "kind": "service_provider",
        "country": "FR",
    }
    empty_name = await client.post(f"/ui/vendors/{vendor['id']}/edit", data={**body, "name": ""})
    assert empty_name.status_code == 400 and 'id="name-error"' in empty_name.text
    saved = await client.post(f"/ui/vendors/{vendor['id']}/edit", data={**body, "tags": "cloud"})
    assert saved.status_code == 303
    stored = (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()
    assert (stored["name"], stored["country"], stored["notes"], stored["tags"]) == (
        "Acme Cloud",
        "FR",
        None,
        ["cloud"],
    )
    stale = await client.post(f"/ui/vendors/{vendor['id']}/edit", data={**body, "name": "Acme Again"})
    assert stale.status_code == 400
    assert "Someone saved a change since you opened this form" in stale.text
    assert 'value="Acme Again"' in stale.text  # what was typed is kept
    assert (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()["name"] == "Acme Cloud"

    contract_form = await client.get(f"/ui/contracts/{contract['id']}/edit")
    assert 'value="DPA-1"' in contract_form.text
    version = re.search(r'name="version" value="(\d+)"', contract_form.text).group(1)
    fields = {
        "csrf": csrf,
        "version": version,
        "kind": "dpa",
        "title": "DPA (2025)",
        "reference": "DPA-1",
        "effective_from": "2025-01-01",
        "confidentiality_equivalent": "on",
        "deletion_deadline_days": "45",
        "end_of_contract": "delete",
    }
    unsigned = await client.post(f"/ui/contracts/{contract['id']}/edit", data=fields)  # signed_on cleared
    assert unsigned.status_code == 400 and "would leave contract-basis disclosures uncovered" in unsigned.text
    edited = await client.post(
        f"/ui/contracts/{contract['id']}/edit", data={**fields, "signed_on": "2025-01-01"}
    )
    assert edited.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]+)", edited.text)
    stored = (await client.get(f"/contracts/{contract['id']}", headers=auth())).json()
    assert (stored["title"], stored["deletion_deadline_days"]) == ("DPA (2025)", 45)

    disclosure_form = await client.get(f"/ui/disclosures/{disclosure['id']}/edit")
    assert 'value="user.contact.email" checked' in disclosure_form.text
    version = re.search(r'name="version" value="(\d+)"', disclosure_form.text).group(1)
    change = {
        "csrf": csrf,
        "version": version,
        "contract_id": str(contract["id"]),
        "basis": "contract",
        "country": "DE",
        "purpose": "essential.service.operations.support",
        "categories": ["user.contact.email", "user.name"],
        "data_subjects": ["customer"],
        "valid_from": "2025-02-01",
    }
    changed = await client.post(f"/ui/disclosures/{disclosure['id']}/edit", data=change)
    assert changed.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]+)", changed.text)
    stored = (await client.get(f"/disclosures/{disclosure['id']}", headers=auth())).json()
    assert stored["categories"] == ["user.contact.email", "user.name"]


async def test_verify_refuses_a_chunked_upload_over_the_limit(client, settings):
    boundary = "registry-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()

    async def body():  # no Content-Length: the server must count what arrives
        yield head
        for _ in range(settings.max_upload_bytes // 65536 + 2):
            yield b"x" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/ui/verify", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 413
    assert "over" in response.text
    bad_length = await client.post(
        "/ui/verify",
        content=b"x",
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": "abc"},
    )
    assert bad_length.status_code in (400, 413)


async def test_a_contract_is_never_saved_without_its_file(client, auth, people):
    from registry.tables import Contract

    vendor = await make_vendor(client, auth, name="Acme")
    await sign_in(client)
    csrf = csrf_of((await client.get(f"/ui/vendors/{vendor['id']}/contracts/new")).text)
    fields = {
        "csrf": csrf,
        "kind": "dpa",
        "title": "DPA",
        "end_of_contract": "delete",
        "deletion_deadline_days": "30",
    }
    long_name = await client.post(
        f"/ui/vendors/{vendor['id']}/contracts/new",
        data=fields,
        files={"document": ("x" * 300 + ".pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert long_name.status_code == 400 and 'id="document-error"' in long_name.text
    assert await Contract.count() == 0
    saved = await client.post(
        f"/ui/vendors/{vendor['id']}/contracts/new",
        data=fields,
        files={"document": ("dpa.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")},
    )
    assert saved.status_code == 303
    stored = (await client.get("/contracts", headers=auth())).json()["items"]
    assert [c["document"]["filename"] for c in stored] == ["dpa.pdf"]


async def test_malformed_csrf_values_are_refused_not_crashed(client, people):
    await sign_in(client)
    response = await client.post(
        "/ui/vendors/new", data={"name": "Acme", "kind": "agent", "country": "DE", "csrf": "é"}
    )
    assert response.status_code == 403
    as_file = await client.post(
        "/ui/vendors/new", data={"name": "Acme"}, files={"csrf": ("csrf.txt", b"token", "text/plain")}
    )
    assert as_file.status_code == 403
    assert await Vendor.count() == 0


async def test_pages_are_never_framed(client):
    page = await client.get("/ui/login")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_dashboard_lists_contracts_ending_within_30_days(client, auth, people):
    from datetime import date, timedelta

    acme = await make_vendor(client, auth, name="Acme")
    soon = (date.today() + timedelta(days=10)).isoformat()
    later = (date.today() + timedelta(days=90)).isoformat()
    await make_contract(client, auth, acme["id"], reference="DPA-SOON", title="Ends soon", expires_on=soon)
    await make_contract(client, auth, acme["id"], reference="DPA-LATER", title="Ends later", expires_on=later)
    await sign_in(client, name="viewer-person")
    page = await client.get("/ui/")
    due_soon = page.text.split('id="sev-due_soon"')[1].split("</section>")[0]
    said = date.fromisoformat(soon)
    assert f"Contract “Ends soon” ends on {said.day} {said:%b %Y}." in due_soon  # days in words (issue 21)
    assert "Ends later" not in due_soon
    # Together they lack clauses GDPR Art. 28(3) requires: the supervision report says so too.
    gaps = page.text.split('id="sev-gap"')[1].split("</section>")[0]
    assert "Its contracts in force lack 18 of 19 required clauses" in gaps
    assert f'href="/ui/vendors/{acme["id"]}"' in gaps


async def test_far_future_dates_are_a_clear_error(client, auth):
    vendor = await make_vendor(client, auth, name="Acme")
    response = await client.post(
        "/contracts",
        json={"vendor_id": vendor["id"], "kind": "dpa", "title": "DPA", "expires_on": "9999-12-31"},
        headers=auth(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "deletion_deadline_days"


async def test_sign_in_needs_the_forms_token(client, people):
    """Login CSRF: another site can make a browser post the sign-in form, but not with the token of
    a cookie it cannot read."""
    forged = await client.post("/ui/login", data={"name": "editor-person", "password": PASSWORD})
    assert forged.status_code == 403 and "sign-in form has expired" in forged.text
    assert "registry_session" not in forged.headers.get("set-cookie", "")
    form = await client.get("/ui/login")
    wrong = await client.post(
        "/ui/login", data={"name": "editor-person", "password": PASSWORD, "csrf": "x" * 43}
    )
    assert wrong.status_code == 403
    cookie = form.headers["set-cookie"]
    assert "registry_sign_in=" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    assert (await sign_in(client)).status_code == 303


async def test_lookup_page_knows_a_category_added_on_another_worker_at_once(client, auth, settings, people):
    await sign_in(client, name="lookup-person")
    assert (
        "not in the data_category taxonomy"
        not in (
            await client.get("/ui/lookup", params={"category": "user.contact", "as_of": "2025-06-01"})
        ).text
    )  # the taxonomy is now kept by this worker
    other = create_app(settings)
    async with other.lifespan():
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as worker:
            created = await worker.post(
                "/taxonomy/data-categories",
                json={"key": "user.contact.email.work", "name": "Work"},
                headers=auth(),
            )
    assert created.status_code == 201
    page = await client.get(
        "/ui/lookup", params={"category": "user.contact.email.work", "as_of": "2025-06-01"}
    )
    assert '0 recipient disclosures of Work <small class="key">(user.contact.email.work)</small>' in page.text


async def test_people_create_is_the_name_and_users_its_alias(database_url):
    done = run_cli(
        database_url, "people", "create", "cleo", "--role", "viewer", "--password-stdin", input_=PASSWORD
    )
    assert "person 'cleo' (viewer) created" in done.stdout
    again = run_cli(
        database_url,
        "users",
        "create",
        "cleo",
        "--role",
        "viewer",
        "--password-stdin",
        input_=PASSWORD,
        check=False,
    )
    assert again.returncode == 1 and "exists already" in again.stderr
    listed = run_cli(database_url, "--help")
    assert "people" in listed.stdout and "users" not in listed.stdout
