"""The head of the change log: the newest (id, hash), which names the state of every record.

Every write appends to the hash-chained change log in the writer's own transaction, so the head moves
with any write — through any worker, the API or the CLI — and a restored backup has a head of its own.
Each request reads it once (one indexed row); what a worker keeps in memory (verified API keys, the
taxonomy, lookup answers) is valid only while the head is the one it was computed at. That is how the
caches never serve anything a write has made stale, without a time-to-live.

Lookup answers follow a narrower head, the newest change of a kind a lookup can depend on: writes of
the kinds in ``NOT_READ_BY_LOOKUPS`` (attestations, journal entries, keys, ...) leave the answers warm.
Verified API keys follow the newest change to a key. Both are read in the same statement.

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
# The newest change a lookup answer can depend on, read with it (see NOT_READ_BY_LOOKUPS).
observed_answers_head: ContextVar[tuple | None] = ContextVar("observed_answers_head", default=None)
# The newest change to an API key, read with it.
observed_keys_head: ContextVar[tuple | None] = ContextVar("observed_keys_head", default=None)

# Kinds of change (change.object_type) that no lookup answer depends on: lookups read vendors,
# contracts, disclosures and the taxonomy only (tests/test_head.py checks the tables a lookup reads).
# A kind not listed here empties the lookup answers, so a new kind of record is safe by default.
# The partial index change_lookup_relevant (migration 0010) has the same list: change both together.
NOT_READ_BY_LOOKUPS = (
    "api_key",
    "attestation",
    "deletion_confirmation",
    "deletion_obligation",
    "journal_entry",
    "person",
    "webhook",
)
LOOKUP_RELEVANT = "object_type NOT IN ({})".format(", ".join(f"'{kind}'" for kind in NOT_READ_BY_LOOKUPS))
# Verified API keys follow the newest change to a key: creating or revoking one (other writes, and
# there is one with every attestation, leave the verified keys alone).
KEYS = "object_type = 'api_key'"


def _heads(answers_index: str = "", keys_index: str = "") -> str:
    """The three heads in one statement, each read from an index: the primary key and two partial ones."""
    return (
        "SELECT h.id, h.hash, a.id AS answers_id, a.hash AS answers_hash, k.id AS keys_id, k.hash AS keys_hash"
        " FROM (SELECT id, hash FROM change ORDER BY id DESC LIMIT 1) AS h"
        f" LEFT JOIN (SELECT id, hash FROM change{answers_index} WHERE {LOOKUP_RELEVANT}"
        " ORDER BY id DESC LIMIT 1) AS a ON 1 = 1"
        f" LEFT JOIN (SELECT id, hash FROM change{keys_index} WHERE {KEYS} ORDER BY id DESC LIMIT 1) AS k"
        " ON 1 = 1"
    )


_HEAD = _heads()
# SQLite's planner, without statistics, prefers the index on (object_type, object_id) and sorts: named.
_HEAD_SQLITE = _heads(" INDEXED BY change_lookup_relevant", " INDEXED BY change_api_key")


_EMPTY = dict.fromkeys(("answers_id", "answers_hash", "keys_id", "keys_hash"), None) | {"id": 0, "hash": ""}


class HeadReader:
    """Reads the head once per request, as cheaply as each engine allows.

    On SQLite, synchronously on one long-lived read-only connection of Python's ``sqlite3``: the read is
    a few microseconds of C, while a hop to an aiosqlite thread and back costs more than the whole
    cached lookup. A WAL reader does not wait for writers; in the rare case SQLite answers "busy" (the
    connection is opened with no busy timeout, so it never blocks the event loop) the read goes through
    aiosqlite instead, which waits. The heads are read again only when ``PRAGMA data_version`` says
    another connection has committed since the last read.

    On PostgreSQL a read is a round trip, so requests share reads: a request waits for the next read
    that has not been sent yet (never one already on its way), so the head it gets was read after the
    request arrived, exactly as if it had read it alone; under load one read serves every request that
    came in while the previous one was out (see ``_Shared``)."""

    def __init__(self) -> None:
        self._sqlite: sqlite3.Connection | None = None
        self._sqlite_path: str | None = None
        self._sqlite_version: int | None = None  # PRAGMA data_version when _sqlite_rows were read
        self._sqlite_rows: list | None = None
        self._shared = _Shared(self._read_postgres)

    async def read(self) -> tuple:
        engine = db.current_engine()
        if db.is_sqlite(engine):
            rows = self._read_sqlite(engine)
            if rows is None:
                rows = await Change.raw(_HEAD_SQLITE)
        else:
            rows = await self._shared.get()
        row = rows[0] if rows else _EMPTY
        head = (id(engine), row["id"], row["hash"])
        observed_head.set(head)
        observed_answers_head.set((id(engine), row["answers_id"] or 0, row["answers_hash"] or ""))
        observed_keys_head.set((id(engine), row["keys_id"] or 0, row["keys_hash"] or ""))
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
            # data_version moves when any other connection commits (this one writes nothing, and a
            # restore writes through a connection of its own), so an unmoved one means the heads are
            # those read last: 4 µs against the heads' 17 (bench: registry/head.py, docs/benchmarks.md).
            version = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
            if version != self._sqlite_version or self._sqlite_rows is None:
                self._sqlite_rows = self._sqlite.execute(_HEAD_SQLITE).fetchall()
                self._sqlite_version = version
            return self._sqlite_rows
        except sqlite3.OperationalError:  # busy, or the file is being replaced: let aiosqlite wait
            self._close_sqlite()
            return None

    def _close_sqlite(self) -> None:
        self._sqlite_rows = self._sqlite_version = None
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
