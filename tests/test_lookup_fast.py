"""``POST /lookup/check`` answered ahead of the framework (registry.lookup.fast) gives the route's own
response, byte for byte and header for header; whatever is not an ordinary 200 is the route's."""

import json
import random
from collections.abc import AsyncIterator

import httpx
import pytest

from registry.app import create_app
from registry.lookup.fast import FAST
from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.test_lookup_index import _questions, _register

pytestmark = pytest.mark.anyio


def _check_handler(application):
    return next(
        handler
        for route in application.routes
        if route.path == "/lookup/check"
        for handler in route.route_handlers
        if "POST" in handler.http_methods
    )


@pytest.fixture
def answered_fast(app, monkeypatch) -> list[bytes]:
    """The answers the fast path gave on the client's app (it is wrapped to count them)."""
    handler = _check_handler(app)
    fast, answers = handler.opt[FAST], []

    async def counted(state, value):
        answer = await fast(state, value)
        answers.append(answer[0])
        return answer

    monkeypatch.setitem(handler.opt, FAST, counted)
    return answers


@pytest.fixture
async def route_only(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database whose checks all go through the route."""
    application = create_app(settings)
    del _check_handler(application).opt[FAST]
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            yield http


def _same(fast: httpx.Response, route: httpx.Response, what) -> None:
    assert fast.status_code == route.status_code, (what, fast.text, route.text)
    if fast.headers.get("content-type") == "application/problem+json":
        fast_body, route_body = fast.json(), route.json()
        assert fast_body.pop("request_id", None) == fast.headers["x-request-id"]
        route_body.pop("request_id", None)
        assert fast_body == route_body, what
    else:
        assert fast.content == route.content, what
    drop = {"x-request-id", "date"}
    assert {k: v for k, v in fast.headers.items() if k not in drop} == {
        k: v for k, v in route.headers.items() if k not in drop
    }, what


async def _ask_both(client, route_only, headers, what, **request) -> httpx.Response:
    fast = await client.post("/lookup/check", headers=headers, **request)
    route = await route_only.post("/lookup/check", headers=headers, **request)
    _same(fast, route, what)
    return fast


async def test_the_fast_path_answers_as_the_route_does(client, auth, route_only, answered_fast):
    rnd = random.Random(23)  # noqa: S311 (test data, not secrets)
    vendors, days = await _register(client, auth, rnd)
    asked = [json.dumps(body) for method, _, body in _questions(vendors, days, rnd) if method == "POST"]
    checks = [json.loads(body) for body in dict.fromkeys(asked)]  # each once: the first ask is a miss
    verify = {"vendor": vendors[0]["id"], "categories": ["user"], "on": "2030-01-01"}
    assert (await client.post("/lookup/check", json=verify, headers=auth("lookup"))).status_code == 200
    answered_fast.clear()
    statuses, allowed = [], set()
    for body in checks:
        for asked in ("miss", "hit"):
            answer = await _ask_both(client, route_only, auth("lookup"), (asked, body), json=body)
            statuses.append((answer.status_code, answer.headers.get("cache-status")))
            if answer.status_code == 200:
                allowed.add(answer.json()["allowed"])
    answered = [s for s in statuses if s[0] == 200]
    assert len(answered) >= len(statuses) - 4 and allowed == {True, False}
    assert {s[1] for s in answered} == {"registry; fwd=miss", "registry; hit"}
    assert len(answered_fast) == len(answered)  # every 200 came from the fast path
    assert statuses.count((422, None)) == 4  # an unknown vendor or category: the route's 422, twice each


async def test_a_key_is_verified_by_the_route_then_answered_fast(client, auth, answered_fast, other_worker):
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], effective_from="2025-01-01")
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    created = await client.post("/keys", json={"name": "fresh", "role": "lookup"}, headers=auth("admin"))
    assert created.status_code == 201, created.text
    fresh = {"Authorization": f"Bearer {created.json()['secret']}"}
    body = {"vendor": vendor["id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    first = await client.post("/lookup/check", json=body, headers=fresh)
    assert first.status_code == 200 and first.json()["allowed"] is True
    assert answered_fast == []  # a key not yet verified: the route verified it
    second = await client.post("/lookup/check", json={**body, "on": "2025-06-02"}, headers=fresh)
    assert second.status_code == 200 and len(answered_fast) == 1
    revoked = await other_worker.post("/keys/fresh/revoke", headers=auth("admin"))
    assert revoked.status_code == 200, revoked.text
    refused = await client.post("/lookup/check", json=body, headers=fresh)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key is unknown or revoked."
    assert len(answered_fast) == 1


def _deep(levels: int) -> bytes:
    return b'{"vendor": 1, "categories": ["user"], "x": ' + b"[" * levels + b"]" * levels + b"}"


async def test_what_is_not_an_ordinary_check_gets_the_routes_answer(
    client, auth, route_only, answered_fast, settings
):
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], effective_from="2025-01-01")
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    good = {"vendor": vendor["id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    key = auth("lookup")
    json_type = {"Content-Type": "application/json"}
    assert (await client.post("/lookup/check", json=good, headers=key)).status_code == 200
    answered_fast.clear()
    raw = json.dumps(good).encode()
    big = json.dumps({**good, "purpose": "x" * settings.max_request_bytes}).encode()
    cases = [
        ("no key", 401, {}, {"json": good}),
        ("unknown key", 401, {"Authorization": "Bearer prk_nothing"}, {"json": good}),
        ("not bearer", 401, {"Authorization": "Basic abc"}, {"json": good}),
        ("no content type", 415, key, {"content": raw}),
        ("text", 415, {**key, "Content-Type": "text/plain"}, {"content": raw}),
        ("malformed", 400, {**key, **json_type}, {"content": b'{"vendor": 1,'}),
        ("repeated key", 400, {**key, **json_type}, {"content": b'{"vendor": 1, "vendor": 2}'}),
        ("too deep", 400, {**key, **json_type}, {"content": _deep(settings.max_json_depth + 1)}),
        ("too large", 413, {**key, **json_type}, {"content": big}),
        ("wrong type", 400, key, {"json": {**good, "vendor": "one"}}),
        ("no categories", 400, key, {"json": {**good, "categories": []}}),
        ("unknown vendor", 422, key, {"json": {**good, "vendor": 99999}}),
        ("unknown category", 422, key, {"json": {**good, "categories": ["user.nothing_here"]}}),
        ("unknown purpose", 422, key, {"json": {**good, "purpose": "nothing.here"}}),
        ("not an object", 400, key, {"json": [good]}),
    ]
    for what, status, headers, request in cases:
        answer = await _ask_both(client, route_only, headers, what, **request)
        assert answer.status_code == status, (what, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", what
    assert answered_fast == []
    fresh = await _ask_both(client, route_only, {**key, "Cache-Control": "no-cache"}, "no-cache", json=good)
    assert fresh.headers["cache-status"] == "registry; fwd=bypass"
    keyed = {**key, "Idempotency-Key": "check-1"}
    other_day = {**good, "on": "2025-06-02"}
    assert (await _ask_both(client, route_only, keyed, "idempotent", json=other_day)).status_code == 200
    assert answered_fast == []  # the route honours Cache-Control and Idempotency-Key itself


async def test_a_body_in_several_parts_is_read_whole(client, auth, answered_fast):
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], effective_from="2025-01-01")
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    body = json.dumps({"vendor": vendor["id"], "categories": ["user.contact.email"], "on": "2025-06-01"})
    headers = {**auth("lookup"), "Content-Type": "application/json"}
    whole = await client.post("/lookup/check", content=body, headers=headers)  # verifies the key
    assert whole.status_code == 200

    async def parts():
        for at in range(0, len(body), 7):
            yield body[at : at + 7].encode()

    split = await client.post("/lookup/check", content=parts(), headers=headers)
    assert split.status_code == 200, split.text
    assert split.json() == whole.json() and len(answered_fast) == 1
    assert split.headers["cache-status"] == "registry; hit"
