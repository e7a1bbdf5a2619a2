"""Lookup answers are reused only while nothing has been written: a write through any worker (here a
second app on the same database), the CLI included, is seen by the next lookup."""

from types import SimpleNamespace

import anyio
import httpx
import pytest
from litestar.response.base import ASGIResponse

from registry.app import create_app
from registry.lookup.cache import JsonAnswer
from tests.conftest import Server, make_contract, make_disclosure, make_vendor, run_cli
from tests.test_imports import VENDORS_CSV

pytestmark = pytest.mark.anyio

QUESTION = {"category": "user.contact.email", "as_of": "2025-06-01"}


@pytest.fixture
async def acme(client, auth):
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
    return {"vendor": vendor, "contract": contract, "disclosure": disclosure}


async def ask(client, auth, headers=None, **params):
    response = await client.get(
        "/lookup/recipients", params=params or QUESTION, headers={**auth("lookup"), **(headers or {})}
    )
    assert response.status_code == 200, response.text
    return response


async def test_same_question_is_answered_from_the_cache_with_the_same_body(client, auth, acme):
    first, second = await ask(client, auth), await ask(client, auth)
    assert first.headers["cache-status"] == "registry; fwd=miss"
    assert second.headers["cache-status"] == "registry; hit"
    assert second.json() == first.json()
    assert [r["vendor_name"] for r in second.json()["items"]] == ["Acme"]


async def test_no_cache_request_recomputes(client, auth, acme):
    await ask(client, auth)
    fresh = await ask(client, auth, headers={"Cache-Control": "no-cache"})
    assert fresh.headers["cache-status"] == "registry; fwd=bypass"
    assert fresh.json()["total"] == 1


async def test_a_write_on_another_worker_is_seen_at_once(client, auth, acme, other_worker):
    assert (await ask(client, auth)).json()["total"] == 1
    assert (await ask(client, auth)).headers["cache-status"] == "registry; hit"
    ended = await other_worker.post(
        f"/disclosures/{acme['disclosure']['id']}/end",
        json={"ended_on": "2025-05-31", "reason": "no longer needed"},
        headers=auth(),
    )
    assert ended.status_code == 200, ended.text
    after = await ask(client, auth)
    assert after.headers["cache-status"] == "registry; fwd=miss"
    assert after.json()["total"] == 0


async def test_check_sees_a_termination_on_another_worker(client, auth, acme, other_worker):
    body = {"vendor": acme["vendor"]["id"], "categories": ["user.contact.email"], "on": "2025-08-01"}
    allowed = await client.post("/lookup/check", json=body, headers=auth("lookup"))
    assert allowed.json()["allowed"] is True
    assert (await client.post("/lookup/check", json=body, headers=auth("lookup"))).headers[
        "cache-status"
    ] == "registry; hit"
    terminated = await other_worker.post(
        f"/contracts/{acme['contract']['id']}/terminate",
        json={"terminated_on": "2025-07-31", "reason": "ended by the vendor"},
        headers=auth(),
    )
    assert terminated.status_code == 200, terminated.text
    refused = await client.post("/lookup/check", json=body, headers=auth("lookup"))
    assert refused.json()["allowed"] is False
    assert refused.json()["reasons"]


async def test_a_new_custom_category_is_known_at_once(client, auth, acme, other_worker):
    """The taxonomy the lookup expands categories with is as fresh as the answers."""
    before = await ask(client, auth, category="user.contact", as_of="2025-06-01")
    assert before.json()["total"] == 1
    created = await other_worker.post(
        "/taxonomy/data-categories",
        json={"key": "user.contact.email.work", "name": "Work e-mail"},
        headers=auth(),
    )
    assert created.status_code == 201, created.text
    beta = await make_vendor(other_worker, auth, name="Beta")
    dpa = await make_contract(other_worker, auth, beta["id"], reference="DPA-2", effective_from="2025-01-01")
    await make_disclosure(other_worker, auth, beta["id"], dpa["id"], categories=["user.contact.email.work"])
    after = await ask(client, auth, category="user.contact", as_of="2025-06-01")
    assert [r["vendor_name"] for r in after.json()["items"]] == ["Acme", "Beta"]
    assert "user.contact.email.work" in after.json()["matched_categories"]


async def test_a_cli_write_is_seen(client, auth, acme, database_url, tmp_path):
    """The CLI writes through the same services, so it moves the change-log head too."""
    await ask(client, auth)
    sheet = tmp_path / "vendors.csv"
    sheet.write_text(VENDORS_CSV)
    run_cli(database_url, "import", str(sheet))
    assert (await ask(client, auth)).headers["cache-status"] == "registry; fwd=miss"


async def test_writes_no_lookup_reads_leave_the_answers_warm(client, auth, acme, other_worker, database_url):
    """Attestations, journal entries, keys, people, webhooks and deletion records are not read by any
    lookup (registry.head.NOT_READ_BY_LOOKUPS): integrations keep their cached answers while they are
    written, through any worker or the CLI; the next write of a vendor, contract or disclosure empties
    them."""
    first = await ask(client, auth)
    assert first.headers["cache-status"] == "registry; fwd=miss"
    noted = await other_worker.post(
        "/journal",
        json={
            "object_type": "vendor",
            "object_id": str(acme["vendor"]["id"]),
            "kind": "info",
            "text": "Call",
        },
        headers=auth(),
    )
    assert noted.status_code == 201, noted.text
    run_cli(database_url, "keys", "create", "integration", "--role", "lookup")
    run_cli(
        database_url,
        "users",
        "create",
        "dana",
        "--role",
        "viewer",
        "--password-stdin",
        input_="a long passphrase",
    )
    hooked = await other_worker.post(
        "/webhooks",
        json={"url": "https://hooks.example.com/registry", "events": ["*"]},
        headers=auth("admin"),
    )
    assert hooked.status_code == 201, hooked.text
    kinds = {c["object_type"] for c in (await client.get("/changes", headers=auth())).json()["items"]}
    assert {"journal_entry", "api_key", "person", "webhook"} <= kinds
    warm = await ask(client, auth)
    assert warm.headers["cache-status"] == "registry; hit"
    assert warm.json() == first.json()

    renamed = await other_worker.patch(
        f"/vendors/{acme['vendor']['id']}",
        json={"name": "Acme Renamed"},
        headers={**auth(), "If-Match": f'"{acme["vendor"]["version"]}"'},
    )
    assert renamed.status_code == 200, renamed.text
    after = await ask(client, auth)
    assert after.headers["cache-status"] == "registry; fwd=miss"
    assert [r["vendor_name"] for r in after.json()["items"]] == ["Acme Renamed"]


async def test_disabled_cache_answers_without_it(settings, auth, acme):
    application = create_app(settings.model_copy(update={"lookup_cache_bytes": 0}))
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            first, second = await ask(http, auth), await ask(http, auth)
    assert "cache-status" not in second.headers
    assert first.json() == second.json()
    assert second.json()["total"] == 1


async def test_a_key_revoked_on_another_worker_is_refused_at_once(client, auth, keys, other_worker):
    """Verified keys are cached per worker, but only until the next write: revoking is one."""
    assert (await client.get("/vendors", headers=auth("viewer"))).status_code == 200
    assert (await client.get("/vendors", headers=auth("viewer"))).status_code == 200  # now cached
    revoked = await other_worker.post("/keys/test-viewer/revoke", headers=auth())
    assert revoked.status_code == 200, revoked.text
    refused = await client.get("/vendors", headers=auth("viewer"))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "The API key is unknown or revoked."


async def test_concurrent_misses_compute_the_answer_once(client, auth, acme):
    responses = []

    async def one():
        responses.append(await ask(client, auth))

    async with anyio.create_task_group() as tasks:
        for _ in range(8):
            tasks.start_soon(one)
    statuses = sorted(r.headers["cache-status"] for r in responses)
    assert statuses.count("registry; fwd=miss") == 1, statuses
    assert set(statuses) <= {"registry; fwd=miss", "registry; fwd=miss; collapsed", "registry; hit"}
    assert all(r.json() == responses[0].json() for r in responses)


async def test_concurrent_bad_questions_all_get_the_error(client, auth, acme):
    statuses = []

    async def one():
        response = await client.get(
            "/lookup/recipients", params={"category": "user.nothing_here"}, headers=auth("lookup")
        )
        statuses.append((response.status_code, response.headers["content-type"]))

    async with anyio.create_task_group() as tasks:
        for _ in range(6):
            tasks.start_soon(one)
    assert statuses == [(422, "application/problem+json")] * 6


async def test_no_connection_outlives_the_app(settings, keys):
    """Concurrent first requests open one head-reading connection, closed with the app: a leaked
    aiosqlite connection is a thread that keeps the process from exiting."""
    import threading

    def connection_threads() -> int:
        return sum(1 for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive())

    before = connection_threads()
    application = create_app(settings)
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            statuses = []

            async def one():
                response = await http.get("/vendors", headers={"Authorization": f"Bearer {keys['viewer']}"})
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(10):
                    tasks.start_soon(one)
    assert statuses == [200] * 10
    for _ in range(50):  # closing joins the worker thread shortly after
        if connection_threads() <= before:
            break
        await anyio.sleep(0.02)
    assert connection_threads() <= before


async def test_over_http_an_answer_from_the_cache_is_framed_like_a_computed_one(client, auth, acme, settings):
    """Answers leave the cache as two ASGI messages it makes itself (JsonAnswer): through uvicorn, on one
    keep-alive connection, a hit must carry the same headers, length and body as the miss before it."""
    question = {"vendor": acme["vendor"]["id"], "categories": ["user.contact.email"], "on": "2025-06-01"}
    server = Server(settings)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            answers = [
                await http.post(
                    "/lookup/check", json=question, headers={**auth("lookup"), "X-Request-ID": f"trace-{i}"}
                )
                for i in range(3)
            ]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200] * 3, answers[0].text
    assert [a.headers["cache-status"] for a in answers] == [
        "registry; fwd=miss",
        "registry; hit",
        "registry; hit",
    ]
    for i, answer in enumerate(answers):
        assert answer.headers["content-type"] == "application/json"
        assert int(answer.headers["content-length"]) == len(answer.content)
        assert answer.headers.get_list("x-request-id") == [f"trace-{i}"]
        assert answer.json() == answers[0].json()
    assert answers[0].json()["vendor_id"] == acme["vendor"]["id"]
    assert answers[0].json()["allowed"] is True


async def test_an_answer_that_a_layer_adds_headers_to_goes_through_litestar():
    """The short path is only for answers nothing else touches; anything more takes Litestar's own."""
    answer = JsonAnswer(b'{"a": 1}', media_type="application/json", headers={"Cache-Status": "registry; hit"})
    sent = []

    async def send(message):
        sent.append(message)

    request = SimpleNamespace(method="GET")
    general = answer.to_asgi_response(None, request, headers={"X-Layer": "on"}, status_code=200)
    assert isinstance(general, ASGIResponse)
    await general({"type": "http"}, None, send)
    headers = dict(sent[0]["headers"])
    assert headers[b"x-layer"] == b"on" and headers[b"cache-status"] == b"registry; hit"
    assert sent[1]["body"] == b'{"a": 1}'
