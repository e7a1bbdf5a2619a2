"""Every test runs on SQLite and on a real PostgreSQL the harness starts itself.

Each test gets a fresh, migrated database: a copy of a migrated SQLite file, or a PostgreSQL
database created from a migrated template.
"""

import asyncio
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from registry import db
from registry.app import create_app
from registry.auth import WriteContext
from registry.enums import Role
from registry.keys.service import create_key
from registry.settings import Settings
from tests.pg import Cluster, find_binaries

ENGINES = ["sqlite", "postgres"]
_counter = itertools.count()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def pg_server() -> str | None:
    bindir = find_binaries()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; CI needs them")
        return None
    cluster = Cluster(bindir)
    url = cluster.start()
    yield url
    cluster.stop()


def _migrate(url: str) -> None:
    db.use_engine(db.build_engine(Settings(database_url=url)))
    asyncio.run(db.migrate())


@pytest.fixture(scope="session")
def templates(pg_server, tmp_path_factory) -> dict[str, str]:
    """Migrated once per engine; tests copy them."""
    sqlite_template = tmp_path_factory.mktemp("template") / "template.sqlite3"
    _migrate(f"sqlite:///{sqlite_template}")
    found = {"sqlite": str(sqlite_template)}
    if pg_server:

        async def create() -> None:
            conn = await asyncpg.connect(f"{pg_server}/postgres")
            await conn.execute("CREATE DATABASE registry_template")
            await conn.close()

        asyncio.run(create())
        _migrate(f"{pg_server}/registry_template")
        found["postgres"] = pg_server
    return found


@pytest.fixture(params=ENGINES, autouse=True)
def engine_name(request) -> str:
    """Every test runs once per engine (autouse, so async fixtures cannot hide the parameter)."""
    return request.param


def new_database(engine_name: str, templates: dict[str, str], tmp_path: Path, stem: str = "t") -> str:
    """A fresh migrated database on ``engine_name``: a copy of the SQLite template file, or a
    PostgreSQL database created from the template database."""
    if engine_name == "sqlite":
        path = tmp_path / f"{stem}.sqlite3"
        shutil.copy(templates["sqlite"], path)
        return f"sqlite:///{path}"
    if "postgres" not in templates:
        pytest.skip("PostgreSQL binaries not installed")
    name = f"{stem}{os.getpid()}_{next(_counter)}"

    async def create() -> None:
        conn = await asyncpg.connect(f"{templates['postgres']}/postgres")
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE registry_template')
        await conn.close()

    asyncio.run(create())
    return f"{templates['postgres']}/{name}"


@pytest.fixture
def database_url(engine_name, templates, tmp_path) -> str:
    """A fresh migrated database for one test, on the engine of this parametrisation."""
    return new_database(engine_name, templates, tmp_path)


@pytest.fixture(scope="session")
def signing_files(tmp_path_factory) -> tuple[str, str]:
    """A trial signing key and certificate, made once for the whole run."""
    from registry.attestations.signing import init_signing

    folder = tmp_path_factory.mktemp("signing")
    init_signing(folder / "key.pem", folder / "cert.pem", "Example Controller Ltd")
    return str(folder / "key.pem"), str(folder / "cert.pem")


@pytest.fixture
def settings(database_url, signing_files) -> Settings:
    return Settings(
        database_url=database_url,
        max_upload_bytes=256 * 1024,
        max_request_bytes=16 * 1024,
        signing_key_file=signing_files[0],
        signing_cert_file=signing_files[1],
        webhook_key_file=str(Path(signing_files[0]).parent / "webhook.key"),
        pdf_workers=1,
    )


@pytest.fixture
async def app(settings):
    application = create_app(settings)
    async with application.lifespan():
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        yield http


@pytest.fixture
async def other_worker(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second application on the same database, as a second `registry serve` worker would be."""
    application = create_app(settings)
    async with application.lifespan():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            yield http


@pytest.fixture
async def keys(app) -> dict[Role, str]:
    """A key of each role, created the way the CLI does."""
    ctx = WriteContext(actor="test-setup")
    return {role: (await create_key(ctx, f"test-{role.value}", role)).secret for role in Role}


@pytest.fixture
def auth(keys):
    """``auth(role)`` → the Authorization header for a key of that role."""
    return lambda role=Role.admin: {"Authorization": f"Bearer {keys[Role(role)]}"}


def run_cli(
    database_url: str, *args: str, check: bool = True, input_: str | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "registry", *args],
        input=input_,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"registry {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


VENDOR = {"name": "Acme Hosting", "kind": "service_provider", "country": "DE"}


async def make_vendor(client, auth, **fields) -> dict:
    response = await client.post("/vendors", json={**VENDOR, **fields}, headers=auth())
    assert response.status_code == 201, response.text
    return response.json()


async def make_contract(client, auth, vendor_id: int, **fields) -> dict:
    body = {
        "vendor_id": vendor_id,
        "kind": "dpa",
        "title": "DPA",
        "signed_on": "2025-01-01",
        "effective_from": "2025-01-01",
        "confidentiality_equivalent": True,
        **fields,
    }
    response = await client.post("/contracts", json=body, headers=auth())
    assert response.status_code == 201, response.text
    return response.json()


async def make_disclosure(client, auth, vendor_id: int, contract_id: int | None, **fields) -> dict:
    body = {
        "vendor_id": vendor_id,
        "contract_id": contract_id,
        "categories": ["user.contact.email"],
        "data_subjects": ["customer"],
        "purpose": "essential.service.operations.support",
        "basis": "contract",
        "valid_from": "2025-02-01",
        **fields,
    }
    response = await client.post("/disclosures", json=body, headers=auth())
    assert response.status_code == 201, response.text
    return response.json()


CONFIRMATION = {
    "performed_by": {"name": "Ana Ruiz", "title": "Head of IT", "organisation": "Acme Hosting GmbH"},
    "verified_by": {
        "name": "Tom Lee",
        "title": "Data Protection Officer",
        "organisation": "Acme Hosting GmbH",
    },
    "method_category": "purge",
    "technique": "cryptographic_erase",
    "tool": "vault-shred",
    "tool_version": "2.1",
    "systems": ["Support desk tenant eu-1"],
    "environments": ["production", "backup"],
    "backups_handling": "Backup sets encrypted per tenant; the key was destroyed",
    "last_backup_expires_on": "2025-09-30",
    "subprocessors_covered": ["Cloud Storage EU"],
    "retained": [{"what": "Invoices", "law": "HGB §257", "until": "2035-12-31"}],
    "completed_on": "2025-07-10",
    "verification_method": "Queries for 50 sampled user ids",
    "verification_result": "No records found",
    "verification_outcome": "passed",
}


async def ended_contract(client, auth, **disclosure_fields) -> tuple[dict, dict]:
    """A vendor whose DPA (backups covered, 30 days) was terminated on 2025-06-30 after a disclosure."""
    vendor = await make_vendor(client, auth, legal_name="Acme Hosting GmbH")
    contract = await make_contract(
        client, auth, vendor["id"], reference="DPA-9", backups_covered=True, deletion_deadline_days=30
    )
    await make_disclosure(client, auth, vendor["id"], contract["id"], **disclosure_fields)
    response = await client.post(
        f"/contracts/{contract['id']}/terminate",
        json={"terminated_on": "2025-06-30", "reason": "moved to another provider"},
        headers=auth(),
    )
    assert response.status_code == 200, response.text
    return vendor, contract


async def confirmed_deletion(client, auth, **confirmation) -> dict:
    await ended_contract(client, auth)
    [deletion] = (await client.get("/deletions", headers=auth())).json()["items"]
    response = await client.post(
        f"/deletions/{deletion['id']}/confirmations", json={**CONFIRMATION, **confirmation}, headers=auth()
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "confirmed"
    return response.json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`registry serve` in a process of its own, on a free loopback port."""

    def __init__(self, settings, log: Path | None = None, workers: int = 1, **env: str):
        self.env = {
            **os.environ,
            "REGISTRY_DATABASE_URL": settings.database_url,
            "REGISTRY_SIGNING_KEY_FILE": settings.signing_key_file,
            "REGISTRY_SIGNING_CERT_FILE": settings.signing_cert_file,
            "REGISTRY_WEBHOOK_KEY_FILE": settings.webhook_key_file,
        }
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env.update({"REGISTRY_PUBLIC_BASE_URL": self.base, **env})
        self.process: subprocess.Popen | None = None
        self.log = log  # where the server's stdout and stderr go (discarded without one)
        self.workers = workers

    def start(self) -> None:
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "registry",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if self.log else subprocess.DEVNULL,
        )
        if self.log:
            output.close()  # the child holds its own copy
        for _ in range(200):
            try:
                if httpx.get(f"{self.base}/health").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
