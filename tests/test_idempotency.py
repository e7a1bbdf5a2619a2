"""Idempotency-Key: a retried POST gets the first answer and writes nothing more; an import whose client
left is rolled back."""

import asyncio
import json
import socket
import time
from datetime import timedelta

import httpx
import pytest

from registry import clock
from registry.enums import Role
from registry.tables import ApiKey, Change, IdempotencyClaim, JournalEntry, Vendor
from tests.conftest import VENDOR, Server, make_vendor

pytestmark = pytest.mark.anyio


def keyed(auth, key: str, role: str = "editor") -> dict[str, str]:
    return {**auth(role), "Idempotency-Key": key}


async def note(client, headers: dict[str, str], vendor_id: int, text: str = "Checked the SOC 2 report"):
    body = {"object_type": "vendor", "object_id": vendor_id, "kind": "info", "text": text}
    return await client.post("/journal", json=body, headers=headers)


async def changes_of(object_type: str) -> int:
    return await Change.count().where(Change.object_type == object_type)


class TestReplay:
    async def test_a_retry_gets_the_first_answer_and_writes_nothing(self, client, auth):
        first = await client.post("/vendors", json=VENDOR, headers=keyed(auth, "create-acme-1"))
        again = await client.post("/vendors", json=VENDOR, headers=keyed(auth, "create-acme-1"))
        assert first.status_code == 201, first.text
        assert "idempotent-replayed" not in first.headers
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["content-type"] == first.headers["content-type"]
        assert await Vendor.count() == 1 and await changes_of("vendor") == 1

    async def test_a_write_without_a_natural_key_is_made_once(self, client, auth):
        vendor = await make_vendor(client, auth)
        answers = [await note(client, keyed(auth, "note-1"), vendor["id"]) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 201]
        assert len({a.json()["id"] for a in answers}) == 1
        assert await JournalEntry.count() == 1 and await changes_of("journal_entry") == 1
        # Without a key the same request is a new note each time: the key is what makes it one.
        assert (await note(client, auth("editor"), vendor["id"])).status_code == 201
        assert await JournalEntry.count() == 2

    async def test_a_quoted_key_is_the_same_key(self, client, auth):
        vendor = await make_vendor(client, auth)
        await note(client, keyed(auth, "note-q"), vendor["id"])
        again = await note(client, keyed(auth, '"note-q"'), vendor["id"])
        assert again.headers.get("idempotent-replayed") == "true"
        assert await JournalEntry.count() == 1


class TestRefusals:
    async def test_the_same_key_with_another_body_is_422(self, client, auth):
        await client.post("/vendors", json=VENDOR, headers=keyed(auth, "k-1"))
        other = await client.post("/vendors", json={**VENDOR, "name": "Other"}, headers=keyed(auth, "k-1"))
        assert other.status_code == 422, other.text
        assert other.headers["content-type"].startswith("application/problem+json")
        assert other.json()["errors"][0]["field"] == "Idempotency-Key"
        assert other.json()["errors"][0]["rule"] == "idempotency_key_reused"
        assert await Vendor.count() == 1

    async def test_the_same_body_under_another_content_type_is_422_and_says_so(self, client, auth):
        """The fingerprint covers the Content-Type: the refusal must name it, not only body and query."""
        await client.post("/vendors", json=VENDOR, headers=keyed(auth, "k-ct"))
        headers = {**keyed(auth, "k-ct"), "Content-Type": "application/json; charset=utf-8"}
        other = await client.post("/vendors", content=json.dumps(VENDOR), headers=headers)
        assert other.status_code == 422 and other.json()["errors"][0]["rule"] == "idempotency_key_reused"
        assert "Content-Type" in other.json()["detail"], other.text
        assert await Vendor.count() == 1

    async def test_the_same_key_on_another_route_is_422(self, client, auth):
        vendor = await make_vendor(client, auth, name="Keyed")
        await note(client, keyed(auth, "k-2"), vendor["id"])
        other = await client.post("/vendors", json=VENDOR, headers=keyed(auth, "k-2"))
        assert other.status_code == 422 and other.json()["errors"][0]["rule"] == "idempotency_key_reused"
        assert await Vendor.count() == 1

    @pytest.mark.parametrize("key", ["", "x" * 256, "caf\xe9", "tab\there", '""'])
    async def test_a_malformed_key_is_400_and_nothing_is_written(self, client, auth, key):
        response = await client.post(
            "/vendors",
            json=VENDOR,
            headers=[*auth("editor").items(), ("Idempotency-Key", key.encode("latin-1"))],
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "Idempotency-Key"
        assert await Vendor.count() == 0 and await IdempotencyClaim.count() == 0

    async def test_a_keyed_body_over_the_limit_is_413(self, client, auth, settings):
        big = {**VENDOR, "notes": "x" * settings.max_request_bytes}
        response = await client.post("/vendors", json=big, headers=keyed(auth, "big"))
        assert response.status_code == 413, response.text
        assert await Vendor.count() == 0 and await IdempotencyClaim.count() == 0

    async def test_a_refused_request_leaves_no_claim(self, client, auth):
        broken = await client.post("/vendors", json={**VENDOR, "country": "XX"}, headers=keyed(auth, "k-3"))
        assert broken.status_code in (400, 422) and await IdempotencyClaim.count() == 0
        fixed = await client.post("/vendors", json=VENDOR, headers=keyed(auth, "k-3"))
        assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers
        assert await Vendor.count() == 1


class TestConcurrency:
    async def test_concurrent_retries_write_once(self, client, auth):
        vendor = await make_vendor(client, auth)
        answers = await asyncio.gather(*[note(client, keyed(auth, "race"), vendor["id"]) for _ in range(4)])
        assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
        assert all(a.headers.get("retry-after") for a in answers if a.status_code == 409)
        assert await JournalEntry.count() == 1 and await changes_of("journal_entry") == 1

    async def test_two_workers_write_once(self, client, other_worker, auth):
        vendor = await make_vendor(client, auth)
        answers = await asyncio.gather(
            *[
                http.post(
                    "/journal",
                    json={"object_type": "vendor", "object_id": vendor["id"], "kind": "info", "text": "x"},
                    headers=keyed(auth, "race-2"),
                )
                for http in (client, other_worker, client, other_worker)
            ]
        )
        assert all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
        assert await JournalEntry.count() == 1 and await changes_of("journal_entry") == 1

    async def test_a_worker_that_missed_the_first_claim_rolls_its_write_back(
        self, client, other_worker, auth, monkeypatch
    ):
        """Two workers both found no claim before either committed: the claim decides, in the writer's
        transaction."""
        vendor = await make_vendor(client, auth)
        first = await note(client, keyed(auth, "race-3"), vendor["id"])

        async def nothing_earlier(*args):
            return False

        monkeypatch.setattr("registry.idempotency._answer_from_earlier", nothing_earlier)
        second = await note(other_worker, keyed(auth, "race-3"), vendor["id"])
        assert first.status_code == 201 and second.status_code == 409, second.text
        assert second.headers["retry-after"]
        assert await JournalEntry.count() == 1 and await changes_of("journal_entry") == 1

    async def test_a_write_committed_without_its_answer_is_never_run_again(self, client, auth, monkeypatch):
        """The crash window: the write and its claim committed, the answer not stored."""
        vendor = await make_vendor(client, auth)

        def lost(*args, **kwargs):
            raise ConnectionError("the server died before storing the answer")

        monkeypatch.setattr(IdempotencyClaim, "update", lost)
        first = await note(client, keyed(auth, "crash"), vendor["id"])
        monkeypatch.undo()
        assert first.status_code == 201
        again = await note(client, keyed(auth, "crash"), vendor["id"])
        assert again.status_code == 409, again.text
        change = await Change.select(Change.id).where(Change.object_type == "journal_entry").first()
        assert "already applied" in again.json()["detail"] and str(change["id"]) in again.json()["detail"]
        assert await JournalEntry.count() == 1

    async def test_a_secret_is_not_kept_and_the_key_is_made_once(self, client, auth):
        body = {"name": "ci", "role": "viewer"}
        first = await client.post("/keys", json=body, headers=keyed(auth, "key-1", "admin"))
        again = await client.post("/keys", json=body, headers=keyed(auth, "key-1", "admin"))
        assert first.status_code == 201 and again.status_code == 409, again.text
        secret = first.json()["secret"]
        stored = await IdempotencyClaim.select(IdempotencyClaim.body, IdempotencyClaim.status)
        assert stored[0]["status"] is None and stored[0]["body"] is None
        assert secret not in again.text
        assert await ApiKey.count().where(ApiKey.name == "ci") == 1


class TestScope:
    async def test_keys_are_per_actor(self, client, auth):
        vendor = await make_vendor(client, auth)
        mine = await note(client, keyed(auth, "same", "editor"), vendor["id"])
        theirs = await note(client, keyed(auth, "same", "admin"), vendor["id"])
        assert mine.status_code == theirs.status_code == 201
        assert "idempotent-replayed" not in theirs.headers and mine.json()["id"] != theirs.json()["id"]
        assert await JournalEntry.count() == 2

    async def test_an_answer_expires_after_the_configured_time(self, client, auth, monkeypatch):
        vendor = await make_vendor(client, auth)
        await note(client, keyed(auth, "ttl"), vendor["id"])
        start = clock.now()
        monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=23))
        assert (await note(client, keyed(auth, "ttl"), vendor["id"])).headers["idempotent-replayed"] == "true"
        monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=25))
        late = await note(client, keyed(auth, "ttl"), vendor["id"])
        assert late.status_code == 201 and "idempotent-replayed" not in late.headers
        assert await JournalEntry.count() == 2
        assert await IdempotencyClaim.count() == 1  # the expired claim was purged by the new write


def vendors_csv(rows: int) -> bytes:
    return (
        "name,kind,country\r\n" + "".join(f"Vendor {n:04},contractor,DE\r\n" for n in range(rows))
    ).encode()


class TestImports:
    async def test_an_import_retried_with_its_key_imports_once(self, client, auth):
        headers = {**keyed(auth, "import-1"), "Content-Type": "text/csv"}
        first = await client.post("/imports", content=vendors_csv(5), headers=headers)
        again = await client.post("/imports", content=vendors_csv(5), headers=headers)
        assert first.status_code == again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
        created = first.json()["counts"]["vendors"]["created"]
        assert created > 1 and await Vendor.count() == created == await changes_of("vendor")

    async def test_a_client_that_leaves_before_the_commit_imports_nothing(self, settings, keys, tmp_path):
        log = tmp_path / "server.log"
        server = Server(settings, log=log)
        server.start()
        try:
            body = vendors_csv(1500)
            head = (
                f"POST /imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {keys[Role.editor]}\r\n"
                f"Content-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                raw.sendall(head.encode() + body)
                await asyncio.sleep(0.5)  # the client's timeout: the server has the file and is importing it
            deadline = time.monotonic() + 60
            while "import rolled back: client disconnected" not in log.read_text():
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
            async with httpx.AsyncClient(base_url=server.base) as http:
                listed = await http.get("/vendors", headers={"Authorization": f"Bearer {keys[Role.viewer]}"})
        finally:
            server.stop()
        assert listed.status_code == 200 and listed.json()["total"] == 0
        assert await Vendor.count() == 0 and await changes_of("vendor") == 0
        assert "Vendor 0001" not in log.read_text()  # the log line names no record
