"""Webhooks: admins register endpoints; events written with their change are delivered signed to a
receiver on loopback, retried with backoff, logged, and never lost or sent for a rolled-back write."""

import asyncio
import inspect
import json
import os
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from registry.changes.service import record_change
from registry.tables import Webhook, WebhookEvent
from registry.webhooks.signing import secret_for, server_key
from registry.webhooks.worker import DeliveryWorker, backoff_seconds
from tests.conftest import VENDOR, Server, make_vendor, run_cli

pytestmark = pytest.mark.anyio
PROBLEM = "application/problem+json"


@pytest.fixture
def settings(settings, tmp_path):
    """A key file of the test's own, an eager worker and retries in a fraction of a second."""
    return settings.model_copy(
        update={
            "webhook_key_file": str(tmp_path / "webhook.key"),
            "webhook_poll_seconds": 0.05,
            "webhook_retry_base_seconds": 0.05,
        }
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a worker sends a whole batch at once

    def handle_error(self, request, client_address) -> None:
        pass  # a sender that gave up (timed out) closed the connection: expected here


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent. ``script(path, [500, ...])`` makes
    the next requests to ``path`` answer those statuses; ``gate`` (when set up) holds every answer."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        self.gate: threading.Event | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                if receiver.gate is not None:
                    receiver.gate.wait(30)
                script = receiver.scripts.get(self.path) or []
                self.send_response(script.pop(0) if script else 200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def script(self, path: str, statuses: list[int]) -> None:
        self.scripts[path] = list(statuses)

    def at(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


async def until(condition, what: str, within: float = 20.0):
    """Poll ``condition`` (sync or async) until it is truthy; generous, so slow machines pass."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await anyio.sleep(0.05)


async def make_webhook(client, auth, url: str, events=("*",), **fields) -> dict:
    response = await client.post(
        "/webhooks", json={"url": url, "events": list(events), **fields}, headers=auth()
    )
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(client, auth, webhook_id: int, **params) -> dict:
    response = await client.get(f"/webhooks/{webhook_id}/deliveries", params=params, headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


def verified(secret: str, request: dict) -> dict:
    return StandardWebhook(secret).verify(request["body"], request["headers"])


class TestCreateWebhook:
    async def test_secret_is_shown_once_and_derived_from_the_key_file(self, client, auth, settings):
        created = await make_webhook(client, auth, "https://hooks.example.com/in", ["vendor.created"])
        assert created["secret"].startswith("whsec_")
        assert created["events"] == ["vendor.created"] and created["disabled_at"] is None
        listed = (await client.get("/webhooks", headers=auth())).json()
        one = await client.get(f"/webhooks/{created['id']}", headers=auth())
        assert one.headers["etag"] == '"1"'
        assert {k: v for k, v in created.items() if k != "secret"} == listed[0] == one.json()
        assert "secret" not in json.dumps(listed) + one.text
        salt = (await Webhook.select(Webhook.secret_salt).first())["secret_salt"]
        assert created["secret"] == secret_for(server_key(settings.webhook_key_file), salt)
        assert stat.S_IMODE(os.stat(settings.webhook_key_file).st_mode) == 0o600
        changes = (await client.get("/changes", params={"object_type": "webhook"}, headers=auth())).json()
        assert [c["action"] for c in changes["items"]] == ["create"]
        assert salt not in json.dumps(changes) and created["secret"] not in json.dumps(changes)
        # The path may hold the endpoint's own token, and viewers read the change log: origin only.
        assert changes["items"][0]["after"]["url"] == "https://hooks.example.com/…"

    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({"url": "ftp://files.example.com/in"}, "url", "scheme"),
            ({"url": "https://user:pw@hooks.example.com/in"}, "url", "no_userinfo"),
            ({"url": "https://hooks.example.com/" + "a" * 2048}, "url", "max_length"),
            ({"url": "https:///no-host"}, "url", "host"),
            ({"events": []}, "events", "min_items"),
            ({"events": ["vendor.created", "vendor.exploded"]}, "events", "known_event"),
        ],
    )
    async def test_bad_input_is_refused_naming_field_and_rule(self, client, auth, body, field, rule):
        response = await client.post(
            "/webhooks", json={"url": "https://hooks.example.com/in", "events": ["*"], **body}, headers=auth()
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["field"] == field
        assert response.json()["errors"][0]["rule"] == rule
        assert (await client.get("/webhooks", headers=auth())).json() == []

    async def test_only_admins_manage_webhooks(self, client, auth):
        body = {"url": "https://hooks.example.com/in", "events": ["*"]}
        assert (await client.post("/webhooks", json=body, headers=auth("editor"))).status_code == 403
        assert (await client.get("/webhooks", headers=auth("viewer"))).status_code == 403
        assert (await client.get("/webhooks")).status_code == 401
        assert (await client.get("/webhooks", headers=auth())).json() == []


class TestUpdateWebhook:
    async def test_if_match_and_rules(self, client, auth):
        hook = await make_webhook(client, auth, "https://hooks.example.com/in")
        path = f"/webhooks/{hook['id']}"
        changed = await client.patch(
            path,
            json={"events": ["contract.terminated"], "description": "legal"},
            headers={**auth(), "If-Match": '"1"'},
        )
        assert changed.status_code == 200, changed.text
        assert changed.headers["etag"] == '"2"'
        assert (
            changed.json()["events"] == ["contract.terminated"] and changed.json()["description"] == "legal"
        )
        stale = await client.patch(path, json={"description": "x"}, headers={**auth(), "If-Match": '"1"'})
        assert stale.status_code == 412
        for body, field in (
            ({"events": ["nope"]}, "events"),
            ({"url": None}, "url"),
            ({"url": "mailto:a@b"}, "url"),
        ):
            refused = await client.patch(path, json=body, headers=auth())
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
        assert (await client.patch("/webhooks/999", json={}, headers=auth())).status_code == 404
        changes = (await client.get("/changes", params={"object_type": "webhook"}, headers=auth())).json()
        assert [c["action"] for c in changes["items"]] == ["create", "update"]
        assert changes["items"][1]["after"]["events"] == ["contract.terminated"]


class TestDelivery:
    async def test_a_new_vendor_is_delivered_signed(self, client, auth, receiver):
        hook = await make_webhook(client, auth, receiver.url(), ["vendor.created"])
        vendor = await make_vendor(client, auth)
        [request] = await until(lambda: receiver.requests, "the delivery")
        event = verified(hook["secret"], request)
        assert event["type"] == "vendor.created" and event["id"] == request["headers"]["webhook-id"]
        assert (
            event["data"]["object_id"] == str(vendor["id"])
            and event["data"]["object"]["name"] == VENDOR["name"]
        )
        assert request["headers"]["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):
            verified(hook["secret"], {**request, "body": request["body"].replace(b"Acme", b"Acne")})
        log = await until(lambda: _delivered(client, auth, hook["id"]), "the log says delivered")
        [item] = log["items"]
        assert item["event_id"] == event["id"] and item["event_type"] == "vendor.created"
        assert item["attempts"] == 1 and [a["status_code"] for a in item["attempt_log"]] == [200]

    async def test_a_failing_endpoint_is_retried_with_backoff(self, client, auth, receiver):
        receiver.script("/flaky", [500, 500])
        hook = await make_webhook(client, auth, receiver.url("/flaky"))
        await make_vendor(client, auth)
        log = await until(lambda: _delivered(client, auth, hook["id"]), "delivered after two failures")
        [item] = log["items"]
        assert [a["status_code"] for a in item["attempt_log"]] == [500, 500, 200]
        assert [a["error"] for a in item["attempt_log"]] == ["HTTP 500", "HTTP 500", None]
        assert item["attempts"] == 3 and item["last_status_code"] == 200 and item["last_error"] is None
        assert item["next_attempt_at"] is None and item["delivered_at"] is not None
        assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1  # one message, three tries

    async def test_a_slow_endpoint_never_delays_the_request(self, client, auth, receiver):
        receiver.gate = threading.Event()
        await make_webhook(client, auth, receiver.url())
        await make_vendor(client, auth)
        await until(lambda: receiver.requests, "the worker is inside the receiver")
        second = await client.post("/vendors", json={**VENDOR, "name": "Other"}, headers=auth())
        assert second.status_code == 201, second.text
        assert not receiver.gate.is_set() and len(receiver.requests) == 1  # still held
        receiver.gate.set()
        await until(lambda: len(receiver.requests) == 2, "the second delivery after the release")

    async def test_a_rolled_back_write_emits_nothing(self, client, auth, receiver, monkeypatch):
        hook = await make_webhook(client, auth, receiver.url())
        await make_vendor(client, auth)
        duplicate = await client.post("/vendors", json=VENDOR, headers=auth())
        assert duplicate.status_code == 409

        async def record_then_fail(*args, **kwargs):
            await record_change(*args, **kwargs)  # writes the event into the transaction...
            raise RuntimeError("simulated failure after the change was recorded")  # ...which rolls back

        monkeypatch.setattr("registry.vendors.service.record_change", record_then_fail)
        failed = await client.post("/vendors", json={**VENDOR, "name": "Lost"}, headers=auth())
        assert failed.status_code == 500
        monkeypatch.undo()
        await make_vendor(client, auth, name="Third")
        await until(lambda: len(receiver.requests) == 2, "two deliveries")
        names = sorted(verified(hook["secret"], r)["data"]["object"]["name"] for r in receiver.requests)
        assert names == ["Acme Hosting", "Third"]
        assert await WebhookEvent.count() == 2
        assert (await deliveries(client, auth, hook["id"]))["total"] == 2

    async def test_rotating_the_secret_changes_the_signature(self, client, auth, receiver):
        hook = await make_webhook(client, auth, receiver.url())
        rotated = await client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=auth())
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["secret"] != hook["secret"] and rotated.json()["version"] == 2
        await make_vendor(client, auth)
        [request] = await until(lambda: receiver.requests, "the delivery")
        assert verified(rotated.json()["secret"], request)["type"] == "vendor.created"
        with pytest.raises(WebhookVerificationError):
            verified(hook["secret"], request)
        changes = (await client.get("/changes", params={"object_type": "webhook"}, headers=auth())).json()
        assert changes["items"][-1]["message"] == "signing secret rotated"
        assert rotated.json()["secret"] not in json.dumps(changes)

    async def test_a_test_event_goes_to_that_webhook_only(self, client, auth, receiver):
        first = await make_webhook(client, auth, receiver.url("/a"), ["contract.created"])
        other = await make_webhook(client, auth, receiver.url("/b"))
        queued = await client.post(f"/webhooks/{first['id']}/test", headers=auth())
        assert queued.status_code == 202, queued.text
        [request] = await until(lambda: receiver.at("/a"), "the test event")
        event = verified(first["secret"], request)
        assert event["type"] == "webhook.test" and event["id"] == queued.json()["event_id"]
        assert (await deliveries(client, auth, other["id"]))["total"] == 0
        assert (await client.post("/webhooks/999/test", headers=auth())).status_code == 404


async def _delivered(client, auth, webhook_id: int) -> dict | None:
    log = await deliveries(client, auth, webhook_id)
    return log if log["items"] and all(i["status"] == "delivered" for i in log["items"]) else None


class TestGivingUp:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"webhook_max_attempts": 2})

    async def test_after_the_last_attempt_the_delivery_fails(self, client, auth, receiver):
        receiver.script("/down", [503] * 10)
        hook = await make_webhook(client, auth, receiver.url("/down"))
        await make_vendor(client, auth)
        log = await until(
            lambda: _with_status(client, auth, hook["id"], "failed"), "the delivery is given up"
        )
        [item] = log["items"]
        assert item["attempts"] == 2 and item["next_attempt_at"] is None and item["delivered_at"] is None
        assert [a["status_code"] for a in item["attempt_log"]] == [503, 503]


class TestTimeout:
    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"webhook_timeout_seconds": 1.0, "webhook_max_attempts": 1})

    async def test_an_endpoint_that_does_not_answer_in_time_fails_the_attempt(self, client, auth, receiver):
        receiver.gate = threading.Event()  # never released during the test
        hook = await make_webhook(client, auth, receiver.url())
        await make_vendor(client, auth)
        log = await until(lambda: _with_status(client, auth, hook["id"], "failed"), "the attempt times out")
        [attempt] = log["items"][0]["attempt_log"]
        assert attempt["status_code"] is None and attempt["error"] == "timed out after 1 s"
        assert attempt["duration_ms"] >= 1000


async def _with_status(client, auth, webhook_id: int, status: str) -> dict | None:
    log = await deliveries(client, auth, webhook_id, status=status)
    return log if log["items"] else None


def test_backoff_doubles_with_jitter_and_is_capped():
    for attempts, middle in ((1, 30), (2, 60), (3, 120), (7, 1920)):
        assert 0.8 * middle <= backoff_seconds(attempts, 30) <= 1.2 * middle
    assert backoff_seconds(40, 30) <= 1.2 * 6 * 3600


class TestWithoutTheServerWorker:
    """The in-process worker is off: the test (or the CLI) runs the worker when it chooses."""

    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"webhook_worker": False})

    async def test_a_disabled_webhook_gets_nothing(self, client, auth, receiver, settings):
        gone = await make_webhook(client, auth, receiver.url("/gone"))
        await make_webhook(client, auth, receiver.url("/kept"))
        await make_vendor(client, auth)
        disabled = await client.delete(f"/webhooks/{gone['id']}", headers=auth())
        assert disabled.status_code == 200, disabled.text
        assert disabled.json()["disabled_at"] is not None and disabled.json()["version"] == 2
        await make_vendor(client, auth, name="Other")
        assert await DeliveryWorker(settings).drain() == 2
        assert receiver.at("/gone") == [] and len(receiver.at("/kept")) == 2
        log = await deliveries(client, auth, gone["id"])
        assert [i["status"] for i in log["items"]] == ["cancelled"]
        assert (await client.delete(f"/webhooks/{gone['id']}", headers=auth())).status_code == 409
        assert (await client.patch(f"/webhooks/{gone['id']}", json={}, headers=auth())).status_code == 409
        assert (await client.get(f"/webhooks/{gone['id']}", headers=auth())).status_code == 200  # kept
        changes = (await client.get("/changes", params={"object_id": str(gone["id"])}, headers=auth())).json()
        assert [c["action"] for c in changes["items"] if c["object_type"] == "webhook"] == [
            "create",
            "revoke",
        ]

    async def test_two_workers_never_send_the_same_delivery(self, client, auth, receiver, settings):
        await make_webhook(client, auth, receiver.url())
        for n in range(25):  # more than one batch
            await make_vendor(client, auth, name=f"V{n}")
        sent = await asyncio.gather(DeliveryWorker(settings).drain(), DeliveryWorker(settings).drain())
        assert sum(sent) == 25
        assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == len(receiver.requests) == 25

    async def test_the_delivery_log_pages_newest_first(self, client, auth, receiver):
        hook = await make_webhook(client, auth, receiver.url())
        vendors = [await make_vendor(client, auth, name=f"V{n}") for n in range(3)]
        page = await deliveries(client, auth, hook["id"], limit=2)
        assert (page["total"], page["limit"], page["offset"]) == (3, 2, 0)
        assert [i["object_id"] for i in page["items"]] == [str(vendors[2]["id"]), str(vendors[1]["id"])]
        assert all(i["status"] == "pending" and i["next_attempt_at"] for i in page["items"])
        rest = await deliveries(client, auth, hook["id"], limit=2, offset=2)
        assert [i["object_id"] for i in rest["items"]] == [str(vendors[0]["id"])]
        assert (await deliveries(client, auth, hook["id"], status="delivered"))["total"] == 0
        bad = await client.get(
            f"/webhooks/{hook['id']}/deliveries", params={"status": "lost"}, headers=auth()
        )
        assert bad.status_code == 400
        assert (await client.get("/webhooks/999/deliveries", headers=auth())).status_code == 404

    async def test_the_cli_delivers_and_lists(
        self, client, auth, receiver, settings, database_url, monkeypatch
    ):
        monkeypatch.setenv("REGISTRY_WEBHOOK_KEY_FILE", settings.webhook_key_file)
        hook = await make_webhook(client, auth, receiver.url())
        await make_vendor(client, auth)
        assert (
            run_cli(database_url, "webhooks", "deliver", "--once").stdout.strip()
            == "1 delivery attempt(s) made"
        )
        [request] = receiver.requests
        assert verified(hook["secret"], request)["type"] == "vendor.created"
        listed = run_cli(database_url, "webhooks", "list").stdout
        assert listed.startswith(f"{hook['id']}\tenabled\t{receiver.url()}\t*")


def _wait(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def test_no_event_is_lost_across_a_restart(settings, database_url, receiver):
    """The event is committed with the vendor; the server dies (SIGKILL) before sending it; the next one does."""
    key = run_cli(database_url, "keys", "create", "restart", "--role", "admin").stdout.strip()
    env = {"REGISTRY_WEBHOOK_KEY_FILE": settings.webhook_key_file, "REGISTRY_WEBHOOK_POLL_SECONDS": "0.1"}
    headers = {"Authorization": f"Bearer {key}"}
    first = Server(settings, REGISTRY_WEBHOOK_WORKER="false", **env)
    first.start()
    try:
        with httpx.Client(base_url=first.base, headers=headers, timeout=30) as http:
            hook = http.post("/webhooks", json={"url": receiver.url(), "events": ["vendor.created"]})
            assert hook.status_code == 201, hook.text
            vendor = http.post("/vendors", json=VENDOR)
            assert vendor.status_code == 201, vendor.text
        first.kill()
    finally:
        first.stop()
    assert receiver.requests == []
    second = Server(settings, **env)
    second.start()
    try:
        _wait(lambda: receiver.requests, "the delivery after the restart")
    finally:
        second.stop()
    [request] = receiver.requests
    event = verified(hook.json()["secret"], request)
    assert event["type"] == "vendor.created" and event["data"]["object_id"] == str(vendor.json()["id"])
