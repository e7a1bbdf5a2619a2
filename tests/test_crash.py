"""The server killed with SIGKILL mid-write leaves no partial record and an intact change log."""

import os
import sqlite3
import threading
import time

import asyncpg
import httpx
import pytest

from tests.conftest import CONFIRMATION, Server, run_cli


def _query(database_url: str, sql: str) -> list[tuple]:
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(sql).fetchall()
    import asyncio

    async def run():
        connection = await asyncpg.connect(database_url)
        try:
            return [tuple(r) for r in await connection.fetch(sql)]
        finally:
            await connection.close()

    return asyncio.run(run())


def _hammer(base: str, headers: dict, requests: list[tuple[str, str, dict | None]], done: list) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for method, path, body in requests:
            try:
                response = client.request(method, path, json=body)
                done.append(response.status_code)
            except httpx.HTTPError:
                return  # the server died under us


def _wait_for_answers(done: list, count: int, threads: list[threading.Thread], within: float = 120.0) -> None:
    """Until ``count`` requests were answered; fails (never hangs) when the senders stop or time runs out."""
    deadline = time.monotonic() + within
    while len(done) < count:
        if not any(thread.is_alive() for thread in threads) and len(done) < count:
            raise AssertionError(f"the senders stopped after {len(done)} answers, before {count}: {done}")
        if time.monotonic() > deadline:
            raise AssertionError(f"only {len(done)} of {count} answers within {within} s")
        time.sleep(0.005)


@pytest.fixture
def server(settings):
    running = Server(settings)
    yield running
    running.stop()


def test_kill_during_bulk_writes(server, database_url):
    secret = run_cli(database_url, "keys", "create", "crash", "--role", "admin").stdout.strip()
    server.start()
    headers = {"Authorization": f"Bearer {secret}"}
    done: list[int] = []
    threads = [
        threading.Thread(
            target=_hammer,
            args=(
                server.base,
                headers,
                [
                    ("POST", "/vendors", {"name": f"V{t}-{n}", "kind": "agent", "country": "FR"})
                    for n in range(200)
                ],
                done,
            ),
        )
        for t in range(4)
    ]
    for thread in threads:
        thread.start()
    _wait_for_answers(done, 40, threads)
    server.kill()
    for thread in threads:
        thread.join()
    server.start()  # a restart reopens the database cleanly
    assert run_cli(database_url, "changes", "verify").stdout.startswith("ok:")
    vendors = {row[0] for row in _query(database_url, "SELECT id FROM vendor")}
    logged = {
        int(row[0])
        for row in _query(
            database_url, "SELECT object_id FROM change WHERE object_type = 'vendor' AND action = 'create'"
        )
    }
    assert vendors == logged  # no vendor without its change row, no change row without its vendor
    assert len(vendors) >= 40


def test_kill_during_attestation_issuing(server, database_url):
    secret = run_cli(database_url, "keys", "create", "crash", "--role", "admin").stdout.strip()
    server.start()
    headers = {"Authorization": f"Bearer {secret}"}
    deletion_ids = []
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
        for n in range(8):
            vendor = client.post("/vendors", json={"name": f"V{n}", "kind": "agent", "country": "FR"}).json()
            contract = client.post(
                "/contracts",
                json={
                    "vendor_id": vendor["id"],
                    "kind": "dpa",
                    "title": "DPA",
                    "signed_on": "2025-01-01",
                    "effective_from": "2025-01-01",
                    "confidentiality_equivalent": True,
                },
            ).json()
            client.post(
                "/disclosures",
                json={
                    "vendor_id": vendor["id"],
                    "contract_id": contract["id"],
                    "categories": ["user.name"],
                    "data_subjects": ["customer"],
                    "purpose": "essential.service",
                    "basis": "contract",
                    "valid_from": "2025-02-01",
                },
            )
            client.post(
                f"/contracts/{contract['id']}/terminate", json={"terminated_on": "2025-06-30", "reason": "x"}
            )
            deletion = client.get("/deletions", params={"vendor": vendor["id"]}).json()["items"][0]
            confirmation = {**CONFIRMATION, "backups_handling": None, "last_backup_expires_on": None}
            assert (
                client.post(f"/deletions/{deletion['id']}/confirmations", json=confirmation).status_code
                == 201
            )
            deletion_ids.append(deletion["id"])
    done: list[int] = []
    thread = threading.Thread(
        target=_hammer,
        args=(
            server.base,
            headers,
            [("POST", f"/deletions/{i}/attestation", None) for i in deletion_ids],
            done,
        ),
    )
    thread.start()
    _wait_for_answers(done, 1, [thread])
    server.kill()  # while the next attestations are rendering
    thread.join()
    server.start()
    assert run_cli(database_url, "changes", "verify").stdout.startswith("ok:")
    rows = _query(
        database_url,
        "SELECT a.serial, a.sha256, f.sha256 FROM attestation a JOIN stored_file f ON f.id = a.pdf",
    )
    assert 1 <= len(rows) < len(deletion_ids)
    assert all(stored == recorded for _, recorded, stored in rows)
    logged = {
        row[0]
        for row in _query(database_url, "SELECT object_id FROM change WHERE object_type = 'attestation'")
    }
    assert logged == {row[0] for row in rows}
    orphans = _query(
        database_url, "SELECT count(*) FROM stored_file WHERE id NOT IN (SELECT pdf FROM attestation)"
    )
    assert orphans == [(0,)]
    with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:  # the rest still issue
        for deletion_id in deletion_ids:
            assert client.post(f"/deletions/{deletion_id}/attestation").status_code in (200, 201)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return found


def test_pdf_workers_end_with_a_killed_server(server, database_url):
    """SIGKILL gives the server no chance to stop its PDF workers: they notice and exit themselves."""
    secret = run_cli(database_url, "keys", "create", "crash", "--role", "viewer").stdout.strip()
    server.start()
    report = httpx.get(
        f"{server.base}/exports/recipients.pdf", headers={"Authorization": f"Bearer {secret}"}, timeout=60
    )  # rendered in the PDF workers, which start on first use
    assert report.status_code == 200 and report.content.startswith(b"%PDF"), report.text
    workers = {pid for pid in _children(server.process.pid) if b"spawn_main" in _cmdline(pid)}
    assert workers, "no PDF worker started"
    server.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{pid}") for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def test_waiting_for_answers_fails_instead_of_hanging():
    stopped = threading.Thread(target=lambda: None)
    stopped.start()
    stopped.join()
    with pytest.raises(AssertionError, match="the senders stopped after 0 answers, before 1"):
        _wait_for_answers([], 1, [stopped])
    asleep = threading.Event()
    waiting = threading.Thread(target=asleep.wait)
    waiting.start()
    try:
        with pytest.raises(AssertionError, match="only 0 of 1 answers within 0.05 s"):
            _wait_for_answers([], 1, [waiting], within=0.05)
    finally:
        asleep.set()
        waiting.join()
