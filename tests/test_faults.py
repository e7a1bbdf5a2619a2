"""Faults of the database: stopped, frozen or out of disk, the registry answers 503 or 507 with
Retry-After (never a 500 or a hang), /health names the database, and it recovers without a restart.

Each PostgreSQL fault runs on a throwaway cluster of its own: stopping or freezing the shared one
would break every other test.
"""

import asyncio
import errno
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from registry.app import create_app
from registry.auth import WriteContext
from registry.enums import Role
from registry.keys.service import create_key
from registry.settings import Settings
from tests.conftest import VENDOR, run_cli
from tests.harness import migrate_database
from tests.pg import Cluster, find_binaries

pytestmark = pytest.mark.anyio
CI = os.environ.get("CI") == "true"
DEADLINE = 60  # seconds: generous; the timeouts below are 1-2 s


def _needs(engine_name: str, wanted: str) -> None:
    if engine_name != wanted:
        pytest.skip(f"a fault of {wanted} only")


def _require(available: bool, what: str) -> None:
    if not available:
        if CI:
            pytest.fail(f"{what}: CI needs it")
        pytest.skip(f"{what} not available here")


@pytest.fixture
def cluster(engine_name) -> Cluster:
    """A PostgreSQL cluster of this test's own, migrated, in its database ``postgres``."""
    _needs(engine_name, "postgres")
    bindir = find_binaries()
    _require(bindir is not None, "PostgreSQL binaries (initdb, pg_ctl)")
    own = Cluster(bindir)
    own.url = own.start() + "/postgres"
    try:
        migrate_database(own.url)
        yield own
    finally:
        own.signal_all(signal.SIGCONT)
        own.stop()


def fault_settings(database_url: str, signing_files, **overrides) -> Settings:
    """Short timeouts, so that a fault shows within seconds."""
    return Settings(
        database_url=database_url,
        signing_key_file=signing_files[0],
        signing_cert_file=signing_files[1],
        webhook_key_file=str(Path(signing_files[0]).parent / "webhook.key"),
        pdf_workers=1,
        webhook_worker=False,
        db_connect_timeout_seconds=1,
        db_statement_timeout_seconds=1,
        db_pool_timeout_seconds=2,
        postgres_pool_max_size=2,
        **overrides,
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process, with an admin key in the client's headers."""
    app = create_app(settings)
    async with app.lifespan():
        secret = (await create_key(WriteContext(actor="test-setup"), "faults", Role.admin)).secret
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://registry.test",
            headers={"Authorization": f"Bearer {secret}"},
        ) as client:
            yield client


def assert_unavailable(response: httpx.Response, status: int = 503) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["status"] == status and body["request_id"]
    return body


async def test_stopped_postgres_is_503_and_recovers_without_restart(cluster, signing_files):
    async with running(fault_settings(cluster.url, signing_files)) as client:
        assert (await client.post("/vendors", json=VENDOR)).status_code == 201
        await asyncio.to_thread(cluster.halt)
        with anyio.fail_after(DEADLINE):
            body = assert_unavailable(await client.get("/vendors"))
            assert "database" in body["detail"]
            assert_unavailable(await client.post("/vendors", json={**VENDOR, "name": "Lost"}))
            health = assert_unavailable(await client.get("/health"))
            assert health["database"] == "down"
            assert (await client.get("/health/live")).status_code == 200  # liveness needs no database
        await asyncio.to_thread(cluster.resume)
        with anyio.fail_after(DEADLINE):
            assert (await client.get("/health")).json()["database"] == "postgres"
            assert (await client.post("/vendors", json={**VENDOR, "name": "After"})).status_code == 201
            names = [v["name"] for v in (await client.get("/vendors")).json()["items"]]
    assert sorted(names) == ["Acme Hosting", "After"]  # the write refused while down left nothing


async def test_frozen_postgres_is_503_within_the_timeouts(cluster, signing_files):
    async with running(fault_settings(cluster.url, signing_files)) as client:
        assert (await client.get("/vendors")).status_code == 200
        cluster.signal_all(signal.SIGSTOP)
        try:
            with anyio.fail_after(DEADLINE):  # it hung for ever before the timeouts
                assert_unavailable(await client.get("/vendors"))
                assert_unavailable(await client.post("/vendors", json=VENDOR))
                assert (await client.get("/health")).json()["database"] == "down"
        finally:
            cluster.signal_all(signal.SIGCONT)
        with anyio.fail_after(DEADLINE):
            assert (await client.post("/vendors", json={**VENDOR, "name": "After"})).status_code == 201
            assert (await client.get("/vendors")).json()["total"] == 1
            assert (await client.get("/health")).status_code == 200


async def test_registry_starts_against_a_stopped_postgres_with_a_clear_message(cluster):
    cluster.halt()
    try:
        result = await asyncio.to_thread(run_cli, cluster.url, "serve", "--port", "1", check=False)
    finally:
        cluster.resume()
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]  # Piccolo warns first, in a line of its own
    assert last_line.startswith("registry: cannot use the database: The database cannot be reached.")
    assert "Traceback" not in result.stderr


@contextmanager
def small_disk(mount: Path) -> Iterator[Path]:
    """A 16 MiB file system of its own (tmpfs) at ``mount``, to fill up for real."""
    _require(os.geteuid() == 0 and shutil.which("mount") is not None, "mounting a tmpfs (as root)")
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    _require(result.returncode == 0, f"mount -t tmpfs ({result.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses more; removing it frees the disk again."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


async def test_full_disk_under_sqlite_is_507_and_nothing_half_written(
    engine_name, tmp_path, templates, signing_files
):
    _needs(engine_name, "sqlite")
    with small_disk(tmp_path / "disk") as disk:
        shutil.copy(templates["sqlite"], disk / "registry.sqlite3")
        url = f"sqlite:///{disk / 'registry.sqlite3'}"
        await _disk_full_story(fault_settings(url, signing_files), disk)
        assert (await asyncio.to_thread(run_cli, url, "changes", "verify")).stdout.startswith("ok:")


async def test_full_disk_under_postgres_is_507_and_nothing_half_written(cluster, signing_files):
    # Inside the cluster's directory: the server's user must reach it.
    with small_disk(cluster.root / "disk") as disk:
        os.chown(disk, *_postgres_ids())
        connection = await asyncpg.connect(cluster.url)
        try:  # the registry's database in a tablespace on the small disk; the WAL stays on the big one
            await connection.execute(f"CREATE TABLESPACE small LOCATION '{disk}'")
            await connection.execute("CREATE DATABASE registry TABLESPACE small")
        finally:
            await connection.close()
        url = cluster.url.removesuffix("/postgres") + "/registry"
        await asyncio.to_thread(migrate_database, url)
        await _disk_full_story(fault_settings(url, signing_files), disk)
        assert (await asyncio.to_thread(run_cli, url, "changes", "verify")).stdout.startswith("ok:")
        await asyncio.to_thread(cluster.halt)  # before the disk goes


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


async def _disk_full_story(settings: Settings, disk: Path) -> None:
    async with running(settings) as client:
        assert (await client.post("/vendors", json=VENDOR)).status_code == 201
        saved = ["Acme Hosting"]
        filler = fill(disk)
        try:
            # PostgreSQL fills a table's last page before it needs a new one: write until a write is
            # refused, then every write must be refused whole.
            for n in range(150):
                response = await client.post("/vendors", json={**VENDOR, "name": f"V{n}"})
                if response.status_code != 201:
                    break
                saved.append(f"V{n}")
            for _ in range(3):
                body = assert_unavailable(response, 507)
                assert body["detail"] == "The database's disk is full; nothing was saved."
                response = await client.post("/vendors", json={**VENDOR, "name": "Lost"})
            listed = (await client.get("/vendors", params={"limit": 200})).json()
        finally:
            filler.unlink()
        assert sorted(v["name"] for v in listed["items"]) == sorted(saved)  # no record of a refused write
        assert (await client.post("/vendors", json={**VENDOR, "name": "After"})).status_code == 201
        assert (await client.get("/vendors")).json()["total"] == len(saved) + 1
