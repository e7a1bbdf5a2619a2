"""A server on SQLite keeps its connections (registry/sqliteengine.py): many requests open only a few,
every write is seen by the next read on any kept connection, a failed or cancelled use never lends a
broken connection again, and stopping the app closes them all (their threads end)."""

import asyncio
import threading

import pytest

from registry import db
from registry.settings import Settings
from registry.sqliteengine import KeptSQLiteEngine
from tests.conftest import make_contract, make_disclosure, make_vendor
from tests.harness import started_app

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite"], autouse=True)
def engine_name(request) -> str:
    """What these tests are about exists on SQLite only (PostgreSQL has asyncpg's pool)."""
    return request.param


@pytest.fixture
def settings(settings):
    """No background jobs: they would borrow connections while a test counts them."""
    quiet = {"webhook_worker": False, "mail_worker": False, "checkpoint_interval_seconds": 0}
    return settings.model_copy(update={**quiet, "scheduler_interval_seconds": 0})


def kept() -> KeptSQLiteEngine:
    engine = db.current_engine()
    assert isinstance(engine, KeptSQLiteEngine)
    return engine


async def test_many_requests_open_at_most_the_kept_connections(client, auth, settings):
    vendor = await make_vendor(client, auth, name="Acme")
    contract = await make_contract(client, auth, vendor["id"], reference="DPA-1", effective_from="2025-01-01")
    await make_disclosure(client, auth, vendor["id"], contract["id"], valid_from="2025-01-01")
    opened_before = kept().opened

    async def ask(day: int):
        params = {"category": "user.contact.email", "as_of": f"2025-06-{day:02d}"}
        response = await client.get("/lookup/recipients", params=params, headers=auth("lookup"))
        assert response.status_code == 200, response.text
        return response.json()

    answers = await asyncio.gather(*(ask(1 + i % 28) for i in range(60)))
    assert all(a["total"] == 1 and a["items"][0]["vendor_name"] == "Acme" for a in answers)
    # 60 distinct-day questions at once: no connection per query any more.
    assert kept().opened - opened_before <= settings.sqlite_kept_connections
    assert 0 < len(kept().idle) <= settings.sqlite_kept_connections


async def test_a_write_is_seen_by_the_next_read_on_every_kept_connection(client, auth):
    vendor = await make_vendor(client, auth, name="Acme")
    # Fill the pool with idle connections that have all read the vendor's first version.
    reads = await asyncio.gather(
        *(client.get(f"/vendors/{vendor['id']}", headers=auth("viewer")) for _ in range(8))
    )
    assert {r.json()["name"] for r in reads} == {"Acme"}
    response = await client.patch(
        f"/vendors/{vendor['id']}",
        json={"name": "Acme Renamed"},
        headers={**auth("editor"), "If-Match": reads[0].headers["etag"]},
    )
    assert response.status_code == 200, response.text
    reads = await asyncio.gather(
        *(client.get(f"/vendors/{vendor['id']}", headers=auth("viewer")) for _ in range(8))
    )
    assert {r.json()["name"] for r in reads} == {"Acme Renamed"}


async def test_a_refused_write_leaves_no_connection_in_a_transaction(client, auth):
    await make_vendor(client, auth, name="Acme")
    for _ in range(3):  # a unique name taken: the write transaction rolls back with a 409
        response = await client.post(
            "/vendors", json={"name": "Acme", "kind": "agent", "country": "DE"}, headers=auth("editor")
        )
        assert response.status_code == 409, response.text
    assert all(not connection.in_transaction for connection in kept().idle)
    response = await client.post(
        "/vendors", json={"name": "Other", "kind": "agent", "country": "DE"}, headers=auth("editor")
    )
    assert response.status_code == 201, response.text


async def test_a_cancelled_query_does_not_lend_its_connection_again(app, monkeypatch):
    engine = kept()
    taken = []
    borrow = engine.borrow

    async def noted_borrow():
        taken.append(await borrow())
        return taken[-1]

    monkeypatch.setattr(engine, "borrow", noted_borrow)
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000)"
        " SELECT count(*) FROM n"
    )
    task = asyncio.create_task(engine._run_in_new_connection(slow))
    await asyncio.sleep(0.05)
    assert not task.done() and len(taken) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert taken[0] not in engine.idle  # closed: it may still be busy with the cancelled query
    assert (await engine._run_in_new_connection("SELECT 41 + 1 AS answer")) == [{"answer": 42}]
    assert taken[1] in engine.idle  # a healthy use is kept


def _connection_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("Thread") and t.is_alive())


async def test_stopping_the_app_closes_every_kept_connection(settings):
    before = _connection_threads()
    async with started_app(settings) as application:
        engine = kept()
        await asyncio.gather(*(engine._run_in_new_connection("SELECT 1 AS one") for _ in range(12)))
        assert len(engine.idle) >= 1
        assert application is not None
    assert engine.idle == [] and engine.closed
    for _ in range(200):  # closing ends each thread soon after; 10 s at most
        if _connection_threads() <= before:
            break
        await asyncio.sleep(0.05)
    assert _connection_threads() <= before


async def test_zero_kept_connections_is_the_plain_engine(database_url):
    engine = db.build_engine(
        Settings(database_url=database_url, sqlite_kept_connections=0), keep_connections=True
    )
    assert not isinstance(engine, KeptSQLiteEngine)
    assert not isinstance(db.build_engine(Settings(database_url=database_url)), KeptSQLiteEngine)


async def test_a_connection_given_back_goes_to_the_first_waiter_then_overflow(app, settings):
    engine = kept()
    held = [await engine.borrow() for _ in range(settings.sqlite_kept_connections)]
    first = asyncio.create_task(engine.borrow())
    second = asyncio.create_task(engine.borrow())
    await asyncio.sleep(0.05)
    assert not first.done() and not second.done()
    await engine.give_back(held[0], healthy=True)
    assert await first is held[0]  # the first waiter, not the second or a newcomer
    opened = engine.opened
    extra = await second  # nothing comes back: after overflow_after it opens one more
    assert engine.opened == opened + 1 and extra not in held
    for connection in [first.result(), *held[1:], extra]:
        await engine.give_back(connection, healthy=True)
    assert engine.lent == 0 and len(engine.idle) == settings.sqlite_kept_connections
