"""The head of the change log: the newest (id, hash), which names the state of every record.

Every write appends to the hash-chained change log in the writer's own transaction, so the head moves
with any write — through any worker, the API or the CLI — and a restored backup has a head of its own.
Each request reads it once (one indexed row); what a worker keeps in memory (verified API keys, the
taxonomy, lookup answers) is valid only while the head is the one it was computed at. That is how the
caches never serve anything a write has made stale, without a time-to-live.

Writes that bypass the service layer (hand-written SQL) do not move the head: restart the workers after one.
"""

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from registry import db
from registry.tables import Change

# The head the current request has read (set by the authentication middleware).
observed_head: ContextVar[tuple | None] = ContextVar("observed_head", default=None)

_HEAD = "SELECT id, hash FROM change ORDER BY id DESC LIMIT 1"


class HeadReader:
    """Reads the head once per request, as cheaply as each engine allows.

    On SQLite, synchronously on one long-lived read-only connection of Python's ``sqlite3``: the read is
    a few microseconds of C, while a hop to an aiosqlite thread and back costs more than the whole
    cached lookup. A WAL reader does not wait for writers; in the rare case SQLite answers "busy" (the
    connection is opened with no busy timeout, so it never blocks the event loop) the read goes through
    aiosqlite instead, which waits.

    On PostgreSQL a read is a round trip, so requests share reads: a request waits for the next read
    that has not been sent yet (never one already on its way), so the head it gets was read after the
    request arrived, exactly as if it had read it alone; under load one read serves every request that
    came in while the previous one was out (see ``_Shared``)."""

    def __init__(self) -> None:
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_path: str | None = None
        self._shared = _Shared(self._read_postgres)

    async def read(self) -> tuple:
        engine = db.current_engine()
        if db.is_sqlite(engine):
            rows = self._read_sqlite(engine)
            if rows is None:
                rows = await Change.raw(_HEAD)
        else:
            rows = await self._shared.get()
        head = (id(engine), rows[0]["id"], rows[0]["hash"]) if rows else (id(engine), 0, "")
        observed_head.set(head)
        return head

    @staticmethod
    async def _read_postgres() -> list:
        engine = db.current_engine()
        if (pool := getattr(engine, "pool", None)) is not None:
            row = await pool.fetchrow(_HEAD)  # straight from asyncpg's pool: no query building
            return [row] if row is not None else []
        return await Change.raw(_HEAD)

    def _read_sqlite(self, engine: Any) -> list | None:
        path = engine.connection_kwargs["database"]
        try:
            if self._sqlite is None or self._sqlite_path != path:
                self._close_sqlite()
                # isolation_level=None: each SELECT is its own read transaction, so it sees the latest commit.
                connection = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
                connection.row_factory = sqlite3.Row
                connection.execute("PRAGMA query_only = ON")
                self._sqlite, self._sqlite_path = connection, path
            return self._sqlite.execute(_HEAD).fetchall()
        except sqlite3.OperationalError:  # busy, or the file is being replaced: let aiosqlite wait
            self._close_sqlite()
            return None

    def _close_sqlite(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None

    async def close(self) -> None:
        self._close_sqlite()


class _Shared:
    """One read at a time; callers who arrive while it is out wait for the next one, which they share.

    A caller joins ``_next``, the read that has not been sent yet, and the runner sends it only after the
    one before has come back: so every caller's answer comes from a read sent after the caller arrived.
    An error is every waiting caller's error; the next caller starts afresh."""

    def __init__(self, fetch: Callable[[], Awaitable[Any]]) -> None:
        self._fetch = fetch
        self._next: asyncio.Future | None = None
        self._runner: asyncio.Task | None = None

    async def get(self) -> Any:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        future = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(future)  # one caller cancelled must not cancel the others' read

    async def _run(self) -> None:
        while (future := self._next) is not None:
            self._next = None  # callers from now on wait for the read after this one
            try:
                result = await self._fetch()
            except asyncio.CancelledError:  # the app is stopping
                future.cancel()
                raise
            except Exception as error:  # every caller waiting for this read gets its error
                future.set_exception(error)
                future.exception()  # retrieved: perhaps every caller was cancelled
            else:
                future.set_result(result)
