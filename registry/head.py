"""The head of the change log: the newest (id, hash), which names the state of every record.

Every write appends to the hash-chained change log in the writer's own transaction, so the head moves
with any write — through any worker, the API or the CLI — and a restored backup has a head of its own.
Each request reads it once (one indexed row); what a worker keeps in memory (verified API keys, the
taxonomy, lookup answers) is valid only while the head is the one it was computed at. That is how the
caches never serve anything a write has made stale, without a time-to-live.

Writes that bypass the service layer (hand-written SQL) do not move the head: restart the workers after one.
"""

import asyncio
from contextvars import ContextVar
from typing import Any

from registry import db
from registry.tables import Change

# The head the current request has read (set by the authentication middleware).
observed_head: ContextVar[tuple | None] = ContextVar("observed_head", default=None)

_HEAD = "SELECT id, hash FROM change ORDER BY id DESC LIMIT 1"


class HeadReader:
    """Reads the head; on SQLite on one long-lived connection, because Piccolo opens a connection per
    query and a new connection parses the schema again before its first read (three times the cost);
    on PostgreSQL straight from the asyncpg pool."""

    def __init__(self) -> None:
        self._sqlite: Any = None
        self._opening = asyncio.Lock()  # concurrent first requests must not each open (and leak) one

    async def read(self) -> tuple:
        engine = db.current_engine()
        if db.is_sqlite(engine):
            if self._sqlite is None:
                async with self._opening:
                    if self._sqlite is None:
                        self._sqlite = await engine.get_connection()
            rows = await self._sqlite.execute_fetchall(_HEAD)
        elif (pool := getattr(engine, "pool", None)) is not None:
            rows = [await pool.fetchrow(_HEAD)]  # straight from asyncpg's pool: no query building
            rows = rows if rows[0] is not None else []
        else:
            rows = await Change.raw(_HEAD)
        head = (id(engine), rows[0]["id"], rows[0]["hash"]) if rows else (id(engine), 0, "")
        observed_head.set(head)
        return head

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None
