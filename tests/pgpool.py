"""PostgreSQL test databases made ahead and dropped behind, in a thread of their own (docs/testing.md).

``CREATE DATABASE ... TEMPLATE`` took 0.05-0.25 s a test and ``DROP DATABASE`` 0.04-0.06 s (more under
load), time the test process spent waiting for the server. Here one thread, on one connection of its
own, keeps a fresh copy of each template ready and drops the databases tests are done with, while
the tests run. A database handed out is a fresh copy made from the template no earlier than the
previous test took the one before it: nothing a test does reaches it.
"""

import asyncio
import itertools
import os
import queue
import threading

import asyncpg

_CREATE, _DROP, _STOP = 0, 1, 2  # the order jobs are done in when several wait: a test may wait on a create


class DatabasePool:
    """One spare database per template, made in the background; drops done there too."""

    def __init__(self, server: str, templates: list[str]) -> None:
        self.server = server
        self.ready = {template: queue.Queue() for template in templates}
        self.jobs: queue.PriorityQueue = queue.PriorityQueue()
        self.order = itertools.count()
        self.names = itertools.count()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._work, daemon=True, name="pg-databases")
        self.thread.start()
        for template in templates:
            self._ask(_CREATE, template)

    def take(self, template: str) -> str:
        """The URL of a fresh database copied from ``template``; another one is made to replace it."""
        try:
            name = self.ready[template].get(timeout=120)
        except queue.Empty:
            raise RuntimeError(f"no database made from {template} in 120 s: {self.failure!r}") from None
        if isinstance(name, BaseException):
            raise RuntimeError(f"making a database from {template} failed") from name
        self._ask(_CREATE, template)
        return f"{self.server}/{name}"

    def drop(self, url: str) -> None:
        """Drop the database at ``url`` soon, in the background (its test is over)."""
        self._ask(_DROP, url.rpartition("/")[2])

    def close(self) -> None:
        """Drop the spare databases and those still queued for dropping; then the thread ends."""
        self._ask(_STOP, None)
        self.thread.join(timeout=120)

    def _ask(self, kind: int, argument: str | None) -> None:
        self.jobs.put((kind, next(self.order), argument))

    def _work(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            connection = loop.run_until_complete(asyncpg.connect(f"{self.server}/postgres"))
            try:
                loop.run_until_complete(self._serve(connection))
            finally:
                loop.run_until_complete(connection.close())
        except BaseException as exc:  # noqa: BLE001 - told to the tests waiting, not lost in a thread
            self.failure = exc
            for ready in self.ready.values():
                ready.put(exc)
        finally:
            loop.close()

    async def _serve(self, connection: asyncpg.Connection) -> None:
        while True:
            kind, _, argument = await asyncio.to_thread(self.jobs.get)
            if kind == _CREATE:
                name = f"t{os.getpid()}_pool{next(self.names)}"
                await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{argument}"')
                self.ready[argument].put(name)
            elif kind == _DROP:
                await connection.execute(f'DROP DATABASE IF EXISTS "{argument}" WITH (FORCE)')
            else:
                await self._drop_the_rest(connection)
                return

    async def _drop_the_rest(self, connection: asyncpg.Connection) -> None:
        names = []
        for ready in self.ready.values():
            while not ready.empty():
                names.append(ready.get_nowait())
        while not self.jobs.empty():
            kind, _, argument = self.jobs.get_nowait()
            if kind == _DROP:
                names.append(argument)
        for name in names:
            if isinstance(name, str):
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
