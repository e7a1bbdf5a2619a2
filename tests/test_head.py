"""How requests read the change-log head: every request gets a head read after it arrived.

On PostgreSQL requests share reads (``registry.head._Shared``); these tests hold a read "on the wire"
and check who may share it. The end-to-end consequence (a write is seen by every lookup sent after it
returned, while other lookups are in flight) is tested over HTTP at the bottom, on both engines.
"""

import asyncio
import importlib
import re

import anyio
import anyio.lowlevel
import httpx
import pytest

from registry import db
from registry.head import _HEAD, _HEAD_SQLITE, KEYS, LOOKUP_RELEVANT, NOT_READ_BY_LOOKUPS, _Shared
from registry.lookup import keeper
from registry.tables import Change
from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.harness import started_app
from tests.test_lookup_cache import QUESTION, ask

MIGRATION = importlib.import_module("registry.piccolo_migrations.registry_0010_lookup_head")

pytestmark = pytest.mark.anyio


class Wire:
    """A fetch that answers the number of the read, once the test lets it through."""

    def __init__(self) -> None:
        self.sent = 0
        self.gates: list[asyncio.Event] = []
        self.sending = asyncio.Event()

    async def fetch(self) -> int:
        self.sent += 1
        self.sending.set()
        number = self.sent
        gate = asyncio.Event()
        self.gates.append(gate)
        await gate.wait()
        if number == 2 and getattr(self, "fail_second", False):
            raise ConnectionError("the database went away")
        return number

    async def until_sent(self, count: int) -> None:
        while self.sent < count:
            self.sending.clear()
            await self.sending.wait()


async def test_callers_share_a_read_sent_after_they_arrived():
    wire = Wire()
    shared = _Shared(wire.fetch)
    first = asyncio.create_task(shared.get())
    await wire.until_sent(1)
    # These arrive while read 1 is out: read 1 may predate a write they must see, so they wait for read 2.
    late = [asyncio.create_task(shared.get()) for _ in range(5)]
    await asyncio.sleep(0)
    assert wire.sent == 1  # read 2 is not sent while read 1 is out
    wire.gates[0].set()
    assert await first == 1
    await wire.until_sent(2)
    wire.gates[1].set()
    assert await asyncio.gather(*late) == [2] * 5
    assert wire.sent == 2  # six callers, two reads


async def test_an_error_reaches_every_caller_of_that_read_and_the_next_caller_reads_again():
    wire = Wire()
    wire.fail_second = True
    shared = _Shared(wire.fetch)
    first = asyncio.create_task(shared.get())
    await wire.until_sent(1)
    failing = [asyncio.create_task(shared.get()) for _ in range(3)]
    wire.gates[0].set()
    assert await first == 1
    await wire.until_sent(2)
    wire.gates[1].set()
    results = await asyncio.gather(*failing, return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError] * 3
    again = asyncio.create_task(shared.get())
    await wire.until_sent(3)
    wire.gates[2].set()
    assert await again == 3


async def test_a_cancelled_caller_does_not_cancel_the_read_others_wait_for():
    wire = Wire()
    shared = _Shared(wire.fetch)
    impatient = asyncio.create_task(shared.get())
    patient = asyncio.create_task(shared.get())
    await wire.until_sent(1)
    impatient.cancel()
    await asyncio.sleep(0)
    wire.gates[0].set()
    assert await patient == 1
    assert impatient.cancelled()


async def test_every_lookup_sent_after_a_write_returned_sees_it(client, auth, other_worker):
    """Lookups run without pause from several tasks while a second worker ends the only disclosure:
    whichever lookup was sent after the write returned must not answer from before it."""
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    disclosure = await make_disclosure(client, auth, vendor["id"], contract["id"])
    assert (await ask(client, auth)).json()["total"] == 1
    written = anyio.Event()
    after_write: list[int] = []

    async def keep_asking() -> None:
        while len(after_write) < 40:
            sent_after_write = written.is_set()
            total = (await ask(client, auth)).json()["total"]
            if sent_after_write:
                after_write.append(total)
            await anyio.lowlevel.checkpoint()  # a cached answer in process never waits: let the writer run

    async def write() -> None:
        await anyio.sleep(0.02)
        ended = await other_worker.post(
            f"/disclosures/{disclosure['id']}/end",
            json={"ended_on": "2025-05-31", "reason": "no longer needed"},
            headers=auth(),
        )
        assert ended.status_code == 200, ended.text
        written.set()

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            for _ in range(8):
                tasks.start_soon(keep_asking)
            tasks.start_soon(write)
    assert len(after_write) >= 40
    assert set(after_write) == {0}


def test_the_lookup_index_reads_no_table_whose_writes_leave_their_answers_cached():
    """The index (registry.lookup.keeper) is loaded and caught up by statements of its own."""
    statements = " ".join([keeper._VENDORS, keeper._CONTRACTS, keeper._DISCLOSURES, keeper._SINCE])
    tables = set(re.findall(r"(?:FROM|JOIN)\s+(\w+)", statements))
    assert tables == {"vendor", "contract", "disclosure", "disclosure_category", "change"}
    assert tables.isdisjoint(NOT_READ_BY_LOOKUPS)


async def test_lookups_read_no_table_whose_writes_leave_their_answers_cached(settings, auth, capsys):
    """If a lookup ever reads one of these tables, its writes must empty the answers: take the kind out of
    NOT_READ_BY_LOOKUPS (and the partial index of migration 0010). Asked of the SQL path (the index off),
    whose queries Piccolo logs."""
    async with (
        started_app(settings.model_copy(update={"lookup_index": False})) as application,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://t") as client,
    ):
        await _ask_every_lookup(client, auth, capsys)


async def _ask_every_lookup(client, auth, capsys) -> None:
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    await make_disclosure(client, auth, vendor["id"], contract["id"])
    await ask(client, auth)  # the key is verified and cached: what is logged below is the lookups' own work
    engine = db.current_engine()
    capsys.readouterr()
    engine.log_queries = True
    try:
        fresh = {**auth("lookup"), "Cache-Control": "no-cache"}
        answers = [
            await client.get("/lookup/recipients", params=QUESTION, headers=fresh),
            await client.get(
                "/lookup/history",
                params={"category": "user.contact", "from": "2025-01-01", "to": "2025-12-31"},
                headers=fresh,
            ),
            await client.get(
                f"/lookup/vendors/{vendor['id']}", params={"as_of": "2025-06-01"}, headers=fresh
            ),
            await client.post(
                "/lookup/check",
                json={"vendor": vendor["id"], "categories": ["user.contact.email"], "on": "2025-06-01"},
                headers=fresh,
            ),
        ]
    finally:
        engine.log_queries = False
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    logged = capsys.readouterr().out
    tables = set(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', logged))
    assert {"vendor", "contract", "disclosure", "disclosure_category"} <= tables, logged
    assert tables.isdisjoint(NOT_READ_BY_LOOKUPS), tables  # each kind is named after its table


async def plan_of_the_head_read(engine) -> str:
    if db.is_sqlite(engine):
        rows = await Change.raw(f"EXPLAIN QUERY PLAN {_HEAD_SQLITE}")
        return " ".join(str(tuple(r.values())) for r in rows)
    async with engine.transaction():
        await Change.raw("SET LOCAL enable_seqscan = off")  # a few rows: PostgreSQL would rather scan
        return " ".join(r["QUERY PLAN"] for r in await Change.raw(f"EXPLAIN {_HEAD}"))


async def test_the_heads_are_read_from_their_partial_indexes(client, auth):
    """The WHERE clauses in registry.head must match the indexes' (migration 0010), or every request
    would scan the change log back from its newest row (or sort every change to a key)."""
    plan = await plan_of_the_head_read(db.current_engine())
    assert "change_lookup_relevant" in plan and "change_api_key" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    # the migration keeps copies of its own
    assert (MIGRATION.RELEVANT, MIGRATION.KEYS) == (LOOKUP_RELEVANT, KEYS)
