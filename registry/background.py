"""A job that runs for the life of one server process, started and stopped by its lifespan."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class BackgroundTask:
    """Runs ``job(stop_event)`` as a task until the event is set, then waits a grace period for it."""

    def __init__(self, job: Callable[[asyncio.Event], Awaitable[None]], name: str) -> None:
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(job(self.stop_event), name=name)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the work in flight finish (a webhook batch would else be sent again when its leases run
        out; a checkpoint be signed and not written), then cancel what is left."""
        self.stop_event.set()
        await asyncio.wait({self.task}, timeout=grace_seconds)
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
