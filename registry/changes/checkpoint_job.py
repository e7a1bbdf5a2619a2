"""The background job every server process runs: a signed checkpoint of the change log each interval.

Every process looks; the one that finds a checkpoint due makes it under a lock (PostgreSQL advisory
lock; SQLite's IMMEDIATE transaction) and re-checks first, so several servers make one per interval.
The first is due an interval after the process started, so a restart does not sign a checkpoint.
"""

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from registry.changes.checkpoints import SigningUnavailable, make_checkpoint
from registry.settings import Settings
from registry.tables import Checkpoint
from registry.timestamps import TimestampUnavailable

log = logging.getLogger("registry.checkpoints")

MADE_BY = "interval"


class CheckpointJob:
    """Makes a checkpoint when the newest one (or this process's start) is an interval old."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.interval = settings.checkpoint_interval_seconds
        self.started = datetime.now(UTC)
        self.poll = min(max(self.interval / 4, 0.05), 60.0)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; a failure is logged and tried again at the next poll, never fatal."""
        while not stop.is_set():
            try:
                await self.run_once()
            except (SigningUnavailable, TimestampUnavailable) as exc:
                log.error("%s", exc.detail)
            except Exception:
                log.exception("checkpoint job: could not make a checkpoint; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll)

    async def run_once(self) -> dict | None:
        now = datetime.now(UTC)
        if now - self.started < timedelta(seconds=self.interval):
            return None
        # A read first: an idle server never takes SQLite's write lock.
        newest = (
            await Checkpoint.select(Checkpoint.created_at).order_by(Checkpoint.id, ascending=False).first()
        )
        if newest and now - newest["created_at"] < timedelta(seconds=self.interval):
            return None
        made = await make_checkpoint(self.settings, MADE_BY, interval=self.interval)
        if made:
            log.info("checkpoint %s made", made["id"])
        return made
