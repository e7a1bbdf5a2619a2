"""The delivery worker: claims due deliveries under a lease, sends them signed, records every try.

Several workers (every `registry serve` process, or `registry webhooks deliver`) may run at once:
a delivery is claimed by setting its lease in one UPDATE, so only one of them sends it at a time.
A worker that dies mid-send leaves a lease that runs out, and the delivery is sent again:
delivery is at least once, and receivers tell repeats apart by the ``webhook-id`` header.
"""

import asyncio
import contextlib
import functools
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx

from registry import __version__, clock, db
from registry.settings import Settings
from registry.tables import WebhookAttempt, WebhookDelivery
from registry.webhooks.signing import event_body, message_id, secret_for, server_key, signed_headers

log = logging.getLogger("registry.webhooks")

BATCH = 20
MAX_DELAY_SECONDS = 6 * 3600
_READ_LIMIT = 4096  # of a receiver's answer, for nothing but the connection's sake

_ANY_DUE = (
    "SELECT d.id FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook WHERE d.status = 'pending'"
    " AND d.next_attempt_ms <= {} AND d.lease_until_ms < {} AND w.disabled_at IS NULL LIMIT 1"
)
# The lease is checked again on the row being updated: on PostgreSQL a worker that waited for another's
# claim re-reads the row and skips it (and SKIP LOCKED spares it the wait).
_CLAIM = (
    "UPDATE webhook_delivery SET lease_until_ms = {} WHERE lease_until_ms < {} AND id IN ("
    "SELECT d.id FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook WHERE d.status = 'pending'"
    " AND d.next_attempt_ms <= {} AND d.lease_until_ms < {} AND w.disabled_at IS NULL"
    " ORDER BY d.next_attempt_ms, d.id LIMIT {}%s) RETURNING id"
)
_SENDABLE = (
    "SELECT d.id, d.attempts, d.lease_until_ms, w.id AS webhook_id, w.url, w.secret_salt, e.id AS event_id, e.payload"
    " FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook JOIN webhook_event e ON e.id = d.event"
    " WHERE d.id IN ({})"
)


def backoff_seconds(attempts: int, base: float) -> float:
    """Wait after the ``attempts``-th failed try: base × 2^(attempts-1), ±20 % jitter, at most 6 hours."""
    delay = min(base * 2 ** min(attempts - 1, 30), MAX_DELAY_SECONDS)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - spreads retries, not a secret


@dataclass
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryWorker:
    """Sends what is due, one batch at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease_ms = int((2 * settings.webhook_timeout_seconds + 60) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a database hiccup is logged and retried, never fatal."""
        client = self._client()
        try:
            while not stop.is_set():
                try:
                    sent = await self.run_once(client)
                except Exception:
                    log.exception("webhook worker: could not claim deliveries; retrying")
                    sent = 0
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.webhook_poll_seconds)
        finally:
            await client.aclose()

    async def run_once(self, client: httpx.AsyncClient | None = None) -> int:
        """Claim and send one batch of due deliveries; returns how many were tried."""
        ids = await self._claim()
        if not ids:
            return 0
        own = client is None
        client = client or self._client()
        try:
            rows = await WebhookDelivery.raw(_SENDABLE.format(", ".join("{}" for _ in ids)), *ids)
            results = await asyncio.gather(
                *(self._deliver(client, row) for row in rows), return_exceptions=True
            )
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, Exception):
                    # Its lease runs out and another try follows.
                    log.error("webhook delivery %s could not be sent or recorded: %r", row["id"], result)
        finally:
            if own:
                await client.aclose()
        return len(ids)

    async def drain(self) -> int:
        """Send everything due now, retries that fall due meanwhile included (``deliver --once``)."""
        total = 0
        async with self._client() as client:
            while sent := await self.run_once(client):
                total += sent
        return total

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=_tls_context(),
            timeout=self.settings.webhook_timeout_seconds,
            follow_redirects=False,
            headers={"user-agent": f"processor-registry-webhooks/{__version__}"},
        )

    async def _claim(self) -> list[int]:
        now = _now_ms()
        # A read first: an idle worker never takes SQLite's write lock.
        if not await WebhookDelivery.raw(_ANY_DUE, now, now):
            return []
        sql = _CLAIM % ("" if db.is_sqlite() else " FOR UPDATE OF d SKIP LOCKED")
        async with db.write_transaction():
            rows = await WebhookDelivery.raw(sql, now + self.lease_ms, now, now, now, BATCH)
        return [row["id"] for row in rows]

    async def _deliver(self, client: httpx.AsyncClient, row: dict[str, Any]) -> None:
        outcome = await self._send(client, row)
        attempts = row["attempts"] + 1
        if not outcome.ok:
            log.warning(
                "webhook %s: delivery %s (attempt %s) failed: %s",
                row["webhook_id"],
                row["id"],
                attempts,
                outcome.error,
            )
        async with db.write_transaction():
            await WebhookAttempt.insert(
                WebhookAttempt(
                    delivery=row["id"],
                    attempted_at=clock.now(),
                    duration_ms=outcome.duration_ms,
                    status_code=outcome.status_code,
                    error=outcome.error,
                )
            )
            # Only while the lease is still this worker's and nobody cancelled the delivery meanwhile.
            await WebhookDelivery.update(self._after(outcome, attempts)).where(
                WebhookDelivery.id == row["id"],
                WebhookDelivery.status == "pending",
                WebhookDelivery.lease_until_ms == row["lease_until_ms"],
            )

    def _after(self, outcome: Outcome, attempts: int) -> dict[Any, Any]:
        """The delivery's columns after its ``attempts``-th try: delivered, failed, or due again later."""
        values: dict[Any, Any] = {
            WebhookDelivery.attempts: attempts,
            WebhookDelivery.lease_until_ms: 0,
            WebhookDelivery.last_status_code: outcome.status_code,
            WebhookDelivery.last_error: outcome.error,
        }
        if outcome.ok:
            values.update({WebhookDelivery.status: "delivered", WebhookDelivery.delivered_at: clock.now()})
        elif attempts >= self.settings.webhook_max_attempts:
            values[WebhookDelivery.status] = "failed"
        else:
            delay = backoff_seconds(attempts, self.settings.webhook_retry_base_seconds)
            values[WebhookDelivery.next_attempt_ms] = _now_ms() + int(delay * 1000)
        return values

    async def _send(self, client: httpx.AsyncClient, row: dict[str, Any]) -> Outcome:
        payload = json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]
        body = event_body(row["event_id"], payload)
        secret = secret_for(server_key(self.settings.webhook_key_file), row["secret_salt"])
        headers = signed_headers(secret, message_id(row["event_id"]), clock.now(), body)
        started = time.monotonic()
        limit = self.settings.webhook_timeout_seconds
        try:
            # httpx's timeout bounds each read and write; this bounds the whole send (a receiver
            # answering a byte at a time would otherwise outlast the lease).
            async with (
                asyncio.timeout(limit),
                client.stream(
                    "POST",
                    row["url"],
                    content=body.encode(),
                    headers={**headers, "content-type": "application/json"},
                ) as response,
            ):
                async for _ in response.aiter_raw(_READ_LIMIT):
                    break
                status, error = response.status_code, _error_of(response)
        except TimeoutError:
            status, error = None, f"timed out after {limit:g} s"
        except httpx.HTTPError as exc:
            status, error = None, _describe(exc)
        except (OSError, ValueError, httpx.InvalidURL) as exc:
            status, error = None, type(exc).__name__
        return Outcome(status, error, int((time.monotonic() - started) * 1000))


def _error_of(response: httpx.Response) -> str | None:
    if response.is_success:
        return None
    if response.is_redirect:
        return f"HTTP {response.status_code}: redirects are not followed"
    return f"HTTP {response.status_code}"


def _describe(exc: httpx.HTTPError) -> str:
    # The exception's text, never the request: the URL may carry a token.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:1000]


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default (certifi's CAs), made once per process: loading the CAs takes ~35 ms, and every
    start of an app starts a worker (every test of the suite does)."""
    return httpx.create_ssl_context()


def _now_ms() -> int:
    return int(time.time() * 1000)
