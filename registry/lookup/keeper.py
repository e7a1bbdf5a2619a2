"""Fills a worker's DisclosureIndex from the database and keeps it at the lookup head.

The first lookup loads vendors, contracts and disclosures with the lookup head (registry.head) in one
snapshot. A later lookup that has read a head the index has not passed reads the change log from the
index's head on, in one snapshot: its first row must still be the index's head (else the database was
replaced or restored, and the index is loaded again), and each vendor, contract and disclosure named
after it is read again by id, as the load reads it (the after-images are the API's Read schemas, not
the rows; reading the row keeps one way of filling the index). The index is then at a head at least as
new as the one the request read, so a write through any worker, server or the CLI is in the answer.

SQLite: one long-lived read-only connection of Python's sqlite3 (WAL readers do not wait for writers),
used synchronously for a catch-up (a few indexed reads) and in a thread for the load. PostgreSQL: a
REPEATABLE READ, read-only transaction on a connection of the engine's pool.
"""

import asyncio
import gc
import json
import sqlite3
from collections import deque
from typing import Any

from registry import db
from registry.head import LOOKUP_RELEVANT
from registry.lookup.index import DisclosureIndex

_VENDORS = "SELECT id, name, kind, country FROM vendor"
_CONTRACTS = (
    "SELECT id, vendor, reference, title, kind, signed_on, effective_from, ends_on, terminated_on,"
    " confidentiality_equivalent FROM contract"
)
# Each disclosure with its category keys, space-separated (keys have no spaces), in one stream.
_DISCLOSURES = (
    "SELECT id, vendor, contract, basis, role, purpose, consent_reference, legal_reference, data_subjects,"
    " country, origin, valid_from, valid_to, ended_reason, notes, engagement, version, created_at,"
    " updated_at,"
    " (SELECT {aggregate}(category, ' ') FROM disclosure_category WHERE disclosure = d.id) AS categories"
    " FROM disclosure d"
)
_TRANSFERS = (
    "SELECT disclosure, mechanism, mechanism_reference, scc_module, derogation, dpf_certified,"
    " filing_date, filing_number,"
    " separate_consent_reference, tia_date, tia_review_by FROM transfer"
)
_ENGAGEMENTS = (
    "SELECT id, engaged_by, subprocessor, valid_from, valid_to, objected_on, processor_contract"
    " FROM subprocessor_engagement"
)
_HEAD = f"SELECT id, hash FROM change WHERE {LOOKUP_RELEVANT} ORDER BY id DESC LIMIT 1"
_SINCE = (
    f"SELECT id, hash, object_type, object_id FROM change WHERE id >= $1 AND {LOOKUP_RELEVANT} ORDER BY id"
)
# Beyond this many changes to catch up on, loading afresh is quicker than reading each record again.
_MOST_CHANGES = 20_000
_BY_ID = {
    "vendor": _VENDORS + " WHERE id = $1",
    "contract": _CONTRACTS + " WHERE id = $1",
    "disclosure": _DISCLOSURES + " WHERE d.id = $1",
    "transfer": _TRANSFERS + " WHERE disclosure = $1",  # its change rows name the disclosure
    "subprocessor_engagement": _ENGAGEMENTS + " WHERE id = $1",
}
# What a load reads, in this order (a disclosure's engagement is read before it).
_LOAD = (
    ("vendor", _VENDORS),
    ("contract", _CONTRACTS),
    ("subprocessor_engagement", _ENGAGEMENTS),
    ("disclosure", _DISCLOSURES),
    ("transfer", _TRANSFERS),
)
_AGGREGATE = {"sqlite": "group_concat", "postgres": "string_agg"}


def _sqlite(sql: str) -> str:
    return sql.replace("$1", "?").format(aggregate=_AGGREGATE["sqlite"])


def _postgres(sql: str) -> str:
    return sql.format(aggregate=_AGGREGATE["postgres"])


def _put(index: DisclosureIndex, object_type: str, row: Any) -> None:
    if object_type == "vendor":
        index.put_vendor(row)
    elif object_type == "contract":
        index.put_contract(row)
    elif object_type == "transfer":
        index.transfers[row["disclosure"]] = {name: row[name] for name in row.keys()}
    elif object_type == "subprocessor_engagement":
        index.put_engagement(row)
    else:
        values = {name: row[name] for name in row.keys()}
        if isinstance(values["data_subjects"], str):
            values["data_subjects"] = json.loads(values["data_subjects"])
        index.put_disclosure(values, (values.pop("categories") or "").split())


def _apply(index: DisclosureIndex, object_type: str, object_id: int, rows: list) -> None:
    """A record as read again after a change: replaced, or dropped when it is gone."""
    if rows:
        _put(index, object_type, rows[0])
    elif object_type == "vendor":
        index.vendors.pop(object_id, None)
    elif object_type == "contract":
        index.contracts.pop(object_id, None)
    elif object_type == "transfer":
        index.transfers.pop(object_id, None)
    elif object_type == "subprocessor_engagement":
        index.drop_engagement(object_id)
    else:
        index.drop_disclosure(object_id)


def _settled(index: DisclosureIndex) -> None:
    """The loaded index left out of the collector's passes: it is most of the heap, and a full pass
    over it took longer than a lookup, at random."""
    gc.collect()
    gc.freeze()


class IndexKeeper:
    """One worker's index, loaded on first use and brought up to the head each lookup has read."""

    def __init__(self) -> None:
        self.index: DisclosureIndex | None = None
        self._engine: int | None = None
        self._passed: deque[tuple] = deque(maxlen=64)  # heads the index has been at, newest last
        self._lock = asyncio.Lock()
        self._sqlite: sqlite3.Connection | None = None

    async def at(self, head: tuple | None) -> DisclosureIndex:
        """The index, at ``head`` (engine id, change id, hash) or newer."""
        if self.index is not None and head is not None and head in self._passed:
            return self.index
        async with self._lock:
            engine = db.current_engine()
            if self.index is None or self._engine != id(engine):
                await self._load(engine)
            elif head is None or head not in self._passed:
                await self._catch_up(engine)
            return self.index

    def _connection(self, engine: Any) -> sqlite3.Connection:
        if self._sqlite is None:
            self._sqlite = sqlite3.connect(
                engine.connection_kwargs["database"],
                timeout=5,
                isolation_level=None,
                check_same_thread=False,
                detect_types=sqlite3.PARSE_DECLTYPES,  # Piccolo's converters: the values it reads
            )
            self._sqlite.row_factory = sqlite3.Row
            self._sqlite.execute("PRAGMA query_only = ON")
        return self._sqlite

    async def _load(self, engine: Any) -> None:
        self.close()
        index = DisclosureIndex()
        if db.is_sqlite(engine):
            connection = self._connection(engine)
            head = await asyncio.to_thread(self._load_sqlite, connection, index)
        else:
            head = await self._load_postgres(engine, index)
        index.head = head
        self.index, self._engine = index, id(engine)
        self._passed.clear()
        self._passed.append((id(engine), *head))

    @staticmethod
    def _load_sqlite(connection: sqlite3.Connection, index: DisclosureIndex) -> tuple[int, str]:
        connection.execute("BEGIN")
        try:
            head = connection.execute(_HEAD).fetchall()
            for object_type, sql in _LOAD:
                for row in connection.execute(_sqlite(sql)):  # streamed: the rows are not all kept
                    _put(index, object_type, row)
        finally:
            connection.execute("COMMIT")
        _settled(index)
        return (head[0]["id"], head[0]["hash"]) if head else (0, "")

    @staticmethod
    async def _load_postgres(engine: Any, index: DisclosureIndex) -> tuple[int, str]:
        async with engine.pool.acquire() as connection:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                head = await connection.fetch(_HEAD)
                for object_type, sql in _LOAD:
                    async for row in connection.cursor(_postgres(sql), prefetch=2000):
                        _put(index, object_type, row)
        _settled(index)
        return (head[0]["id"], head[0]["hash"]) if head else (0, "")

    async def _catch_up(self, engine: Any) -> None:
        index = self.index
        since, known = index.head
        if db.is_sqlite(engine):
            changes = self._changes_sqlite(engine, since)
        else:
            changes = await self._changes_postgres(engine, since)
        if changes is None:
            await self._load(engine)
            return
        last, records = changes
        for (object_type, object_id), rows in records.items():
            _apply(index, object_type, object_id, rows)
        index.head = last
        self._passed.append((id(engine), *last))

    @staticmethod
    def _named(changes: list) -> dict[tuple[str, int], None]:
        return {
            (c["object_type"], int(c["object_id"])): None
            for c in changes
            if c["object_type"] in _BY_ID and c["object_id"].isdigit()
        }

    def _verified(self, since: int, known: str, changes: list) -> bool:
        if since == 0:
            return not changes or changes[0]["id"] > 0
        return bool(changes) and changes[0]["id"] == since and changes[0]["hash"] == known

    def _changes_sqlite(self, engine: Any, since: int):
        connection = self._connection(engine)
        connection.execute("BEGIN")
        try:
            changes = connection.execute(_sqlite(_SINCE), (since,)).fetchall()
            if not self._verified(since, self.index.head[1], changes) or len(changes) > _MOST_CHANGES:
                return None
            records = {
                named: connection.execute(_sqlite(_BY_ID[named[0]]), (named[1],)).fetchall()
                for named in self._named(changes)
            }
        finally:
            connection.execute("COMMIT")
        return (changes[-1]["id"], changes[-1]["hash"]) if changes else self.index.head, records

    async def _changes_postgres(self, engine: Any, since: int):
        async with engine.pool.acquire() as connection:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                changes = await connection.fetch(_SINCE, since)
                if not self._verified(since, self.index.head[1], changes) or len(changes) > _MOST_CHANGES:
                    return None
                records = {
                    named: await connection.fetch(_postgres(_BY_ID[named[0]]), named[1])
                    for named in self._named(changes)
                }
        return (changes[-1]["id"], changes[-1]["hash"]) if changes else self.index.head, records

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
