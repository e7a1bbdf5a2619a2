"""The bad-input catalogue, on every JSON write endpoint: each gets a clear 4xx problem+json naming the
field, and leaves nothing behind (the change log — written by every successful write — does not grow).
Every write route of the app's route table is in the catalogue or exempt with a reason."""

import pytest

from tests.conftest import CONFIRMATION, ended_contract, make_contract, make_disclosure, make_vendor
from tests.test_authorization_matrix import app_routes

pytestmark = pytest.mark.anyio

HUGE = 10**30
WORLD = ("vendor", "contract", "disclosure", "deletion", "ended", "webhook", "serial")
LONG = "x" * 100_000


async def _world(client, auth) -> dict:
    """One of everything, so that every route has something to act on."""
    vendor, contract = await ended_contract(client, auth)
    other = await make_vendor(client, auth, name="Other")
    live = await make_contract(client, auth, other["id"], reference="LIVE-1")
    disclosure = await make_disclosure(client, auth, other["id"], live["id"])
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    webhook = await client.post(
        "/webhooks", json={"url": "https://hooks.example/w", "events": ["vendor.created"]}, headers=auth()
    )
    assert webhook.status_code == 201, webhook.text
    return {
        "webhook": webhook.json()["id"],
        "serial": await _attested(client, auth),
        "vendor": other["id"],
        "contract": live["id"],
        "disclosure": disclosure["id"],
        "deletion": deletion["id"],
        "ended": contract["id"],
    }


async def _attested(client, auth) -> str:
    """The serial of an attestation issued for a third vendor's confirmed deletion."""
    vendor = await make_vendor(client, auth, name="Attested", legal_name="Acme Hosting GmbH")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-A", deletion_deadline_days=30)
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    ended = {"terminated_on": "2025-06-30", "reason": "moved"}
    assert (
        await client.post(f"/contracts/{contract['id']}/terminate", json=ended, headers=auth())
    ).is_success
    deletions = (await client.get("/deletions", params={"vendor_id": vendor["id"]}, headers=auth())).json()
    [deletion] = [d for d in deletions["items"] if d["vendor_id"] == vendor["id"]]
    confirmed = await client.post(
        f"/deletions/{deletion['id']}/confirmations", json=CONFIRMATION, headers=auth()
    )
    assert confirmed.status_code == 201, confirmed.text
    issued = await client.post(f"/deletions/{deletion['id']}/attestation", headers=auth())
    assert issued.status_code == 201, issued.text
    return issued.json()["serial"]


def endpoints(w: dict) -> list[tuple[str, str, dict, dict[str, str]]]:
    """(method, route as Litestar lists it, path, a valid body, {kind of bad value: the field to put it in})."""
    vendor = {"name": "New vendor", "kind": "agent", "country": "FR"}
    contract = {"vendor_id": w["vendor"], "kind": "nda", "title": "NDA"}
    disclosure = {
        "vendor_id": w["vendor"],
        "contract_id": w["contract"],
        "categories": ["user.name"],
        "data_subjects": ["customer"],
        "purpose": "essential.service",
        "basis": "contract",
        "valid_from": "2025-03-01",
    }
    return [
        (
            "POST",
            "/vendors",
            "/vendors",
            vendor,
            {
                "int": "parent_id",
                "text": "name",
                "enum": "kind",
                "country": "country",
                "email": "contact.email",
                "url": "website",
            },
        ),
        (
            "PATCH",
            "/vendors/{vendor_id:int}",
            f"/vendors/{w['vendor']}",
            {"notes": "n"},
            {
                "int": "parent_id",
                "text": "name",
                "enum": "kind",
                "country": "country",
                "url": "website",
            },
        ),
        (
            "POST",
            "/contracts",
            "/contracts",
            contract,
            {"int": "deletion_deadline_days", "text": "title", "enum": "kind", "date": "signed_on"},
        ),
        (
            "PATCH",
            "/contracts/{contract_id:int}",
            f"/contracts/{w['contract']}",
            {"notes": "n"},
            {
                "int": "deletion_deadline_days",
                "text": "title",
                "enum": "end_of_contract",
                "date": "expires_on",
            },
        ),
        (
            "POST",
            "/contracts/{contract_id:int}/terminate",
            f"/contracts/{w['contract']}/terminate",
            {"terminated_on": "2025-06-30", "reason": "r"},
            {"text": "reason", "date": "terminated_on"},
        ),
        (
            "POST",
            "/taxonomy/{kind:str}",
            "/taxonomy/data-categories",
            {"key": "user.content.drawing", "name": "Drawings"},
            {"text": "name"},
        ),
        (
            "POST",
            "/disclosures",
            "/disclosures",
            disclosure,
            {
                "int": "contract_id",
                "optional_text": "notes",
                "enum": "basis",
                "date": "valid_from",
                "country": "country",
            },
        ),
        (
            "PATCH",
            "/disclosures/{disclosure_id:int}",
            f"/disclosures/{w['disclosure']}",
            {"notes": "n"},
            {"int": "contract_id", "optional_text": "legal_reference", "enum": "basis", "date": "valid_to"},
        ),
        (
            "POST",
            "/disclosures/{disclosure_id:int}/end",
            f"/disclosures/{w['disclosure']}/end",
            {"ended_on": "2025-06-30", "reason": "r"},
            {"text": "reason", "date": "ended_on"},
        ),
        (
            "PUT",
            "/disclosures/{disclosure_id:int}/transfer",
            f"/disclosures/{w['disclosure']}/transfer",
            {"mechanism": "scc_2021", "scc_module": 2},
            {"int": "scc_module", "optional_text": "tia_reference", "enum": "mechanism", "date": "tia_date"},
        ),
        (
            "POST",
            "/deletions/{obligation_id:int}/confirmations",
            f"/deletions/{w['deletion']}/confirmations",
            CONFIRMATION,
            {
                "text": "verification_result",
                "optional_text": "tool",
                "enum": "technique",
                "date": "completed_on",
            },
        ),
        (
            "POST",
            "/lookup/check",
            "/lookup/check",
            {"vendor": w["vendor"], "categories": ["user.name"]},
            {"int": "vendor", "date": "on"},
        ),
        ("POST", "/keys", "/keys", {"name": "k2", "role": "viewer"}, {"text": "name", "enum": "role"}),
        (
            "POST",
            "/journal",
            "/journal",
            {"object_type": "vendor", "object_id": w["vendor"], "kind": "info", "text": "t"},
            {"int": "object_id", "text": "text", "enum": "object_type"},
        ),
        (
            "PATCH",
            "/taxonomy/{kind:str}/{key:str}",
            "/taxonomy/data-categories/user.name",
            {"name": "Names"},
            {"optional_text": "name"},
        ),
        (
            "POST",
            "/webhooks",
            "/webhooks",
            {"url": "https://hooks.example/registry", "events": ["vendor.created"]},
            {"url": "url", "optional_text": "description"},
        ),
        (
            "PATCH",
            "/webhooks/{webhook_id:int}",
            f"/webhooks/{w['webhook']}",
            {"description": "d"},
            {"url": "url", "optional_text": "description"},
        ),
        (
            "POST",
            "/vendors/{vendor_id:int}/subprocessors",
            f"/vendors/{w['vendor']}/subprocessors",
            {"subprocessor_id": w["vendor"], "authorisation": "specific", "valid_from": "2025-03-01"},
            {
                "int": "subprocessor_id",
                "optional_text": "notes",
                "enum": "authorisation",
                "date": "valid_from",
            },
        ),
        (
            "PATCH",
            "/subprocessor-engagements/{engagement_id:int}",
            "/subprocessor-engagements/1",
            {"notes": "n"},
            {"int": "flow_down_contract_id", "optional_text": "notes", "date": "notified_on"},
        ),
        (
            "POST",
            "/subprocessor-engagements/{engagement_id:int}/end",
            "/subprocessor-engagements/1/end",
            {"ended_on": "2025-06-30", "reason": "r"},
            {"text": "reason", "date": "ended_on"},
        ),
        (
            "POST",
            "/subprocessor-engagements/{engagement_id:int}/objection",
            "/subprocessor-engagements/1/objection",
            {"objected_on": "2025-06-30", "reason": "r"},
            {"text": "reason", "date": "objected_on"},
        ),
        ("POST", "/mail/test", "/mail/test", {"to": "dpo@vendor.example"}, {"email": "to"}),
        (
            "POST",
            "/public/subscriptions",
            "/public/subscriptions",
            {"email": "a@b.example"},
            {"email": "email"},
        ),
        (
            "POST",
            "/deletions/{obligation_id:int}/submissions/{submission_id:int}/return",
            "/deletions/1/submissions/1/return",
            {"reasons": "r"},
            {"text": "reasons"},
        ),
        (
            "POST",
            "/attestations/{serial:str}/revoke",
            f"/attestations/{w['serial']}/revoke",
            {"reason": "r"},
            {"text": "reason"},
        ),
    ]


# Write routes whose bodies are not JSON, or that take none: where their bad input is tested instead.
EXEMPT = {
    ("POST", "/attestations/verify"): "the body is a PDF: tests/test_attestations.py (415, bounded)",
    ("POST", "/imports"): "a spreadsheet upload: tests/test_imports.py",
    ("POST", "/imports/fides"): "a Fides YAML upload: tests/test_fides.py",
    ("PUT", "/contracts/{contract_id:int}/document"): "a file upload: tests/test_contracts.py",
    ("PUT", "/disclosures/{disclosure_id:int}/transfer/document"): "a file upload: tests/test_transfers.py",
    (
        "PUT",
        "/deletions/{obligation_id:int}/confirmations/{confirmation_id:int}/evidence",
    ): "a file upload: tests/test_deletions.py",
    ("POST", "/deletions/{obligation_id:int}/attestation"): "no body",
    ("POST", "/deletions/{obligation_id:int}/request"): "no body",
    ("POST", "/deletions/{obligation_id:int}/request/resend"): "no body",
    ("POST", "/deletions/{obligation_id:int}/request/cancel"): "no body",
    ("POST", "/deletions/{obligation_id:int}/submissions/{submission_id:int}/accept"): "no body",
    ("POST", "/portal/{token:str}/confirmation"): "a portal form: tests/test_portal.py",
    ("POST", "/portal/{token:str}/{kind:str}"): "a portal form: tests/test_portal.py",
    ("POST", "/public/subscribe"): "a public form: tests/test_subscribers.py",
    ("POST", "/public/confirm/{token:str}"): "a public form: tests/test_subscribers.py",
    ("POST", "/public/unsubscribe/{token:str}"): "RFC 8058's form body: tests/test_subscribers.py",
    ("POST", "/public/object/{token:str}"): "a public form: tests/test_subscribers.py",
    ("POST", "/keys/{name:str}/revoke"): "no body",
    ("POST", "/webhooks/{webhook_id:int}/rotate-secret"): "no body",
    ("POST", "/webhooks/{webhook_id:int}/test"): "no body",
    ("DELETE", "/vendors/{vendor_id:int}"): "no body",
    ("DELETE", "/subprocessor-engagements/{engagement_id:int}"): "no body: tests/test_subprocessors.py",
    ("DELETE", "/taxonomy/{kind:str}/{key:str}"): "no body",
    ("DELETE", "/webhooks/{webhook_id:int}"): "no body",
    ("POST", "/mail/messages/{message_id:int}/retry"): "no body: tests/test_mail.py (404, 409)",
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


BAD = {
    "int": [HUGE, -HUGE, 1.5, "twelve"],
    "text": ["", LONG, "nul\x00byte", "\x07bell"],  # required text: empty is an error too
    "optional_text": [LONG, "nul\x00byte", "\x07bell"],
    "enum": ["not-a-value", "", 1],
    "date": ["2025-02-30", "yesterday", "2025-13-01", 20250101],
    "country": ["XX", "DEU", "1", ""],
    "email": ["not-an-email", "a@", "<script>@x"],
    "url": ["javascript:alert(1)", "file:///etc/passwd", "not a url"],
}


def _set(body: dict, dotted: str, value) -> dict:
    body = {**body}
    head, _, rest = dotted.partition(".")
    body[head] = _set(body.get(head) or {}, rest, value) if rest else value
    return body


async def _changes(client, auth) -> int:
    return (await client.get("/changes", params={"limit": 1}, headers=auth())).json()["total"]


async def test_every_write_route_is_in_the_catalogue_or_exempt(app):
    """Built from the app's route table: a new write route with neither an entry nor a reason fails."""
    writes = {(m, p) for m, p in app_routes(app) if m in WRITES and not p.startswith("/ui")}
    catalogued = {(method, route) for method, route, *_ in endpoints(dict.fromkeys(WORLD, 1))}
    assert catalogued & EXEMPT.keys() == set(), "a route is either catalogued or exempt"
    assert writes - catalogued - EXEMPT.keys() == set(), "add these write routes to endpoints() or EXEMPT"
    assert (catalogued | EXEMPT.keys()) - writes == set(), "these entries match no route"


async def test_every_write_endpoint_refuses_the_catalogue(client, auth):
    world = await _world(client, auth)
    before = await _changes(client, auth)
    tried = 0
    for method, _, path, valid, fields in endpoints(world):
        cases = [
            (f"{kind}:{field}", _set(valid, field, value))
            for kind, field in fields.items()
            for value in BAD[kind]
        ]
        cases.append(("unknown field", {**valid, "surprise": 1}))
        cases.append(("not an object", [valid]))
        for label, body in cases:
            response = await client.request(method, path, json=body, headers=auth())
            tried += 1
            assert 400 <= response.status_code < 500, (
                method,
                path,
                label,
                response.status_code,
                response.text,
            )
            assert response.headers["content-type"] == "application/problem+json", (method, path, label)
            problem = response.json()
            assert problem["status"] == response.status_code and problem["detail"], (method, path, label)
            if response.status_code in (400, 422) and ":" in label:
                field = label.split(":")[1].split(".")[-1]
                assert field in problem["detail"], (method, path, label, problem["detail"])
        oversized = await client.request(
            method,
            path,
            content=b'{"x": "' + b"y" * 40_000 + b'"}',
            headers={**auth(), "Content-Type": "application/json"},
        )
        assert oversized.status_code == 413, (method, path)
        malformed = await client.request(
            method, path, content=b'{"unterminated', headers={**auth(), "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400, (method, path)
    assert tried > 150
    assert await _changes(client, auth) == before  # nothing was written by any of them


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>",
        "'; DROP TABLE vendor; --",
        "\u202eevil\u202c",
        "😀 ünïcödé 中文",
        "<style>body{display:none}</style>",
        "{{ 7*7 }} ${7*7}",
        "%s %n %x",
    ],
)
async def test_hostile_text_round_trips_literally(client, auth, text):
    vendor = await make_vendor(client, auth, name=text, notes=text, legal_name=text)
    fetched = (await client.get(f"/vendors/{vendor['id']}", headers=auth())).json()
    assert (fetched["name"], fetched["notes"], fetched["legal_name"]) == (text, text, text)
    found = (await client.get("/vendors", params={"q": text[:50]}, headers=auth())).json()
    assert [v["id"] for v in found["items"]] == [vendor["id"]]
