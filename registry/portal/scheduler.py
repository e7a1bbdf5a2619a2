"""The scheduled jobs: open the obligations of contracts that expired, queue the reminders that are
due, and the notices of sub-processor changes to subscribers (registry/notices/sender.py). Each server runs them (leased in ``job_lease``: one server at a time, once per
interval); `registry remind` runs the same jobs from cron."""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from registry import clock, db
from registry.deletions.service import open_expired
from registry.notices import sender, subscriptions
from registry.portal import reminders
from registry.settings import Settings
from registry.tables import JobLease

log = logging.getLogger("registry.portal")
JOB = "portal-scheduler"
_TAKE = "UPDATE job_lease SET holder = {}, until_ms = {} WHERE name = {} AND (until_ms < {} OR holder = {}) RETURNING id"
_ADD = "INSERT INTO job_lease (name, holder, until_ms) VALUES ({}, '', 0) ON CONFLICT (name) DO NOTHING"


@dataclass
class Ran:
    opened: int
    reminders: int
    notices: int = 0


async def run_jobs(settings: Settings) -> Ran:
    """Every job, now: expired contracts' obligations (and their requests), due reminders, due notices
    (and unconfirmed subscriptions' addresses erased)."""
    opened = await open_expired()
    queued = await reminders.queue_due(settings, clock.today())
    await subscriptions.erase_unconfirmed(settings)
    return Ran(opened, queued, await sender.queue_notices(settings, clock.today()))


async def take_lease(name: str, holder: str, seconds: float) -> bool:
    """Hold the job for ``seconds`` unless another holder's lease is still running."""
    now = int(time.time() * 1000)
    async with db.write_transaction():
        await JobLease.raw(_ADD, name)
        return bool(await JobLease.raw(_TAKE, holder, now + int(seconds * 1000), name, now, holder))


class SchedulerJob:
    """Runs the jobs each interval while this process holds the lease."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]

    async def run(self, stop: asyncio.Event) -> None:
        interval = self.settings.scheduler_interval_seconds
        # An interval first, then the jobs: a server that starts (a deploy, every test's app) does not
        # add a write to its startup, and the jobs are due by the day, not by the second.
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                break
            try:
                if await take_lease(JOB, self.holder, interval):
                    await run_jobs(self.settings)
            except Exception:
                log.exception("portal scheduler: the jobs failed; trying again next interval")
