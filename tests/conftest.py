"""Every test runs on SQLite and on a real PostgreSQL the harness starts itself (docs/testing.md).

Each test gets a fresh, migrated database: a copy of a migrated SQLite file, or a PostgreSQL
database created from a migrated template. The apps are not made afresh: each test process keeps
the apps it has built and starts one again on the next test's database (``tests.harness.started_app``).
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from registry.enums import Role
from registry.settings import Settings
from tests.forker import ForkedProcess, forker, run_forked
from tests.harness import (
    PG_TEMPLATE,
    PG_TEMPLATE_KEYS,
    SHARED_CLUSTER,
    cheap_password_hashing,
    drop_database,
    engine_independent,
    forget_process_caches,
    kept_pdf_processes,
    keys_in_app_database,
    make_templates,
    new_database,
    start_shared_cluster,
    started_app,
)
from tests.pg import Cluster, find_binaries
from tests.pgpool import DatabasePool

ENGINES = ["sqlite", "postgres"]
# The tests' records are EU vendors of a controller in the EU unless a test names another origin
# (tests/test_transfers.py): the setting's default (CN) would make each of them a transfer. Set in the
# environment so that `registry` subprocesses (run_cli, Server) read the same.
os.environ.setdefault("REGISTRY_ORIGIN_COUNTRY", "DE")
_SHARED = pytest.StashKey()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "engine_independent: uses a database but nothing of it differs between engines; run once"
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Tests that use no database, or are marked ``engine_independent``, run on the first engine only."""
    once, kept = [], []
    for item in items:
        repeat = engine_independent(item) and _engine_of(item) not in (None, ENGINES[0])
        (once if repeat else kept).append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept


def _engine_of(item) -> str | None:
    return item.callspec.params.get("engine_name") if hasattr(item, "callspec") else None


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _pdf_processes():
    with kept_pdf_processes():
        yield


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    with cheap_password_hashing():
        yield


@pytest.fixture(scope="session", autouse=True)
def _warm_process_early() -> None:
    """In a worker of the whole suite, the warm process (tests/forker.py) starts with the session and
    imports its libraries while the templates are made (seconds under load), not at the first command."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        forker()


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    forget_process_caches()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts the workers
def pytest_sessionstart(session) -> None:
    session.config.stash[_SHARED] = start_shared_cluster(session.config)


def pytest_unconfigure(config) -> None:
    if cluster := config.stash.get(_SHARED, None):
        cluster.stop()


@pytest.fixture(scope="session")
def pg_server() -> str | None:
    """The cluster's URL: the one shared by pytest-xdist's workers, or one started here."""
    if shared := os.environ.get(SHARED_CLUSTER):
        yield shared
        return
    bindir = find_binaries()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; CI needs them")
        yield None  # the postgres tests skip (a bare return here made every test an error)
        return
    cluster = Cluster(bindir)
    url = cluster.start()
    yield url
    cluster.stop()


@pytest.fixture(scope="session")
def _templates_and_keys(pg_server, tmp_path_factory) -> tuple[dict[str, str], dict[str, dict[Role, str]]]:
    return make_templates(pg_server, tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def templates(_templates_and_keys) -> dict[str, str]:
    """Migrated once per engine; tests copy them (``new_database``)."""
    return _templates_and_keys[0]


@pytest.fixture(params=ENGINES, autouse=True)
def engine_name(request) -> str:
    """Every test runs once per engine (autouse, so async fixtures cannot hide the parameter), but for
    the engine-independent ones (see ``pytest_collection_modifyitems``)."""
    return request.param


@pytest.fixture(scope="session")
def pg_databases(templates) -> Iterator[DatabasePool | None]:
    """PostgreSQL databases copied from the templates ahead of the tests that take them (tests/pgpool.py)."""
    if "postgres" not in templates:
        yield None
        return
    pool = DatabasePool(templates["postgres"], [PG_TEMPLATE, PG_TEMPLATE_KEYS])
    yield pool
    pool.close()


@pytest.fixture
def database_url(engine_name, templates, pg_databases, tmp_path, request) -> Iterator[str]:
    """A fresh migrated database for one test, on the engine of this parametrisation: a copy of the
    template that holds the ``keys`` fixture's keys if the test uses that fixture. Dropped after it."""
    with_keys = "keys" in request.fixturenames
    if engine_name == "postgres" and pg_databases is not None:
        url = pg_databases.take(PG_TEMPLATE_KEYS if with_keys else PG_TEMPLATE)
        yield url
        pg_databases.drop(url)
        return
    url = new_database(engine_name, templates, tmp_path, with_keys=with_keys)
    yield url
    drop_database(url)


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
    async with started_app(settings) as application:
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
        yield http


@pytest.fixture
async def other_worker(settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second application on the same database, as a second `registry serve` worker would be."""
    async with started_app(settings) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http:
            yield http


@pytest.fixture
async def keys(app, engine_name, _templates_and_keys) -> dict[Role, str]:
    """A key of each role, created the way the CLI does: in the template the test's database was copied
    from (``database_url``), or now if the app runs on a database of its own."""
    return await keys_in_app_database(_templates_and_keys[1].get(engine_name, {}))


@pytest.fixture
def auth(keys):
    """``auth(role)`` → the Authorization header for a key of that role."""
    return lambda role=Role.admin: {"Authorization": f"Bearer {keys[Role(role)]}"}


def run_cli(
    database_url: str, *args: str, check: bool = True, input_: str | None = None, fresh: bool = False
) -> subprocess.CompletedProcess:
    """``registry *args`` in a process of its own: forked from a warm process that has the libraries
    imported (tests/forker.py), or with ``fresh`` a new Python (the entry point itself under test)."""
    env = {**os.environ, "REGISTRY_DATABASE_URL": database_url}
    if fresh:
        result = subprocess.run(
            [sys.executable, "-m", "registry", *args],
            input=input_,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=Path(__file__).parent,
        )
    else:
        result = run_forked(list(args), env, Path(__file__).parent, input_, timeout=120)
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
        # Forked from the warm process (tests/forker.py): a process of its own without the imports.
        argv = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        output = str(self.log) if self.log else os.devnull
        self.process = ForkedProcess(
            argv, self.env, Path.cwd(), stdout=output, stderr=None if self.log else os.devnull
        )
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
            # A bounded wait, not a test of shutdown time: at load 10+ graceful stops took over 10 s.
            self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def tsa(tmp_path_factory):
    """A real RFC 3161 timestamp authority on loopback (OpenSSL's `ts`), for the whole run."""
    from tests.tsa import Authority

    authority = Authority(tmp_path_factory.mktemp("tsa")).start()
    yield authority
    authority.stop()


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server on loopback (aiosmtpd, tests/smtp.py), plain, for the whole run."""
    from tests.smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


SMTP_USER, SMTP_PASSWORD = "registry", "s3cret-smtp-password"


@pytest.fixture(scope="session")
def smtp_tls_server(tmp_path_factory):
    """The same with STARTTLS required (a self-signed certificate) and AUTH (SMTP_USER, SMTP_PASSWORD)."""
    from tests.smtp import SmtpServer, self_signed

    server = SmtpServer(tls=self_signed(tmp_path_factory.mktemp("smtp")), users={SMTP_USER: SMTP_PASSWORD})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server):
    """What reaches the plain server during this test: ``.settings`` (overrides), ``await .wait_for(to=)``."""
    from tests.smtp import Mailbox

    return Mailbox(smtp_server)


@pytest.fixture
def mail_settings(settings, mailbox) -> Settings:
    """``settings`` sending their mail to ``mailbox`` (tests/smtp.py: settings_with_mail)."""
    from tests.smtp import settings_with_mail

    return settings_with_mail(settings, mailbox)
