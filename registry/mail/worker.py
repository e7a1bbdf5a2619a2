"""The mail worker: claims due messages under a lease, sends them through SMTP, records every try.

Several workers (every `registry serve` process, or `registry mail send`) may run at once: a message is
claimed by setting its lease in one UPDATE, so only one of them sends it at a time. A worker that dies
mid-send leaves a lease that runs out, and the message is tried again: sending is at least once (a
worker killed between the server's 250 and its own write sends it twice), and every try carries the
same Message-ID. Logs name message ids and recipients' domains, never bodies, links or addresses.
"""

import asyncio
import contextlib
import html
import logging
import random
import time
from typing import Any

from registry import clock, db
from registry.mail import smtp
from registry.mail.outbox import ERASED, ERASED_ANSWER, MARKER, minter_named
from registry.settings import Settings
from registry.tables import MailAttempt, MailMessage

log = logging.getLogger("registry.mail")

BATCH = 10
MAX_DELAY_SECONDS = 6 * 3600

_ANY_DUE = (
    "SELECT id FROM mail_message WHERE status = 'waiting' AND next_attempt_ms <= {} AND lease_until_ms < {}"
    " LIMIT 1"
)
# The lease is checked again on the row being updated: on PostgreSQL a worker that waited for another's
# claim re-reads the row and skips it (and SKIP LOCKED spares it the wait).
_CLAIM = (
    "UPDATE mail_message SET lease_until_ms = {} WHERE lease_until_ms < {} AND status = 'waiting' AND id IN ("
    "SELECT id FROM mail_message WHERE status = 'waiting' AND next_attempt_ms <= {} AND lease_until_ms < {}"
    " ORDER BY next_attempt_ms, id LIMIT {}%s) RETURNING id, lease_until_ms"
)


def backoff_seconds(attempts: int, base: float) -> float:
    """Wait after the ``attempts``-th failed try: base × 2^(attempts-1), ±20 % jitter, at most 6 hours."""
    delay = min(base * 2 ** min(attempts - 1, 30), MAX_DELAY_SECONDS)
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - spreads retries, not a secret


def domains(addresses: list[str]) -> str:
    """What the logs say of recipients: their domains only."""
    return ",".join(sorted({a.rpartition("@")[2] for a in addresses}))


class MailWorker:
    """Sends what is due, one batch at a time; with no SMTP host configured, sends nothing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Longer than any one conversation, plus time to record its answer.
        self.lease_ms = int((smtp.attempt_limit(settings) + 15) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; a database hiccup is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("mail worker: could not claim messages; retrying")
                sent = 0
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.mail_poll_seconds)

    async def run_once(self) -> int:
        """Claim and send one batch of due messages; returns how many were tried."""
        if not smtp.configured(self.settings):
            return 0  # they wait in the outbox; the dashboard says so
        claimed = await self._claim()
        # At once, each on its own connection: every claimed message's lease runs from now.
        results = await asyncio.gather(*(self._send_one(*one) for one in claimed), return_exceptions=True)
        for (message_id, _), result in zip(claimed, results, strict=True):
            if isinstance(result, Exception):  # its lease runs out and another try follows
                log.error(
                    "mail message %s could not be sent or recorded: %s", message_id, type(result).__name__
                )
        return len(claimed)

    async def drain(self) -> int:
        """Send everything due now, retries that fall due meanwhile included (``registry mail send``)."""
        total = 0
        while sent := await self.run_once():
            total += sent
        return total

    async def _claim(self) -> list[tuple[int, int]]:
        now = _now_ms()
        # A read first: an idle worker never takes SQLite's write lock.
        if not await MailMessage.raw(_ANY_DUE, now, now):
            return []
        sql = _CLAIM % ("" if db.is_sqlite() else " FOR UPDATE SKIP LOCKED")
        async with db.write_transaction():
            rows = await MailMessage.raw(sql, now + self.lease_ms, now, now, now, BATCH)
        return sorted((row["id"], row["lease_until_ms"]) for row in rows)

    async def _send_one(self, message_id: int, lease: int) -> None:
        row = await MailMessage.select().where(MailMessage.id == message_id).output(load_json=True).first()
        answer = await self._attempt(row, lease)
        attempts = row["attempts"] + 1
        outcome = "sent" if answer.ok else "failed"
        log.info(
            "mail message %s (%s, to %s) attempt %s: %s %s",
            message_id,
            row["kind"],
            domains(row["recipients"] + row["cc"]),
            attempts,
            outcome,
            answer.code if answer.code is not None else "no answer",
        )
        async with db.write_transaction():
            # The recipient may have been erased while this was on its way: the reply may quote it.
            now = await (
                MailMessage.select(MailMessage.recipients)
                .where(MailMessage.id == message_id)
                .output(load_json=True)
                .first()
            )
            erased = now is not None and ERASED in now["recipients"]
            await MailAttempt.insert(
                MailAttempt(
                    message=message_id,
                    attempted_at=clock.now(),
                    duration_ms=answer.duration_ms,
                    code=answer.code,
                    answer=ERASED_ANSWER if erased else answer.summary(),
                )
            )
            # Only while the lease is still this worker's and nobody changed the message meanwhile.
            await MailMessage.update(self._after(answer, attempts)).where(
                MailMessage.id == message_id,
                MailMessage.status == "waiting",
                MailMessage.lease_until_ms == lease,
            )

    async def _attempt(self, row: dict[str, Any], lease: int) -> smtp.Answer:
        try:
            values = await self._minted(row)
        except Exception as exc:
            return smtp.Answer(None, f"link minter {row['minter']!r} failed: {type(exc).__name__}")
        if row["minter"] is not None and not await self._still_mine(row["id"], lease):
            # Superseded (its request re-sent, cancelled, closed) while this worker held it: a link
            # minted before that was revoked with it, one minted after must not reach the old recipient.
            return smtp.Answer(None, "not sent: superseded while being sent")
        try:
            message = smtp.build(
                self.settings,
                to=row["recipients"],
                cc=row["cc"],
                subject=row["subject"],
                text=fill(row["text"], values, escape=False),
                html=fill(row["html"], values, escape=True) if row["html"] is not None else None,
                # List-Unsubscribe carries a link too: minted like the body's, never stored.
                headers=[[name, fill(value, values, escape=False)] for name, value in row["headers"]],
                token=row["message_id"],
            )
            return await smtp.send(self.settings, message, row["recipients"] + row["cc"])
        except Exception as exc:
            # Counted as an attempt: else a message that cannot be built would be retried every lease,
            # forever. The type only: the error's text may quote the body or a minted link.
            return smtp.Answer(None, f"could not build or send the message: {type(exc).__name__}")

    @staticmethod
    async def _still_mine(message_id: int, lease: int) -> bool:
        return await MailMessage.exists().where(
            (MailMessage.id == message_id)
            & (MailMessage.status == "waiting")
            & (MailMessage.lease_until_ms == lease)
        )

    async def _minted(self, row: dict[str, Any]) -> dict[str, str]:
        """The marker values for this attempt: fresh from the message's minter, kept nowhere."""
        if row["minter"] is None:
            return {}
        minter = minter_named(row["minter"])
        if minter is None:
            raise LookupError(row["minter"])
        return await minter(row["about_id"])

    def _after(self, answer: smtp.Answer, attempts: int) -> dict[Any, Any]:
        """The message's columns after its ``attempts``-th try: sent, failed, or due again later."""
        values: dict[Any, Any] = {
            MailMessage.attempts: attempts,
            MailMessage.lease_until_ms: 0,
            MailMessage.last_answer: answer.summary(),
        }
        if answer.ok:
            values.update({MailMessage.status: "sent", MailMessage.sent_at: clock.now()})
        elif answer.permanent or attempts >= self.settings.mail_max_attempts:
            values[MailMessage.status] = "failed"
        else:
            delay = backoff_seconds(attempts, self.settings.mail_retry_base_seconds)
            values[MailMessage.next_attempt_ms] = _now_ms() + int(delay * 1000)
        return values


def fill(body: str, values: dict[str, str], *, escape: bool) -> str:
    """``body`` with each ``[[name]]`` that ``values`` has replaced (HTML-escaped in HTML); others stay."""

    def value(match) -> str:
        found = values.get(match[1])
        if found is None:
            return match[0]
        return html.escape(found, quote=True) if escape else found

    return MARKER.sub(value, body)


def _now_ms() -> int:
    return int(time.time() * 1000)
